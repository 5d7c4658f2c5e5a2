//! Redis round trips per completed call, counted by Redis itself with
//! `MONITOR`, never timed: a small campaign runs end to end (intake,
//! dialling, the provider's webhooks and status callbacks, the relay and
//! the daemon's background loops while it lasts) against the simulator,
//! every contact answered and every question keyed, and each command a
//! client sends is a round trip (a pipeline's commands counted one by
//! one). `EVALSHA` is told apart by script, named from the Lua sources
//! (`support::monitor`).
//! The daemon's start (its first look over every shard) is left out. The
//! run prints the breakdown (`--nocapture`) and bounds the total.

mod support;

use std::time::Duration;

use redis::AsyncCommands;
use sampark::simulator::SimulatorConfig;
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{dialer_config, every_call_answered, start_daemon, start_simulator};
use support::eventually;
use support::monitor::Monitor;
use support::redis_server::RedisServer;

const CONTACTS: usize = 60;
/// Provider events of one answered 3-question call: the answer, three
/// gathers and four status callbacks (initiated, ringing, answered,
/// completed).
const EVENTS_PER_CALL: f64 = 8.0;
/// The regression guard: round trips per completed call, everything
/// included (measured 2026-12-01, see docs/performance.md, "Redis round
/// trips per completed call": 12.8 once a batch's numbers were claimed in
/// one script call, and the relay stopped loading `end_number` and looking
/// for stuck entries on every pass; 14.5–14.9 before, with each official's
/// one entry on the ready streams at a time; 13.1–13.8 when every contact
/// went on the streams at ingest), with room for how the run's timing
/// groups the dialer's wakes and the relay's and intake's passes; main
/// before the relay's rework 19.5–20.8.
const MAX_ROUND_TRIPS_PER_CALL: f64 = 14.5;

fn campaign() -> String {
    let contacts: Vec<_> = (0..CONTACTS)
        .map(|i| {
            json!({"id": format!("c-{i:03}"), "phone": format!("+9196{:08}", 61_000_000 + i),
                   "language": "en", "official_id": format!("off-{}", i % 6),
                   "office": "Khurda Tahasil Office", "service": "Income certificate"})
        })
        .collect();
    json!({"version": 1, "id": "cost", "name": "cost", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_trips_per_completed_call_are_counted_and_bounded() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        seed: 7,
        ..every_call_answered()
    })
    .await;
    let mut dialer = dialer_config(Quota {
        burst: 50,
        period: Duration::from_millis(10),
    });
    // The default look over the shards: what is counted is the dialer's
    // event-driven work, not the tests' fast polling.
    dialer.poll_interval = Duration::from_secs(60);
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;

    // The test's own polling connection is left out of the count.
    let mut poll = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut poll)
        .await
        .unwrap();
    let addr = info
        .split_whitespace()
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_owned();
    // The daemon's first look over every shard (dialer, relay, reconciler)
    // is a cost of its start, not of the calls: it is over before the count
    // begins.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let monitor = Monitor::start(redis.port, Some(addr));

    store.submit(&campaign()).await.unwrap();
    eventually(Duration::from_secs(120), "a record per contact", || {
        let mut poll = poll.clone();
        async move {
            let n: usize = poll.xlen("sampark:feedback").await.ok()?;
            (n == CONTACTS).then_some(())
        }
    })
    .await;
    // Whatever follows the last record (the relay's acknowledgement).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = monitor.stop();
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;

    let total: u64 = counts.values().sum();
    let per_call = total as f64 / CONTACTS as f64;
    eprintln!("Redis round trips per completed call ({CONTACTS} calls, 3 questions each):");
    let mut rows: Vec<_> = counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (command, n) in rows {
        eprintln!("  {:>7.2}  {command}", *n as f64 / CONTACTS as f64);
    }
    eprintln!(
        "  {per_call:>7.2}  in all; {:.2} per provider event (÷ {EVENTS_PER_CALL})",
        per_call / EVENTS_PER_CALL
    );
    assert!(
        !counts.contains_key("evalsha ?"),
        "a script the test cannot name: extend script_names"
    );
    assert!(
        per_call <= MAX_ROUND_TRIPS_PER_CALL,
        "{per_call:.2} round trips per completed call, bound {MAX_ROUND_TRIPS_PER_CALL}"
    );
}
