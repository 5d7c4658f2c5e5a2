//! The reconciler (guarantee G2): a dial whose originate reply was lost is
//! matched against the provider's call list, never redialled blindly.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sampark::calls::CallCore;
use sampark::dialer::Reconciler;
use sampark::domain::{
    CampaignHeader, CampaignId, Contact, ContactId, JobId, JobSpec, JobState, OfficialId,
    PhoneNumber,
};
use sampark::provider::{OriginateRequest, build_provider};
use sampark::simulator::SimulatorConfig;
use sampark::store::memory::MemoryStore;
use sampark::store::{Authorize, CitizenCaps, DialLimits, JobRef, Quota, ReadyEntry, Store};
use sampark::telemetry::Metrics;
use support::daemon::{dialer_config, dialplans, settings, start_simulator};
use support::eventually;
use support::provider::Provider;
use tokio_util::sync::CancellationToken;

const LEASE: Duration = Duration::from_millis(300);

fn contact(id: &str, phone: &str) -> Contact {
    Contact {
        visit_at_ms: None,
        first_name: None,
        id: ContactId::parse(id).unwrap(),
        phone: PhoneNumber::parse(phone).unwrap(),
        language: Some("en".into()),
        official_id: OfficialId::parse("off-1").unwrap(),
        office: "Berhampur RTO".into(),
        service: "Driving licence".into(),
    }
}

async fn job(store: &Arc<dyn Store>, id: &str) -> sampark::store::Job {
    let official = OfficialId::parse("off-1").unwrap();
    let job = JobRef::new(
        store.shard_of(&official),
        JobId::parse(&format!("rec/{id}")).unwrap(),
    );
    store.load_job(&job).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_originate_replies_are_adopted_and_undialled_attempts_requeued() {
    lost_originate_replies(Provider::Twilio).await;
}

/// On Exotel the lost call is found through bulk call details (`From` and
/// `DateCreated` in IST) and adopted through call details.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_originate_replies_are_adopted_on_exotel() {
    lost_originate_replies(Provider::Exotel).await;
}

async fn lost_originate_replies(kind: Provider) {
    let (simulator, sim_cancel) = start_simulator(kind.simulator(SimulatorConfig {
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        status_retries: 0,
        ..SimulatorConfig::default()
    }))
    .await;
    let nowhere = "http://127.0.0.1:9";
    let mut daemon_settings = settings(&simulator.base_url(), nowhere);
    kind.configure(&mut daemon_settings, &simulator.base_url());
    let pair = build_provider(&daemon_settings.provider, nowhere).unwrap();
    let provider = pair.rest.clone();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(2));
    let header = CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        kind: sampark::domain::CampaignKind::Survey,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: CampaignId::parse("rec").unwrap(),
        name: "reconcile".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "transport".into(),
    };
    store.put_campaign(&header).await.unwrap();
    for (id, phone) in [("placed", "+919812300001"), ("never", "+919812300002")] {
        store
            .enqueue(&JobSpec::new(&header, contact(id, phone)))
            .await
            .unwrap();
    }
    let quota = Quota {
        burst: 10,
        period: Duration::from_millis(1),
    };
    // Each citizen may get one call a day: each grant takes that unit.
    let one_a_day = DialLimits {
        citizen: CitizenCaps {
            per_day: 1,
            per_week: 0,
        },
        ..DialLimits::official(quota)
    };
    for entry in store
        .read_ready("t", 10, Duration::from_secs(60))
        .await
        .unwrap()
    {
        let granted = store.authorize(&entry, &one_a_day, LEASE).await.unwrap();
        assert!(matches!(granted, Authorize::Granted { .. }));
    }
    // "placed": the provider got the originate, but the daemon died before
    // recording the reply. Its webhooks go nowhere, so the call ends unheard.
    let placed = job(&store, "placed").await;
    provider
        .originate(&OriginateRequest {
            to: placed.spec.contact.phone.clone(),
            from: placed.spec.caller_id.clone(),
            answer_url: format!("{nowhere}{}/answer", kind.prefix()),
            status_url: format!("{nowhere}{}/status", kind.prefix()),
            ring_timeout: Duration::from_secs(20),
            machine_detection: false,
        })
        .await
        .unwrap();

    let mut config = dialer_config(quota);
    config.max_call = Duration::from_millis(300);
    let cancel = CancellationToken::new();
    let metrics = Arc::new(Metrics::new());
    let core = Arc::new(CallCore::new(
        store.clone(),
        pair.control.clone(),
        dialplans(),
        nowhere,
        config.retry.clone(),
        metrics.clone(),
    ));
    let reconciler = Reconciler::new(store.clone(), provider.clone(), core, config, metrics);
    let task = tokio::spawn(reconciler.run(cancel.clone()));

    // The placed call is found in the provider's list and adopted: one dial
    // counted, and since the survey never started, a retry is scheduled.
    let adopted = eventually(
        Duration::from_secs(30),
        "the placed call to be adopted and concluded",
        || {
            let store = store.clone();
            async move {
                let j = job(&store, "placed").await;
                (j.state == JobState::RetryWait).then_some(j)
            }
        },
    )
    .await;
    assert_eq!(adopted.dials, 1);
    assert!(adopted.call_sid.is_some());
    assert!(
        adopted
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("never started"),
        "{:?}",
        adopted.reason
    );

    // The attempt that never reached the provider is requeued, not failed.
    let never = eventually(
        Duration::from_secs(30),
        "the undialled attempt to be requeued",
        || {
            let store = store.clone();
            async move {
                let j = job(&store, "never").await;
                (j.state == JobState::Queued).then_some(j)
            }
        },
    )
    .await;
    assert_eq!(never.dials, 0);

    // Attempt 2 of "placed" is authorised but never originated (as when the
    // grant ran late, after the client's timeout, in a Redis stall). The
    // provider's list still holds attempt 1's call, inside the matching
    // window: it must not be adopted for attempt 2.
    let entry = eventually(Duration::from_secs(30), "the retry to come due", || {
        let store = store.clone();
        async move {
            for shard in 0..store.shards() {
                store.promote_due(shard, 10).await.unwrap();
            }
            let ready = store
                .read_ready("t", 10, Duration::from_secs(60))
                .await
                .unwrap();
            ready
                .into_iter()
                .find(|e| e.job.contact.as_str() == "placed")
        }
    })
    .await;
    let granted = store
        .authorize(&entry, &DialLimits::official(quota), LEASE)
        .await
        .unwrap();
    assert!(matches!(granted, Authorize::Granted { .. }));
    let requeued = eventually(
        Duration::from_secs(30),
        "attempt 2 to be requeued as never placed",
        || {
            let store = store.clone();
            async move {
                let j = job(&store, "placed").await;
                (j.state == JobState::Queued && j.attempt == 2).then_some(j)
            }
        },
    )
    .await;
    assert_eq!(requeued.dials, 1, "attempt 1's call is not counted twice");
    assert_eq!(requeued.past_call_sids, [adopted.call_sid.clone().unwrap()]);
    // The reconciler only looked: it placed no call itself.
    let originates = simulator
        .ledger()
        .iter()
        .filter(|e| matches!(e, sampark::simulator::LedgerEntry::Originate { .. }))
        .count();
    assert_eq!(originates, 1);
    // "never" was found never placed: its attempt's unit of the citizen's
    // day came back, so the citizen can be called today after all.
    store
        .enqueue(&JobSpec::new(&header, contact("never-2", "+919812300002")))
        .await
        .unwrap();
    let again = ready_again(&store, "never-2").await;
    assert!(
        matches!(
            store.authorize(&again, &one_a_day, LEASE).await.unwrap(),
            Authorize::Granted { .. }
        ),
        "the never-placed attempt's cap unit was not given back"
    );
    cancel.cancel();
    task.await.unwrap();
    sim_cancel.cancel();
    simulator.wait().await;
}

/// Promotes due work until `contact`'s job is on a ready stream again.
async fn ready_again(store: &Arc<dyn Store>, contact: &str) -> ReadyEntry {
    eventually(
        Duration::from_secs(30),
        "the job back on a ready stream",
        || {
            let store = store.clone();
            async move {
                for shard in 0..store.shards() {
                    store.promote_due(shard, 10).await.unwrap();
                }
                let ready = store
                    .read_ready("t", 10, Duration::from_secs(60))
                    .await
                    .unwrap();
                ready
                    .into_iter()
                    .find(|e| e.job.contact.as_str() == contact)
            }
        },
    )
    .await
}
