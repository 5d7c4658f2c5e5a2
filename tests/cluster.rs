//! `redis.mode = "cluster"` against a real local Redis Cluster (three
//! primaries, three replicas, started by the test): the store's non-dial
//! contracts, a keyspace-wide SCAN that must visit every primary, the dial
//! decision's refunds across slots, and a campaign that completes while a
//! primary is killed and its replica promoted. (The whole store contract
//! suite and the e2e suite run on a cluster too: `scripts/test.sh`.)

mod support;

#[path = "store_contract/dnc.rs"]
#[allow(dead_code)]
mod dnc;
#[path = "store_contract/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "store_contract/inbound.rs"]
#[allow(dead_code)]
mod inbound;
#[path = "store_contract/registry.rs"]
#[allow(dead_code)]
mod registry;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sampark::domain::PhoneNumber;
use sampark::simulator::SimulatorConfig;
use sampark::store::keys::Keys;
use sampark::store::redis::{LegacyOptOuts, RedisStore, ReplicaWait, Timeouts};
use sampark::store::{Quota, Store};
use support::campaign::{assert_one_record_each, campaign, records};
use support::daemon::{bind_webhook, dialer_config, start_daemon_with_store, start_simulator};
use support::provider::Provider;
use support::redis_cluster::RedisCluster;

/// More shards than the 16 of one primary, so jobs spread over many slots.
const SHARDS: u16 = 48;

async fn store(cluster: &RedisCluster, prefix: &str) -> RedisStore {
    RedisStore::connect_to(&cluster.target(), prefix, SHARDS, Timeouts::default())
        .await
        .expect("connect to the cluster")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_non_dial_contracts_hold_on_a_cluster() {
    let cluster = RedisCluster::start();
    // One prefix per contract: each starts from an empty keyspace of its own.
    let s = |p: &'static str| {
        let cluster = &cluster;
        async move { Arc::new(store(cluster, p).await) as Arc<dyn Store> }
    };
    dnc::dnc_entries_are_added_updated_checked_removed_and_counted(s("c1").await).await;
    dnc::dnc_entries_lapse_at_their_expiry(s("c2").await).await;
    dnc::a_large_dnc_import_is_stored_in_full(s("c3").await).await;
    registry::officials_are_created_updated_listed_filtered_and_removed(s("c4").await).await;
    registry::an_official_given_twice_counts_twice_and_the_later_wins(s("c5").await).await;
    registry::a_large_import_lands_whole(s("c6").await).await;
    inbound::visits_are_remembered_newest_first_and_refreshed(s("c7").await).await;
    inbound::many_citizens_visits_are_remembered_each_their_own(s("c7b").await).await;

    let store = s("c8").await;
    store.heartbeat("a", Duration::from_secs(60)).await.unwrap();
    store.heartbeat("b", Duration::from_secs(60)).await.unwrap();
    let names: HashSet<String> = store
        .instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(names, HashSet::from(["a".to_owned(), "b".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyspace_scan_visits_every_primary() {
    let cluster = RedisCluster::start();
    let store = store(&cluster, "sampark").await;
    assert_eq!(
        store.legacy_opt_outs(1_000_000).await.unwrap(),
        LegacyOptOuts::None
    );

    // Old opt-out markers spread over the primaries (their tags hash to
    // slots all over the ring).
    let phones: Vec<PhoneNumber> = (0..30)
        .map(|i| PhoneNumber::parse(&format!("+9198{:08}", 30_000_000 + i)).unwrap())
        .collect();
    let keys = Keys::new("sampark");
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let mut holders = HashSet::new();
    for phone in &phones {
        let key = keys.legacy_opt_out(phone);
        holders.insert(cluster.primary_of(&key));
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("1")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(holders.len(), 3, "the markers are on every primary");

    // A fresh store: the first check recorded "none" above.
    let _: () = redis::cmd("DEL")
        .arg(keys.citizen_keys())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        store.legacy_opt_outs(1_000_000).await.unwrap(),
        LegacyOptOuts::Found
    );
    let report = store.upgrade_legacy_opt_outs(&phones).await.unwrap();
    assert_eq!(
        report.migrated, 30,
        "every marker found and moved, on every node"
    );
    assert_eq!(report.unmatched, 0);
    for phone in &phones {
        let tag = keys.citizen_tag(phone);
        let moved: bool = redis::cmd("EXISTS")
            .arg(keys.opt_out(&tag))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(moved, "the keyed marker exists");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_a_promoted_replica() {
    let mut cluster = RedisCluster::start();
    let store = store(&cluster, "sampark")
        .await
        .with_replica_wait(Some(ReplicaWait {
            replicas: 1,
            timeout: Duration::from_millis(500),
        }));
    store
        .heartbeat("before", Duration::from_secs(60))
        .await
        .unwrap();
    let holder = cluster.primary_of(&Keys::new("sampark").instances());
    // Replication is asynchronous: a write the replica has not received yet
    // is lost with the primary (docs/architecture.md). The heartbeat is not
    // one of the writes `wait_replicas` waits for, so wait here until the
    // replica's offset has caught up with the primary's.
    support::eventually(
        Duration::from_secs(10),
        "the replica to hold the heartbeat",
        || async { replica_caught_up(holder).then_some(()) },
    )
    .await;
    let killed = std::time::Instant::now();
    cluster.fail_over(holder);
    support::eventually(
        Duration::from_secs(30),
        "a heartbeat on the new primary",
        || async { store.heartbeat("after", Duration::from_secs(60)).await.ok() },
    )
    .await;
    // A figure for docs/architecture.md (printed, never asserted).
    eprintln!(
        "store writable again {:?} after the primary was killed",
        killed.elapsed()
    );
    assert_ne!(
        cluster.primary_of(&Keys::new("sampark").instances()),
        holder
    );
    let names: HashSet<String> = store
        .instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(
        names.contains("before"),
        "written before the failover: {names:?}"
    );
    assert!(names.contains("after"), "{names:?}");
}

/// Held by the tests that dial: the refund test's failpoint catches any
/// instance's dial, so no other test may dial meanwhile.
static DIALLING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The dial decision's per-slot steps spend in order and give back what
/// they spent when a later step refuses: a dial whose grant step finds the
/// official's unit taken (by another decider since its first step) leaves
/// the citizen's cap, the department's quota, the provider's rate and the
/// live-call set as they were.
#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_refused_on_the_shard_refunds_the_other_slots() {
    use sampark::failpoint::{arm, points};
    use sampark::store::{Authorize, CitizenCaps, DialLimits, Limit};

    let _alone = DIALLING.lock().await;
    let cluster = RedisCluster::start();
    let store: Arc<dyn Store> = Arc::new(store(&cluster, "refund").await);
    let phone = |n: u32| PhoneNumber::parse(&format!("+9198765{n:05}")).unwrap();
    store.put_campaign(&helpers::header()).await.unwrap();
    // Two ready entries of one official: c-b, due a moment later than c-a
    // (its `not_before`), is made ready from the delayed set, not queued
    // behind c-a in the official's held queue.
    let soon = store.now_ms().await.unwrap() + 300;
    for (contact, n) in [("c-a", 1), ("c-b", 2)] {
        let mut spec = helpers::spec(contact, "off-1");
        spec.contact.phone = phone(n);
        spec.not_before_ms = (contact == "c-b").then_some(soon);
        store.enqueue(&spec).await.unwrap();
    }
    let mut entries = helpers::ready(&store, 1).await;
    entries.insert("c-b".into(), helpers::ready_again(&store, "c-b").await);
    let one_a_minute = Quota {
        burst: 1,
        period: Duration::from_secs(60),
    };
    let every_limit = DialLimits {
        official: one_a_minute,
        department: Some(Quota {
            burst: 5,
            period: Duration::from_secs(10),
        }),
        citizen: CitizenCaps {
            per_day: 1,
            per_week: 1,
        },
        max_live_calls: Some(10),
        provider: Some(Quota {
            burst: 5,
            period: Duration::from_secs(1),
        }),
        live_recheck: Duration::from_secs(1),
    };

    let trap = arm(points::BEFORE_GRANT, None);
    let deciding = tokio::spawn({
        let (store, entry, limits) = (store.clone(), entries["c-a"].clone(), every_limit.clone());
        async move { store.authorize(&entry, &limits, helpers::HOUR).await }
    });
    trap.caught().await;
    // Meanwhile another decider takes the official's only unit.
    let other = store
        .authorize(
            &entries["c-b"],
            &DialLimits::official(one_a_minute),
            helpers::HOUR,
        )
        .await
        .unwrap();
    assert!(matches!(other, Authorize::Granted { .. }), "{other:?}");
    trap.release();
    let verdict = deciding.await.unwrap().unwrap();
    assert!(
        matches!(
            verdict,
            Authorize::Deferred {
                limit: Limit::Official,
                ..
            }
        ),
        "{verdict:?}"
    );

    let keys = Keys::new("refund");
    let client = redis::cluster::ClusterClient::new(cluster.urls()).unwrap();
    let conn = client.get_async_connection().await.unwrap();
    let count = |cmd: &str, key: String| {
        let mut cmd = redis::cmd(cmd);
        cmd.arg(key);
        let mut conn = conn.clone();
        async move { cmd.query_async::<u64>(&mut conn).await.unwrap() }
    };
    let tag = keys.citizen_tag(&phone(1));
    assert_eq!(
        count("ZCARD", keys.citizen_calls(&tag)).await,
        0,
        "citizen's cap refunded"
    );
    assert_eq!(
        count("ZCARD", keys.live_calls()).await,
        0,
        "live call refunded"
    );
    assert_eq!(
        count("EXISTS", keys.department_gcra("home")).await,
        0,
        "department's unit refunded"
    );
    assert_eq!(
        count("EXISTS", keys.provider_rate()).await,
        0,
        "provider's unit refunded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_campaign_completes_while_a_cluster_primary_fails_over() {
    const CONTACTS: usize = 40;
    let _alone = DIALLING.lock().await;
    let mut cluster = RedisCluster::start();
    let (simulator, _sim_cancel) = start_simulator(Provider::Twilio.simulator(SimulatorConfig {
        seed: 13,
        answer_rate: 0.8,
        busy_rate: 0.1,
        no_answer_rate: 0.1,
        ..SimulatorConfig::default()
    }))
    .await;
    let base = simulator.base_url();
    let store = store(&cluster, "sampark")
        .await
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
    store
        .submit(&campaign("cluster-failover", CONTACTS))
        .await
        .unwrap();

    // Kill, mid-campaign, the primary holding the most jobs' shards.
    support::eventually(Duration::from_secs(120), "the first records", || async {
        records(&store).await.filter(|r| r.len() >= 5)
    })
    .await;
    let keys = Keys::new("sampark");
    let busiest = (0..SHARDS)
        .map(|shard| cluster.primary_of(&keys.outbox(shard)))
        .fold(
            std::collections::HashMap::<u16, usize>::new(),
            |mut m, p| {
                *m.entry(p).or_default() += 1;
                m
            },
        )
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(p, _)| p)
        .unwrap();
    cluster.fail_over(busiest);

    assert_one_record_each(&store, CONTACTS).await;
}

/// Whether every replica of the primary on `port` has acknowledged the
/// primary's whole replication stream (`INFO replication`).
fn replica_caught_up(port: u16) -> bool {
    let Some(info) = support::redis_cluster::query(port, &["INFO", "replication"]) else {
        return false;
    };
    let mut primary_offset = None;
    let mut replica_offsets = Vec::new();
    for line in info.lines() {
        if let Some(offset) = line.trim().strip_prefix("master_repl_offset:") {
            primary_offset = offset.parse::<u64>().ok();
        } else if line.starts_with("slave") {
            let offset = line
                .split(',')
                .find_map(|part| part.strip_prefix("offset="))
                .and_then(|o| o.parse::<u64>().ok());
            replica_offsets.push(offset);
        }
    }
    match primary_offset {
        Some(primary) => {
            !replica_offsets.is_empty()
                && replica_offsets
                    .iter()
                    .all(|o| o.is_some_and(|o| o >= primary))
        }
        None => false,
    }
}

/// The operators' commands reach a cluster through the daemon's settings
/// (`--config`), which name the mode, the nodes and the shards; the flags
/// for one server are refused beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_cli_reaches_a_cluster_through_the_settings_file() {
    use support::cli::{run, sampark};
    let cluster = RedisCluster::start();
    let command = |args: &[&str]| {
        let mut cmd = sampark();
        cmd.args(args)
            .args(["--config", "config/sampark.toml"])
            .env("SAMPARK__REDIS__MODE", "cluster")
            .env("SAMPARK__REDIS__CLUSTER_NODES", cluster.urls().join(","))
            .env("SAMPARK__REDIS__SHARDS", SHARDS.to_string())
            .env("SAMPARK__REDIS__KEY_PREFIX", "ops")
            .env(
                "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
                support::daemon::CITIZEN_KEY_SECRET,
            )
            .env("SAMPARK__PROVIDER__ACCOUNT_SID", support::serve::SID)
            .env("SAMPARK__PROVIDER__AUTH_TOKEN", support::serve::TOKEN);
        let out = run(&mut cmd);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = command(&["campaign", "submit", "docs/examples/first-campaign.json"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = command(&["dnc", "add", "+919812345678", "--reason", "asked"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = command(&["dnc", "check", "+919812345678"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("asked"), "{text}");

    // What they wrote is where the daemon (same prefix and shards) reads.
    let store = store(&cluster, "ops")
        .await
        .with_citizen_key(support::daemon::citizen_key());
    let intake = store
        .read_intake("ops-test", 10, Duration::ZERO, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(intake.len(), 1, "the submitted campaign");
    let phone = PhoneNumber::parse("+919812345678").unwrap();
    assert!(store.dnc_check(&phone).await.unwrap().is_some());

    // A flag that says otherwise is refused, not ignored.
    let (code, text) = command(&["campaign", "status", "x", "--shards", "16"]);
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("--shards (or its SAMPARK__REDIS__* variable) says otherwise"),
        "{text}"
    );
}
