//! Failpoint scenarios (feature `failpoints`): an instance frozen at an
//! exact point, as a stalled or stopped process would be.

#![cfg(feature = "failpoints")]

mod support;

use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::FeedbackRecord;
use sampark::failpoint::{arm, points};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, dialer_config, every_call_answered, start_daemon, start_simulator,
};
use support::eventually;
use support::redis_server::RedisServer;

fn campaign(id: &str) -> String {
    json!({"version": 1, "id": id, "name": "freeze", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "home",
           "contacts": [{"id": "c-1", "phone": "+919900000001", "language": "en",
                         "official_id": "off-1", "office": "Puri Sadar PS",
                         "service": "Passport verification"}]})
    .to_string()
}

async fn records(url: &str) -> Vec<FeedbackRecord> {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let reply: redis::streams::StreamRangeReply =
        conn.xrange_all("sampark:feedback").await.unwrap();
    reply
        .ids
        .iter()
        .map(|e| serde_json::from_str(&e.get::<String>("record").unwrap()).unwrap())
        .collect()
}

/// The `attempt` of each originate the simulator received, in order.
fn originated_attempts(ledger: &[LedgerEntry]) -> Vec<String> {
    ledger
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::Originate { url, .. } => url.split_once('?').and_then(|(_, q)| {
                form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "attempt")
                    .map(|(_, v)| v.into_owned())
            }),
            _ => None,
        })
        .collect()
}

/// An instance frozen between authorising and originating, for longer than
/// the originate lease: the reconciler finds no call and requeues, the
/// attempt is dialled again, and when the frozen task wakes up it gives its
/// dial back instead of ringing the citizen for an attempt that moved on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_dial_is_given_back_not_placed_late() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        hangup_rate: 0.0,
        opt_out_rate: 0.0,
        ..SimulatorConfig::default()
    })
    .await;
    let mut dialer = dialer_config(Quota {
        burst: 5,
        period: Duration::from_millis(10),
    });
    // Failpoints are process-wide: each test's instance has its own name.
    dialer.consumer = "frozen-dial".into();
    dialer.originate_lease = Duration::from_millis(1_500);
    dialer.originate_timeout = Duration::from_millis(500);
    dialer.provider_backoff = Duration::from_millis(100);
    let frozen = arm(points::BEFORE_ORIGINATE, Some(&dialer.consumer));
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    store.submit(&campaign("freeze")).await.unwrap();

    frozen.caught().await;
    // Frozen past the lease: the reconciler requeues (the provider has no
    // call) and the dialer dials attempt 2, which completes.
    let url = redis.url();
    let done = eventually(Duration::from_secs(30), "the contact's record", || {
        let url = url.clone();
        async move {
            let r = records(&url).await;
            (!r.is_empty()).then_some(r)
        }
    })
    .await;
    // Now the frozen task wakes up, long after its budget.
    frozen.release();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(originated_attempts(&simulator.ledger()), ["2"]);
    let all = records(&url).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(done[0].attempts, 1, "one call placed, one counted");
    assert_eq!(done[0].outcome, sampark::domain::Outcome::Completed);
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

/// An instance that saved the answer webhook's session but never returned
/// the reply (it froze, or died, right there): the citizen heard nothing and
/// pressed nothing, so the contact is redialled, not recorded `partial`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_whose_first_reply_never_arrived_is_redialled() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        http_timeout: Duration::from_millis(800),
        ..every_call_answered()
    })
    .await;
    let mut dialer = dialer_config(Quota {
        burst: 5,
        period: Duration::from_millis(10),
    });
    dialer.consumer = "lost-reply".into();
    let stuck = arm(points::BEFORE_REPLY, Some(&dialer.consumer));
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    store.submit(&campaign("lost-reply")).await.unwrap();
    stuck.caught().await;
    let url = redis.url();
    let done = eventually(Duration::from_secs(30), "the contact's record", || {
        let url = url.clone();
        async move {
            let r = records(&url).await;
            (!r.is_empty()).then_some(r)
        }
    })
    .await;
    stuck.release();
    assert_eq!(originated_attempts(&simulator.ledger()), ["1", "2"]);
    let record = &done[0];
    assert_eq!(
        record.outcome,
        sampark::domain::Outcome::Completed,
        "{record:?}"
    );
    assert_eq!(record.attempts, 2);
    assert!(!record.answers.is_empty());
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}
