//! Two daemon instances sharing one Redis: the work is split between them,
//! and the guarantees hold fleet-wide — one record per contact, at most one
//! originate per (contact, attempt), and the per-official GCRA bound over the
//! dial starts of both instances together.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::FeedbackRecord;
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{ACCOUNT_SID, AUTH_TOKEN, dialer_config, start_daemon, start_simulator};
use support::eventually;
use support::redis_server::RedisServer;

const N: usize = 200;
const OFFICIALS: usize = 4;
const BURST: u32 = 2;
const PERIOD: Duration = Duration::from_millis(80);
/// Allowance for the delay between authorisation and the simulator's log
/// (generous for loaded CI machines; the exact arithmetic is checked against
/// `governor` in tests/store_redis.rs).
const JITTER_MS: i64 = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_work_and_the_limits() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 11,
        ..SimulatorConfig::default()
    })
    .await;
    let quota = Quota {
        burst: BURST,
        period: PERIOD,
    };
    let mut config_a = dialer_config(quota);
    config_a.consumer = "instance-a".into();
    let mut config_b = dialer_config(quota);
    config_b.consumer = "instance-b".into();
    let (a, store) = start_daemon(&redis.url(), &simulator.base_url(), config_a).await;
    let (b, _) = start_daemon(&redis.url(), &simulator.base_url(), config_b).await;

    let contacts: Vec<_> = (0..N)
        .map(|i| json!({"id": format!("c-{i:04}"), "phone": format!("+9196{:08}", 40_000_000 + i), "language": "or",
                        "official_id": format!("off-{}", i % OFFICIALS), "office": "Khurda Tahasil Office", "service": "Income certificate"}))
        .collect();
    let doc = json!({"version": 1, "id": "fleet", "name": "fleet", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "revenue", "contacts": contacts});
    // Submitted twice: the second copy is a no-op.
    store.submit(&doc.to_string()).await.unwrap();
    store.submit(&doc.to_string()).await.unwrap();

    let client = redis::Client::open(redis.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let records: Vec<FeedbackRecord> =
        eventually(Duration::from_secs(120), "every contact finished", || {
            let mut conn = conn.clone();
            async move {
                let reply: redis::streams::StreamRangeReply =
                    conn.xrange_all("sampark:feedback").await.ok()?;
                (reply.ids.len() >= N).then(|| {
                    reply
                        .ids
                        .iter()
                        .map(|e| serde_json::from_str(&e.get::<String>("record").unwrap()).unwrap())
                        .collect()
                })
            }
        })
        .await;
    let ids: HashSet<_> = records.iter().map(|r| r.record_id.clone()).collect();
    assert_eq!(ids.len(), N);
    assert_eq!(records.len(), N, "no duplicates without a crash");

    // Both instances dialled (the ready streams' consumer group split the work).
    let ledger = simulator.ledger();
    let mut seen = HashSet::new();
    let mut starts: HashMap<String, Vec<i64>> = HashMap::new();
    let mut answer_hosts = HashSet::new();
    for e in &ledger {
        if let LedgerEntry::Originate { url, at_ms, .. } = e {
            let query = url.split_once('?').unwrap().1.to_owned();
            assert!(seen.insert(query.clone()), "originated twice: {query}");
            answer_hosts.insert(url.split('/').nth(2).unwrap().to_owned());
            let contact: usize = query.split("c-").nth(1).unwrap()[..4].parse().unwrap();
            starts
                .entry(format!("off-{}", contact % OFFICIALS))
                .or_default()
                .push(*at_ms);
        }
    }
    assert_eq!(
        answer_hosts.len(),
        2,
        "both instances placed calls: {answer_hosts:?}"
    );
    let period_ms = PERIOD.as_millis() as i64;
    for (official, mut times) in starts {
        times.sort_unstable();
        for i in 0..times.len() {
            for j in i..times.len() {
                let allowed = i64::from(BURST) + (times[j] - times[i] + JITTER_MS) / period_ms;
                assert!(
                    (j - i + 1) as i64 <= allowed,
                    "{official}: fleet-wide GCRA bound broken between dials {i} and {j}"
                );
            }
        }
    }
    a.shutdown().await;
    b.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

/// Three instances, each allowed the provider's whole calls-per-second cap
/// on its own: together they still start at most that many calls a second
/// (the count is kept in Redis), not three times as many.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_provider_cap_holds_across_three_instances() {
    const CPS: u32 = 2;
    const CALLS: usize = 24;
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 17,
        ..SimulatorConfig::default()
    })
    .await;
    let mut daemons = Vec::new();
    for name in ["cps-a", "cps-b", "cps-c"] {
        let mut dialer = dialer_config(Quota {
            burst: 100,
            period: Duration::from_millis(1),
        });
        dialer.consumer = name.into();
        dialer.provider_cps = Some(CPS);
        daemons.push(start_daemon(&redis.url(), &simulator.base_url(), dialer).await);
    }
    let contacts: Vec<_> = (0..CALLS)
        .map(|i| {
            json!({"id": format!("c-{i:02}"), "phone": format!("+9195{:08}", 50_000_000 + i),
                        "official_id": format!("off-{i}"), "office": "Puri Sadar PS",
                        "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "cps", "name": "cps", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    daemons[0].1.submit(&doc.to_string()).await.unwrap();
    let starts = || -> Vec<i64> {
        simulator
            .ledger()
            .iter()
            .filter_map(|e| match e {
                LedgerEntry::Originate { at_ms, .. } => Some(*at_ms),
                _ => None,
            })
            .collect()
    };
    eventually(
        Duration::from_secs(60),
        "every contact dialled once",
        || async { (starts().len() >= CALLS).then_some(()) },
    )
    .await;
    let mut times = starts();
    times.sort();
    // GCRA bound over any window t: burst + t * cps (plus scheduling jitter).
    for i in 0..times.len() {
        for j in i..times.len() {
            let span = times[j] - times[i];
            let count = (j - i + 1) as i64;
            let allowed = i64::from(CPS) + (span + JITTER_MS) * i64::from(CPS) / 1000 + 1;
            assert!(
                count <= allowed,
                "{count} call starts within {span} ms exceed the fleet-wide cap ({allowed})"
            );
        }
    }
    // Three instances at the cap each would have needed a third of the time.
    let elapsed = times[times.len() - 1] - times[0];
    assert!(
        elapsed >= (CALLS as i64 - i64::from(CPS)) * 1000 / i64::from(CPS) - JITTER_MS,
        "{CALLS} calls in {elapsed} ms"
    );
    for (daemon, _) in daemons {
        daemon.shutdown().await;
    }
    sim_cancel.cancel();
    simulator.wait().await;
}
