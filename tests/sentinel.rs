//! `redis.mode = "sentinel"` against a real Sentinel setup (one primary,
//! two replicas, three sentinels, all `redis-server` processes of the
//! test's own): a campaign completes with exactly one feedback record per
//! contact while the primary is killed and a replica promoted.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use sampark::domain::FeedbackRecord;
use sampark::simulator::SimulatorConfig;
use sampark::store::redis::{RedisStore, ReplicaWait, Timeouts};
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{bind_webhook, dialer_config, start_daemon_with_store, start_simulator};
use support::eventually;
use support::provider::Provider;
use support::redis_cluster::SentinelSetup;

const CONTACTS: usize = 40;

/// A campaign of `n` contacts over five officials.
pub fn campaign(id: &str, n: usize) -> String {
    let contacts: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": format!("c-{i:03}"),
                "phone": format!("+9197{:08}", 20_000_000 + i),
                "official_id": format!("off-{}", i % 5),
                "office": format!("Office {}", i % 5),
                "service": "FIR registration",
            })
        })
        .collect();
    json!({
        "version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home", "contacts": contacts,
    })
    .to_string()
}

/// Every record on the feedback stream, read through the store.
async fn records(store: &RedisStore) -> Option<Vec<FeedbackRecord>> {
    let mut all = Vec::new();
    let mut cursor = "0-0".to_owned();
    loop {
        let page = store.read_feedback(&cursor, 500).await.ok()?;
        let Some((last, _)) = page.last() else {
            return Some(all);
        };
        cursor = last.clone();
        all.extend(page.into_iter().map(|(_, r)| r));
    }
}

/// Exactly one record for each of `n` contacts, checked once the stream has
/// stopped growing.
pub async fn assert_one_record_each(store: &RedisStore, n: usize) {
    let done = eventually(Duration::from_secs(240), "a record for every contact", || async {
        records(store).await.filter(|r| r.len() >= n)
    })
    .await;
    // Anything relayed twice would land now: the relay's passes are 20 ms apart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = records(store).await.expect("the store answers");
    assert_eq!(all.len(), done.len().max(n), "no record was added after the last contact's");
    let mut by_contact: HashMap<&str, usize> = HashMap::new();
    for r in &all {
        *by_contact.entry(&r.contact_id).or_default() += 1;
    }
    assert_eq!(by_contact.len(), n, "a record for every contact");
    let doubled: Vec<_> = by_contact.iter().filter(|(_, c)| **c > 1).collect();
    assert!(doubled.is_empty(), "contacts with more than one record: {doubled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_completes_while_the_sentinel_primary_fails_over() {
    let mut redis = SentinelSetup::start();
    let (simulator, _sim_cancel) = start_simulator(Provider::Twilio.simulator(SimulatorConfig {
        seed: 11,
        answer_rate: 0.8,
        busy_rate: 0.1,
        no_answer_rate: 0.1,
        ..SimulatorConfig::default()
    }))
    .await;
    let base = simulator.base_url();
    let store = RedisStore::connect_to(&redis.target(), "sampark", 16, Timeouts::default())
        .await
        .expect("connect through the sentinels")
        .with_replica_wait(Some(ReplicaWait {
            replicas: 1,
            timeout: Duration::from_millis(200),
        }));
    let (listener, _) = bind_webhook().await;
    let quota = Quota {
        burst: 1,
        period: Duration::from_millis(250),
    };
    let (_daemon, store) =
        start_daemon_with_store(listener, store, &base, dialer_config(quota), |s| {
            Provider::Twilio.configure(s, &base)
        })
            .await;
    let before = redis.primary();
    store.submit(&campaign("sentinel-failover", CONTACTS)).await.unwrap();

    // Kill the primary mid-campaign: some records written, most not.
    eventually(Duration::from_secs(120), "the first records", || async {
        records(&store).await.filter(|r| r.len() >= 5)
    })
    .await;
    let after = redis.fail_over();
    assert_ne!(before, after, "a replica was promoted");

    assert_one_record_each(&store, CONTACTS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_a_promoted_replica() {
    let mut redis = SentinelSetup::start();
    let store = RedisStore::connect_to(&redis.target(), "sampark", 4, Timeouts::default())
        .await
        .expect("connect through the sentinels");
    store.heartbeat("before", Duration::from_secs(60)).await.unwrap();
    let old = redis.primary();
    let new = redis.fail_over();
    assert_ne!(old, new);
    // The first command after the failover may fail (it went to the dead
    // primary); the store asks the sentinels again and the next succeeds.
    eventually(Duration::from_secs(30), "a heartbeat on the new primary", || async {
        store.heartbeat("after", Duration::from_secs(60)).await.ok()
    })
    .await;
    let names: Vec<String> = store
        .instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(names.contains(&"before".to_owned()), "replicated before the failover: {names:?}");
    assert!(names.contains(&"after".to_owned()), "{names:?}");
    let role = support::redis_cluster::query(new, &["ROLE"]).unwrap();
    assert!(role.starts_with("master"), "{role}");
}
