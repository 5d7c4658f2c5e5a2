//! Redis work of dial decisions, counted by Redis itself (`INFO
//! commandstats`), not timed: `cargo bench --bench backlog`.
//!
//! 1. One dial decision with every policy check on (campaign state,
//!    freshness, do-not-call and opt-out, the citizen's day and week caps,
//!    the department's quota, the official's GCRA, the live-call cap, the
//!    provider's rate): script calls and commands per decision.
//! 2. A paused campaign's backlog: what one look of the dialer over every
//!    shard (promote due work, read the shards holding ready entries)
//!    costs once the backlog is parked, for a small and a large backlog.
//! 3. A rate-limited backlog (every contact behind one official): what each
//!    dial costs, the dialer's steps as `dialer/dispatch.rs` makes them
//!    (promote the shard when its next work is due, read it, decide).
//! 4. The whole daemon against the simulator (timed, so figures of this
//!    machine): the commands an idle daemon issues per second; how much of
//!    its quota each of 20 backlogged officials (burst 2, 10 dials/s) uses,
//!    and whether any window of its calls broke the GCRA bound; and the lag
//!    from the time a job is due to its call, p50/p99.
//!
//! Sizes: BENCH_BACKLOG (default 100,000) and BENCH_SMALL (default 1,000);
//! BENCH_DAEMON_ONLY=1 runs only part 4;
//! the 300-contact backlog of issue 12 is always measured.
//! Prints one line per figure; record them in docs/performance.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use sampark::domain::{
    CampaignHeader, CampaignId, Contact, ContactId, JobSpec, OfficialId, PhoneNumber,
};

#[path = "backlog/daemon.rs"]
mod daemon;
use sampark::store::redis::RedisStore;
use sampark::store::{
    Authorize, CampaignAction, CitizenCaps, DialLimits, Quota, ReadyEntry, Store,
};
use support::redis_server::RedisServer;

const SHARDS: u16 = 16;
const BATCH: usize = 64;
const RECLAIM: Duration = Duration::from_secs(600);
const LEASE: Duration = Duration::from_secs(60);

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn header(id: &str) -> CampaignHeader {
    let doc = serde_json::json!({"version": 1, "id": id, "name": id, "dialplan": "p",
        "caller_id": "+916742000000", "department": "revenue", "contacts": []});
    sampark::domain::parse_campaign_document(&doc.to_string(), &|_| true)
        .unwrap()
        .header
}

/// Enqueues `n` contacts of campaign `id`, spread over `officials`.
async fn seed(store: &Arc<RedisStore>, id: &str, n: usize, officials: usize) {
    let header = header(id);
    store.put_campaign(&header).await.unwrap();
    stream::iter(0..n)
        .map(|i| {
            let spec = JobSpec::new(
                &header,
                Contact {
                    id: ContactId::parse(&format!("c-{i:07}")).unwrap(),
                    phone: PhoneNumber::parse(&format!("+9197{:08}", i)).unwrap(),
                    language: None,
                    official_id: OfficialId::parse(&format!("off-{}", i % officials)).unwrap(),
                    office: "Office".into(),
                    service: "Service".into(),
                    visit_at_ms: None,
                    first_name: None,
                },
            );
            let store = store.clone();
            async move { store.enqueue(&spec).await.unwrap() }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
}

/// Every command Redis ran, by command (see `command_calls`).
async fn commandstats(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    support::redis_server::command_calls(conn)
        .await
        .into_iter()
        .collect()
}

/// The work between two snapshots: (script calls, every command).
struct Work {
    scripts: u64,
    commands: u64,
}

fn work(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Work {
    let delta =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    let commands = after
        .keys()
        .filter(|k| k.as_str() != "info")
        .map(|k| delta(k))
        .sum();
    Work {
        scripts: delta("evalsha") + delta("eval"),
        commands,
    }
}

/// One look of the dialer over every shard, as `dialer/dispatch.rs` makes
/// it: promote each shard's due work, read the shards whose streams hold
/// entries, decide each entry.
async fn round(store: &RedisStore, limits: &DialLimits) -> (usize, usize) {
    let mut ready = Vec::new();
    for shard in 0..SHARDS {
        if store.promote(shard, BATCH).await.unwrap().ready {
            ready.push(shard);
        }
    }
    let entries: Vec<ReadyEntry> = store
        .read_ready_from(&ready, "bench", BATCH, RECLAIM)
        .await
        .unwrap();
    let mut granted = 0;
    for entry in &entries {
        if let Authorize::Granted { .. } = store.authorize(entry, limits, LEASE).await.unwrap() {
            granted += 1;
        }
    }
    (entries.len(), granted)
}

async fn connect() -> (
    RedisServer,
    Arc<RedisStore>,
    redis::aio::MultiplexedConnection,
) {
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", SHARDS)
            .await
            .unwrap(),
    );
    let conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (redis, store, conn)
}

fn all_limits(official: Quota) -> DialLimits {
    DialLimits {
        official,
        department: Some(Quota {
            burst: 1_000_000,
            period: Duration::from_micros(1),
        }),
        citizen: CitizenCaps {
            per_day: 2,
            per_week: 5,
        },
        max_live_calls: Some(1_000_000),
        provider: Some(Quota {
            burst: 1_000_000,
            period: Duration::from_micros(1),
        }),
        live_recheck: Duration::from_secs(1),
    }
}

async fn bench_decisions(n: usize) {
    let (_redis, store, mut conn) = connect().await;
    seed(&store, "decide", n, 500).await;
    let mut entries = Vec::new();
    while entries.len() < n {
        entries.extend(store.read_ready("bench", 1_000, RECLAIM).await.unwrap());
    }
    let limits = all_limits(Quota {
        burst: 1_000_000,
        period: Duration::from_micros(1),
    });
    let before = commandstats(&mut conn).await;
    for entry in &entries {
        let verdict = store.authorize(entry, &limits, LEASE).await.unwrap();
        assert!(matches!(verdict, Authorize::Granted { .. }), "{verdict:?}");
    }
    let w = work(&before, &commandstats(&mut conn).await);
    println!(
        "decision, every check on: {n} grants, {:.2} script calls and {:.1} Redis commands (inside the script) per decision",
        w.scripts as f64 / n as f64,
        w.commands as f64 / n as f64
    );
}

async fn bench_paused(backlog: usize) {
    let (_redis, store, mut conn) = connect().await;
    seed(&store, "paused", backlog, 500).await;
    store
        .control_campaign(&CampaignId::parse("paused").unwrap(), CampaignAction::Pause)
        .await
        .unwrap();
    let limits = all_limits(Quota {
        burst: 5,
        period: Duration::from_secs(60),
    });
    // The first rounds read each waiting entry once and park it.
    let before = commandstats(&mut conn).await;
    let mut parking_rounds = 0;
    loop {
        parking_rounds += 1;
        if round(&store, &limits).await.0 == 0 {
            break;
        }
    }
    let parking = work(&before, &commandstats(&mut conn).await);
    const ROUNDS: u64 = 50;
    let before = commandstats(&mut conn).await;
    for _ in 0..ROUNDS {
        round(&store, &limits).await;
    }
    let idle = work(&before, &commandstats(&mut conn).await);
    println!(
        "paused backlog of {backlog}: parked once in {parking_rounds} rounds ({:.2} script calls per contact); then per look over the shards {:.0} script calls, {:.0} commands",
        parking.scripts as f64 / backlog as f64,
        idle.scripts as f64 / ROUNDS as f64,
        idle.commands as f64 / ROUNDS as f64
    );
}

async fn bench_rate_limited(backlog: usize) {
    let (_redis, store, mut conn) = connect().await;
    seed(&store, "limited", backlog, 1).await;
    // One official allowed one dial every 100 ms (burst 1).
    let limits = all_limits(Quota {
        burst: 1,
        period: Duration::from_millis(100),
    });
    // First pass: every entry is read once; the first is granted, the rest
    // join the official's held queue.
    let before = commandstats(&mut conn).await;
    let mut first = 0;
    let mut dials = 0;
    while first < backlog {
        let (read, granted) = round(&store, &limits).await;
        if read == 0 {
            break;
        }
        first += read;
        dials += granted;
    }
    let arrival = work(&before, &commandstats(&mut conn).await);
    // Then the steady state, the dialer's steps: promote the official's
    // shard when it is due, read it, decide.
    let shard = store.shard_of(&OfficialId::parse("off-0").unwrap());
    let before = commandstats(&mut conn).await;
    let steady_dials = 30;
    let mut steady = 0;
    while steady < steady_dials {
        let found = store.promote(shard, BATCH).await.unwrap();
        if found.ready {
            let entries = store
                .read_ready_from(&[shard], "bench", BATCH, RECLAIM)
                .await
                .unwrap();
            for entry in &entries {
                if let Authorize::Granted { .. } =
                    store.authorize(entry, &limits, LEASE).await.unwrap()
                {
                    steady += 1;
                }
            }
        }
        // Sleep until the official's next allow time (the plan's due time).
        let promoted = store.promote(shard, 0).await.unwrap();
        if let Some(due) = promoted.next_due_ms {
            let wait = u64::try_from(due - promoted.now_ms).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
    let w = work(&before, &commandstats(&mut conn).await);
    println!(
        "rate-limited backlog of {backlog} (one official, 1 dial / 100 ms): arrival {:.2} script calls per contact ({dials} granted at once); then {:.2} script calls and {:.1} commands per dial over {steady} dials",
        arrival.scripts as f64 / backlog as f64,
        w.scripts as f64 / f64::from(steady),
        w.commands as f64 / f64::from(steady),
    );
}

#[tokio::main]
async fn main() {
    let backlog = env_usize("BENCH_BACKLOG", 100_000);
    let small = env_usize("BENCH_SMALL", 1_000);
    // BENCH_DAEMON_ONLY=1: only the timed runs of the whole daemon.
    if env_usize("BENCH_DAEMON_ONLY", 0) == 1 {
        daemon::bench_idle().await;
        daemon::bench_utilisation().await;
        daemon::bench_due_lag().await;
        return;
    }
    bench_decisions(5_000).await;
    bench_paused(small).await;
    bench_paused(backlog).await;
    bench_rate_limited(300).await;
    bench_rate_limited(small).await;
    bench_rate_limited(backlog).await;
    daemon::bench_idle().await;
    daemon::bench_utilisation().await;
    daemon::bench_due_lag().await;
}
