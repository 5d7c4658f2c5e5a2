//! The whole daemon (in-process, against a real redis-server and the
//! simulator), timed: figures of this machine, printed for
//! docs/performance.md.

use std::collections::HashMap;
use std::time::Duration;

use sampark::domain::JobSpec;
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::{Value, json};

use super::support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, dialer_config, start_daemon, start_simulator,
};
use super::support::redis_server::{RedisServer, command_calls};

/// Calls of every command Redis counted (`INFO commandstats`; commands run
/// inside scripts included), `INFO` itself left out.
async fn commands(url: &str) -> HashMap<String, u64> {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    command_calls(&mut conn)
        .await
        .into_iter()
        .filter(|(name, _)| name != "info")
        .collect()
}

/// Per second over `secs`, by command, the most first.
fn rates(
    before: &HashMap<String, u64>,
    after: &HashMap<String, u64>,
    secs: f64,
) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = after
        .iter()
        .map(|(name, &n)| {
            (
                name.clone(),
                (n - before.get(name).copied().unwrap_or(0)) as f64 / secs,
            )
        })
        .filter(|(_, r)| *r > 0.0)
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

fn document(id: &str, contacts: usize, officials: usize) -> String {
    let contacts: Vec<Value> = (0..contacts)
        .map(|i| {
            json!({"id": format!("c-{i:05}"), "phone": format!("+9195{:08}", 10_000_000 + i),
                   "official_id": format!("off-{}", i % officials),
                   "office": "Office", "service": "Service"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
    .to_string()
}

fn simulator_config() -> SimulatorConfig {
    SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 7,
        ..SimulatorConfig::default()
    }
}

/// Originates by official (from the job id in the answer URL): start times.
fn starts_by_official(ledger: &[LedgerEntry], officials: usize) -> HashMap<usize, Vec<i64>> {
    let mut out: HashMap<usize, Vec<i64>> = HashMap::new();
    for e in ledger {
        if let LedgerEntry::Originate { url, at_ms, .. } = e
            && let Some(contact) = url.split("%2Fc-").nth(1)
            && let Ok(i) = contact[..5].parse::<usize>()
        {
            out.entry(i % officials).or_default().push(*at_ms);
        }
    }
    out
}

fn wall_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// An idle daemon at the default settings: Redis commands per second.
pub async fn bench_idle() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config()).await;
    let mut dialer = dialer_config(Quota {
        burst: 2,
        period: Duration::from_millis(100),
    });
    let defaults = sampark::config::Settings::default().dialer;
    dialer.poll_interval = defaults.poll_interval();
    // The reconciler's look-over is at most one lease apart.
    dialer.originate_lease = defaults.originate_lease();
    let (daemon, _store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = commands(&redis.url()).await;
    // BENCH_IDLE_SECS: the window (default 20 s).
    let window = Duration::from_secs(
        std::env::var("BENCH_IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
    );
    tokio::time::sleep(window).await;
    let after = commands(&redis.url()).await;
    let by_command = rates(&before, &after, window.as_secs_f64());
    println!(
        "idle daemon (16 shards, default settings): {:.2} Redis commands/s over {} s (every loop: dialer, reconciler, relay, scorer, heartbeat, data watch, campaign log, intake)",
        by_command.iter().map(|(_, r)| r).sum::<f64>(),
        window.as_secs()
    );
    let shown: Vec<String> = by_command
        .iter()
        .map(|(name, r)| format!("{name} {r:.2}"))
        .collect();
    println!("  by command (/s): {}", shown.join(", "));
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

/// BENCH_OFFICIALS officials (default 20), burst 2 and 10 dials/s each, backlogged: the share of the
/// quota each used over a window, and GCRA-bound violations.
pub async fn bench_utilisation() {
    // BENCH_OFFICIALS: how many officials (default 20).
    let officials: usize = std::env::var("BENCH_OFFICIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    const PER: usize = 150;
    let quota = Quota {
        burst: 2,
        period: Duration::from_millis(100),
    };
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config()).await;
    let mut dialer = dialer_config(quota);
    dialer.poll_interval = sampark::config::Settings::default().dialer.poll_interval();
    dialer.max_concurrent_originates = 256;
    dialer.citizen_caps = Default::default();
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    store
        .submit(&document("util", officials * PER, officials))
        .await
        .unwrap();
    // Every official has 150 contacts: 2 at once and then one per 100 ms
    // for about 15 s. Measure a 3 s window once every arrival has long been
    // decided (the first pass reads each contact once) and while all are
    // still backlogged: from 8 to 11 s.
    let started = wall_ms();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let (from, to) = (started + 8_000, started + 11_000);
    let by_official = starts_by_official(&simulator.ledger(), officials);
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    let period_ms = quota.period.as_millis() as i64;
    let mut shares = Vec::new();
    let mut violations = 0;
    for times in by_official.values() {
        let mut times = times.clone();
        times.sort_unstable();
        // Calls in the window against what the rate allows over it.
        let made = times.iter().filter(|&&t| from <= t && t < to).count();
        shares.push(made as f64 / ((to - from) / period_ms) as f64);
        // The GCRA bound over every window (simulator clock, 5 ms slack for
        // the HTTP hop between the grant and the simulator's log).
        for i in 0..times.len() {
            for j in i..times.len() {
                let window = times[j] - times[i] + 5;
                if (j - i + 1) as i64 > i64::from(quota.burst) + window / period_ms {
                    violations += 1;
                }
            }
        }
    }
    shares.sort_by(f64::total_cmp);
    println!(
        "utilisation, {} officials backlogged (burst 2, 10 dials/s, default settings): min {:.1} %, median {:.1} % of the quota; {violations} GCRA-bound violations",
        shares.len(),
        shares[0] * 100.0,
        shares[shares.len() / 2] * 100.0
    );
}

/// Jobs due at known times (deferred before the daemon starts): the lag
/// from each due time to its call, p50 and p99.
pub async fn bench_due_lag() {
    const JOBS: usize = 200;
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config()).await;
    let seeder = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap()
        .with_citizen_key(super::support::daemon::citizen_key());
    let parsed =
        sampark::domain::parse_campaign_document(&document("due", JOBS, JOBS), &|_| true).unwrap();
    seeder.put_campaign(&parsed.header).await.unwrap();
    for contact in &parsed.contacts {
        seeder
            .enqueue(&JobSpec::new(&parsed.header, contact.clone()))
            .await
            .unwrap();
    }
    // Each job due at its own time, 3 to 8 s from now, 25 ms apart.
    let start = seeder.now_ms().await.unwrap() + 3_000;
    let mut due: HashMap<String, i64> = HashMap::new();
    let mut entries = Vec::new();
    while entries.len() < JOBS {
        entries.extend(
            seeder
                .read_ready("seed", 256, Duration::from_secs(600))
                .await
                .unwrap(),
        );
    }
    for (i, entry) in entries.iter().enumerate() {
        let at = start + 25 * i as i64;
        seeder.defer(entry, at, "bench").await.unwrap();
        due.insert(entry.job.contact.to_string(), at);
    }
    let mut dialer = dialer_config(Quota {
        burst: 10,
        period: Duration::from_millis(1),
    });
    dialer.poll_interval = sampark::config::Settings::default().dialer.poll_interval();
    dialer.citizen_caps = Default::default();
    let (daemon, _store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    // The first call of each contact (a retry is due later, by its backoff).
    let mut lags: Vec<i64> = Vec::new();
    for e in simulator.ledger() {
        if let LedgerEntry::Originate { url, at_ms, .. } = e
            && let Some(contact) = url.split("%2F").nth(1).and_then(|r| r.split('&').next())
            && let Some(at) = due.remove(contact)
        {
            lags.push(at_ms - at);
        }
    }
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    lags.sort_unstable();
    let pick = |q: f64| lags[((lags.len() - 1) as f64 * q) as usize];
    println!(
        "due → originate (simulator's log), {} jobs due 25 ms apart, default settings: p50 {} ms, p99 {} ms, max {} ms",
        lags.len(),
        pick(0.5),
        pick(0.99),
        lags[lags.len() - 1]
    );
}
