//! Faults: Redis killed mid-campaign, and a daemon replaced mid-campaign.
//! Either way every contact still ends with exactly one feedback record and
//! no (contact, attempt) is originated twice. Both run on both adapters
//! (Twilio and Exotel).

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::FeedbackRecord;
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{dialer_config, start_daemon_for, start_simulator};
use support::eventually;
use support::provider::Provider;
use support::redis_server::RedisServer;

fn campaign(id: &str, n: usize) -> String {
    let contacts: Vec<_> = (0..n)
        .map(|i| {
            json!({"id": format!("c-{i:04}"), "phone": format!("+9199{:08}", 30_000_000 + i), "language": "hi",
                   "official_id": format!("off-{}", i % 4), "office": "Puri Sadar PS", "service": "Passport verification"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": "faults", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "home", "contacts": contacts})
    .to_string()
}

fn simulator_config(provider: Provider) -> SimulatorConfig {
    provider.simulator(SimulatorConfig {
        seed: 5,
        think_delay: (Duration::from_millis(20), Duration::from_millis(60)),
        ..SimulatorConfig::default()
    })
}

/// Feedback records read straight from the stream (a reconnecting client,
/// since the test kills Redis).
async fn records(url: &str) -> Option<Vec<FeedbackRecord>> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
    let reply: redis::streams::StreamRangeReply = conn.xrange_all("sampark:feedback").await.ok()?;
    Some(
        reply
            .ids
            .iter()
            .map(|e| serde_json::from_str(&e.get::<String>("record").unwrap()).unwrap())
            .collect(),
    )
}

/// Every contact has a record; duplicates (a relay interrupted between its
/// write and its acknowledgement) are identical and share the record id.
fn assert_one_record_each(records: &[FeedbackRecord], n: usize) {
    let mut by_id: HashMap<&str, &FeedbackRecord> = HashMap::new();
    for r in records {
        if let Some(previous) = by_id.insert(&r.record_id, r) {
            assert_eq!(
                previous, r,
                "a duplicate record must be identical (consumers dedupe on record_id)"
            );
        }
    }
    assert_eq!(by_id.len(), n, "one record per contact");
}

fn assert_no_double_originate(ledger: &[LedgerEntry]) {
    let mut seen = HashSet::new();
    for e in ledger {
        if let LedgerEntry::Originate { url, .. } = e {
            let query = url.split_once('?').unwrap().1.to_owned();
            assert!(seen.insert(query.clone()), "originated twice: {query}");
        }
    }
}

fn fault_dialer_config(consumer: &str) -> sampark::dialer::DialerConfig {
    let mut config = dialer_config(Quota {
        burst: 3,
        period: Duration::from_millis(50),
    });
    config.consumer = consumer.into();
    // Short leases so calls whose callbacks were lost are reconciled quickly.
    config.max_call = Duration::from_secs(3);
    config.originate_lease = Duration::from_secs(6);
    config.reclaim_after = Duration::from_secs(2);
    config.retry.max_attempts = 4;
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_mid_campaign_loses_nothing() {
    redis_killed(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_mid_campaign_loses_nothing_on_exotel() {
    redis_killed(Provider::Exotel).await;
}

async fn redis_killed(provider: Provider) {
    const N: usize = 120;
    let mut redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config(provider)).await;
    let (daemon, store) = start_daemon_for(
        provider,
        &redis.url(),
        &simulator.base_url(),
        fault_dialer_config("a"),
    )
    .await;
    store.submit(&campaign("faults-redis", N)).await.unwrap();

    let url = redis.url();
    eventually(
        Duration::from_secs(60),
        "some progress before the crash",
        || {
            let url = url.clone();
            async move { records(&url).await.filter(|r| r.len() >= 15) }
        },
    )
    .await;
    redis.kill();
    // While Redis is down the provider retries nothing (Twilio does not):
    // a status callback is kept until Redis is back, and a TwiML fetch holds
    // the call (a pause, then the same request again).
    let prefix = provider.prefix();
    let (status, _) = provider
        .post_webhook(
            daemon.webhook_addr(),
            &format!("{prefix}/status?job=faults-redis%2Fc-0000&shard=0&attempt=1"),
            &provider.status_params("CAdown", "ringing"),
        )
        .await;
    assert_eq!(status, 204, "a status callback is kept while Redis is down");
    let (status, body) = provider
        .post_webhook(
            daemon.webhook_addr(),
            &format!("{prefix}/answer?job=faults-redis%2Fc-0000&shard=0&attempt=1"),
            &[("CallSid", "CAdown"), ("CallStatus", "in-progress")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let [pause, redirect] = provider.hold_markers();
    assert!(
        body.contains(pause) && body.contains(redirect) && body.contains("hold=1"),
        "the call is held while Redis is down: {body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.restart();

    let all = eventually(
        Duration::from_secs(180),
        "a record for every contact after the crash",
        || {
            let url = url.clone();
            async move {
                let r = records(&url).await?;
                let unique: HashSet<_> = r.iter().map(|x| x.record_id.clone()).collect();
                (unique.len() >= N).then_some(r)
            }
        },
    )
    .await;
    assert_one_record_each(&all, N);
    assert_no_double_originate(&simulator.ledger());
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_daemon_replaced_mid_campaign_loses_nothing() {
    daemon_replaced(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_daemon_replaced_mid_campaign_loses_nothing_on_exotel() {
    daemon_replaced(Provider::Exotel).await;
}

async fn daemon_replaced(provider: Provider) {
    const N: usize = 120;
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config(provider)).await;
    let (first, store) = start_daemon_for(
        provider,
        &redis.url(),
        &simulator.base_url(),
        fault_dialer_config("a"),
    )
    .await;
    store.submit(&campaign("faults-restart", N)).await.unwrap();
    let url = redis.url();
    eventually(Duration::from_secs(60), "some progress", || {
        let url = url.clone();
        async move { records(&url).await.filter(|r| r.len() >= 15) }
    })
    .await;
    // SIGTERM-equivalent: stop intake and dialling, drain, flush, close.
    first.shutdown().await;
    let (second, _) = start_daemon_for(
        provider,
        &redis.url(),
        &simulator.base_url(),
        fault_dialer_config("b"),
    )
    .await;
    let all = eventually(
        Duration::from_secs(180),
        "a record for every contact after the restart",
        || {
            let url = url.clone();
            async move { records(&url).await.filter(|r| r.len() >= N) }
        },
    )
    .await;
    assert_one_record_each(&all, N);
    assert_eq!(all.len(), N, "a graceful shutdown duplicates nothing");
    assert_no_double_originate(&simulator.ledger());
    let id = sampark::domain::CampaignId::parse("faults-restart").unwrap();
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(status.finished(), N as u64);
    second.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}
