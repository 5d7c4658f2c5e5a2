//! Redis cost of escalations and scorecards per feedback record, counted by
//! Redis itself (`INFO commandstats`), plus the scorer's throughput on this
//! machine: `cargo bench --bench results`.
//!
//! 1. The relay without escalation rules, then with them (every record's
//!    escalation is decided and written in the relay's own script call):
//!    script calls and commands per record.
//! 2. The scorer counting every record into the scorecards: script calls
//!    and commands per record, records per second, and the scorecards'
//!    Redis memory.
//!
//! BENCH_RECORDS (default 20,000) records, a fifth of them with a bribe
//! reported, over 500 officials, 50 offices, 5 departments and 3 days.
//! Prints one line per figure; record them in docs/performance.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use redis::AsyncCommands;
use sampark::accountability::scorer::score_pending;
use sampark::daemon::flush_feedback;
use sampark::domain::{FeedbackRecord, OfficialId, Outcome, ScoringRules};
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use support::redis_server::RedisServer;
use support::scorecards::scoring;

const SHARDS: u16 = 16;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn record(i: usize) -> FeedbackRecord {
    let bribe = i.is_multiple_of(5);
    let answers = serde_json::json!([
        {"question": "treated_well", "digits": "1", "value": "yes", "label": "Yes", "at_ms": 1},
        {"question": "asked_money", "digits": if bribe {"1"} else {"2"},
         "value": if bribe {"yes"} else {"no"}, "label": "-",
         "flag": if bribe {serde_json::json!("bribe_asked")} else {serde_json::json!(null)}, "at_ms": 2},
        {"question": "rating", "digits": "4", "value": format!("{}", 1 + i % 5), "label": "-", "at_ms": 3},
    ]);
    let answers: Vec<sampark::domain::Answer> = serde_json::from_value(answers).unwrap();
    let official = i % 500;
    FeedbackRecord {
        version: 1,
        record_id: format!("bench/c-{i}"),
        campaign_id: "bench".into(),
        contact_id: format!("c-{i}"),
        official_id: format!("off-{official}"),
        department: format!("dept-{}", official % 5),
        office: format!("office-{}", official % 50),
        service: format!("service-{}", i % 10),
        outcome: Outcome::Completed,
        reason: None,
        attempts: 1,
        flags: sampark::domain::flags_of(&answers),
        answers,
        queued_at_ms: 1_796_000_000_000,
        first_dialled_at_ms: Some(1_796_000_000_000),
        finished_at_ms: 1_796_000_000_000 + (i as i64 % 3) * 86_400_000,
        direction: Default::default(),
        attributed: true,
        bridge: None,
    }
}

async fn commandstats(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    support::redis_server::command_calls(conn)
        .await
        .into_iter()
        .collect()
}

/// (script calls, every command) between two snapshots.
fn work(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> (u64, u64) {
    let delta =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    let commands = after
        .keys()
        .filter(|k| k.as_str() != "info")
        .map(|k| delta(k))
        .sum();
    (delta("evalsha") + delta("eval"), commands)
}

async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// A fresh Redis with `n` records waiting in the shards' outboxes.
async fn seeded(
    n: usize,
) -> (
    RedisServer,
    Arc<RedisStore>,
    redis::aio::MultiplexedConnection,
) {
    let redis = RedisServer::start_without_persistence();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", SHARDS)
            .await
            .unwrap(),
    );
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut pipe = redis::pipe();
    for i in 0..n {
        let r = record(i);
        let shard = store.shard_of(&OfficialId::parse(&r.official_id).unwrap());
        pipe.cmd("XADD")
            .arg(format!("sampark:{{s{shard:02}}}:outbox"))
            .arg("*")
            .arg("record")
            .arg(serde_json::to_string(&r).unwrap())
            .ignore();
        if i % 1_000 == 999 || i + 1 == n {
            pipe.exec_async(&mut conn).await.unwrap();
            pipe = redis::pipe();
        }
    }
    (redis, store, conn)
}

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_RECORDS", 20_000);
    let cx = scoring();
    let per = |x: u64| x as f64 / n as f64;

    let (_plain_redis, store, mut conn) = seeded(n).await;
    let before = commandstats(&mut conn).await;
    flush_feedback(store.as_ref(), &ScoringRules::default())
        .await
        .unwrap();
    let (scripts, commands) = work(&before, &commandstats(&mut conn).await);
    println!(
        "relay, no escalation rules: {:.3} script calls and {:.2} commands per record",
        per(scripts),
        per(commands)
    );

    let (_redis, store, mut conn) = seeded(n).await;
    let before = commandstats(&mut conn).await;
    flush_feedback(store.as_ref(), &cx.rules).await.unwrap();
    let (scripts, commands) = work(&before, &commandstats(&mut conn).await);
    let escalations: usize = conn.xlen("sampark:escalations").await.unwrap();
    println!(
        "relay with escalations ({escalations} of {n} records escalate): {:.3} script calls and {:.2} commands per record",
        per(scripts),
        per(commands)
    );

    let memory_before = used_memory(&mut conn).await;
    let before = commandstats(&mut conn).await;
    let started = Instant::now();
    let counted = score_pending(store.as_ref(), &cx, "bench", |_| {})
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let (scripts, commands) = work(&before, &commandstats(&mut conn).await);
    assert_eq!(counted.records, n);
    println!(
        "scorer: {:.4} script calls and {:.2} commands per record; {:.0} records/s ({:.2} s for {n})",
        per(scripts),
        per(commands),
        n as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    let days = store.score_days().await.unwrap().len();
    println!(
        "scorecards: {:.1} MB of Redis memory for {days} days of 500 officials, 50 offices, 5 departments, 50 services",
        (used_memory(&mut conn).await - memory_before) as f64 / 1e6
    );
}
