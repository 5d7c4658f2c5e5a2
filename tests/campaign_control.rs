//! Campaign control end to end: two instances share a real redis-server and
//! dial one campaign through the simulator; an operator pauses it (admin
//! API), resumes it (CLI path, the store), and cancels it with an intake
//! command as another program would. Nothing is lost, nothing is dialled
//! twice, every contact gets exactly one record.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use sampark::dialplan::CallContext;
use sampark::domain::{CampaignId, Outcome};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{CampaignAction, CampaignState, Quota, Store};
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, bind_webhook, dialer_config, dialplans, start_daemon_on,
    start_simulator,
};
use support::eventually;
use support::evidence::Evidence;
use support::invariants::{Expectations, assert_no_violations, check_all};
use support::placed_calls::dialplan_replay;
use support::redis_server::RedisServer;

const N: usize = 60;

fn originates_since(ledger: &[LedgerEntry], since_ms: i64) -> usize {
    ledger
        .iter()
        .filter(|e| matches!(e, LedgerEntry::Originate { at_ms, .. } if *at_ms > since_ms))
        .count()
}

async fn admin_post(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    support::http::raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_resume_and_cancel_on_two_instances() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 21,
        think_delay: (Duration::from_millis(100), Duration::from_millis(300)),
        ..SimulatorConfig::default()
    })
    .await;
    let mut daemons = Vec::new();
    for name in ["ctl-a", "ctl-b"] {
        let mut dialer = dialer_config(Quota {
            burst: 1,
            period: Duration::from_millis(400),
        });
        dialer.consumer = name.into();
        let (listener, _) = bind_webhook().await;
        let (daemon, store) = start_daemon_on(
            listener,
            &redis.url(),
            &simulator.base_url(),
            dialer,
            |_| {},
        )
        .await;
        daemons.push((daemon, store));
    }
    let store = daemons[0].1.clone();
    let admin = daemons[0].0.admin_addr().unwrap();
    let phones: Vec<String> = (0..N)
        .map(|i| format!("+9196{:08}", 40_000_000 + i))
        .collect();
    let contacts: Vec<_> = (0..N)
        .map(|i| {
            json!({"id": format!("c-{i:03}"), "phone": phones[i], "language": "en",
                        "official_id": format!("off-{}", i % 4), "office": "Puri Sadar PS",
                        "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "ctl", "name": "control", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    store.submit(&doc.to_string()).await.unwrap();
    let id = CampaignId::parse("ctl").unwrap();
    let originated = || {
        simulator
            .ledger()
            .iter()
            .filter(|e| matches!(e, LedgerEntry::Originate { .. }))
            .count()
    };
    eventually(Duration::from_secs(60), "dialling under way", || async {
        (originated() >= 8).then_some(())
    })
    .await;

    // Pause through the admin API: within a second no new call starts
    // anywhere; calls in progress finish.
    let (code, body) = admin_post(admin, "/admin/campaigns/ctl/pause").await;
    assert_eq!(code, 200, "{body}");
    let paused_at = store.now_ms().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        originates_since(&simulator.ledger(), paused_at + 1_000),
        0,
        "a call started more than a second after the pause"
    );
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(status.state, CampaignState::Paused);
    assert!(status.finished() < N as u64, "paused before the end");

    // Resume (as `sampark campaign resume` does): dialling goes on.
    let before = originated();
    store
        .control_campaign(&id, CampaignAction::Resume)
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "dialling resumed", || async {
        (originated() >= before + 4).then_some(())
    })
    .await;

    // Cancel through the intake stream, as another program would.
    store
        .submit(&json!({"version": 1, "command": "cancel", "id": "ctl"}).to_string())
        .await
        .unwrap();
    eventually(
        Duration::from_secs(60),
        "a record for every contact",
        || async {
            let s = store.campaign_status(&id).await.ok()??;
            (s.state == (CampaignState::Cancelled { hangup: false }) && s.finished() == N as u64)
                .then_some(())
        },
    )
    .await;
    let cancelled_at = store.now_ms().await.unwrap();
    for (daemon, _) in daemons {
        daemon.shutdown().await;
    }
    sim_cancel.cancel();
    let ledger = simulator.ledger();
    simulator.wait().await;
    assert_eq!(originates_since(&ledger, cancelled_at), 0);

    let evidence = Evidence::gather(&redis.url(), ledger, None).await;
    let cancelled = evidence
        .records
        .iter()
        .filter(|r| r.outcome == Outcome::Cancelled)
        .count();
    assert!(cancelled > 0, "the cancel came before the end");
    assert!(
        evidence
            .records
            .iter()
            .filter(|r| r.outcome == Outcome::Cancelled)
            .all(|r| r.reason.as_deref() == Some("campaign cancelled")),
        "only waiting contacts (never dialled, or waiting to retry) are cancelled"
    );
    let plans = dialplans();
    let plan = plans.get("mo-sarkar-feedback").unwrap();
    let replay = dialplan_replay(&plan, |r| CallContext {
        language: Some("en".into()),
        office: r.office.clone(),
        service: r.service.clone(),
    });
    let ids: Vec<String> = (0..N).map(|i| format!("c-{i:03}")).collect();
    let expect = Expectations {
        campaign_id: "ctl",
        contacts: &ids,
        phones: &phones,
        answers: &replay,
    };
    assert_no_violations(&check_all(&expect, &evidence));
    let by_outcome: HashMap<Outcome, usize> =
        evidence.records.iter().fold(HashMap::new(), |mut m, r| {
            *m.entry(r.outcome).or_default() += 1;
            m
        });
    eprintln!("outcomes: {by_outcome:?}");
}
