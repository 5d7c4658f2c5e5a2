//! `policy.number_plan` against a real Redis, the daemon and the simulator:
//! premium-rate and foreign contacts are dead-lettered at intake (masked),
//! and a job any program wrote to Redis with such a number is never dialled.

mod support;

use std::time::Duration;

use sampark::domain::{CampaignId, JobSpec, JobState, Outcome, parse_campaign_document};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{NewJob, Quota, Store};
use serde_json::json;
use support::daemon::{dialer_config, start_daemon, start_simulator};
use support::eventually;
use support::redis_server::RedisServer;

const WAIT: Duration = Duration::from_secs(60);

fn document(id: &str, phones: &[&str]) -> String {
    let contacts: Vec<_> = phones
        .iter()
        .enumerate()
        .map(|(i, phone)| {
            json!({"id": format!("c{i}"), "phone": phone, "official_id": "off-1",
                   "office": "Puri Sadar PS", "service": "Passport verification"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "home", "contacts": contacts})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_outside_the_plan_are_refused_at_intake_and_before_the_dial() {
    let redis = RedisServer::start();
    let (simulator, _sim) = start_simulator(SimulatorConfig::default()).await;
    let quota = Quota {
        burst: 20,
        period: Duration::from_millis(10),
    };
    let (_daemon, store) =
        start_daemon(&redis.url(), &simulator.base_url(), dialer_config(quota)).await;

    // Intake: the premium-rate and the foreign contact are dead-lettered.
    let doc = document("plan", &["+919811111111", "+911900123456", "+14155550123"]);
    let entry = store.submit(&doc).await.unwrap();
    let id = CampaignId::parse("plan").unwrap();
    let status = eventually(WAIT, "the campaign ingested", || {
        let (store, id) = (&store, &id);
        async move {
            let status = store.campaign_status(id).await.unwrap()?;
            (status.counts.values().sum::<u64>() == 1).then_some(status)
        }
    })
    .await;
    assert_eq!(
        status.counts.values().sum::<u64>(),
        1,
        "{:?}",
        status.counts
    );
    let letters = store.dead_letters(10).await.unwrap();
    let mine: Vec<_> = letters.iter().filter(|l| l.source == entry).collect();
    assert_eq!(mine.len(), 2, "{letters:?}");
    assert!(
        mine[0].reason.contains("contact c1 rejected"),
        "{}",
        mine[0].reason
    );
    assert!(mine[0].reason.contains("refuses"), "{}", mine[0].reason);
    assert!(
        mine[1].reason.contains("contact c2 rejected"),
        "{}",
        mine[1].reason
    );
    assert!(
        mine[1].reason.contains("outside policy.number_plan"),
        "{}",
        mine[1].reason
    );
    for letter in &mine {
        assert!(!letter.payload.contains("1900123456"), "{}", letter.payload);
        assert!(!letter.payload.contains("4155550123"), "{}", letter.payload);
    }

    // Before the dial: a job written to Redis without intake's check.
    let foreign = document("written", &["+14155550123"]);
    let parsed = parse_campaign_document(&foreign, &|_| true).unwrap();
    store.put_campaign(&parsed.header).await.unwrap();
    let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
    store
        .enqueue_batch(&[NewJob {
            spec: &spec,
            opens_at_ms: None,
        }])
        .await
        .unwrap();
    let job_ref = store.job_ref_of(&spec);
    let job = eventually(WAIT, "the written job ended", || {
        let (store, job_ref) = (&store, &job_ref);
        async move {
            let job = store.load_job(job_ref).await.unwrap()?;
            job.state.is_terminal().then_some(job)
        }
    })
    .await;
    assert_eq!(job.state, JobState::Done(Outcome::Failed));
    assert_eq!(job.dials, 0, "never dialled");
    let dialled_abroad = simulator.ledger().iter().any(|entry| {
        matches!(entry, LedgerEntry::Originate { to_masked, .. } if to_masked.starts_with("+1"))
    });
    assert!(!dialled_abroad, "a foreign number reached the provider");
}
