//! The scale benchmark (issue 12): `cargo bench --bench scale`.
//!
//! Everything runs as it would in production, as separate processes on this
//! machine: `redis-server` (AOF on), `sampark simulate-provider`, one or
//! more `sampark serve` started from a generated config file, and
//! `sampark campaign submit`. The bench only uses the binary, its config and
//! Redis's own counters (`INFO`), so it keeps working as the internals
//! change. It measures, and writes into docs/performance.md between the
//! `scale-bench` markers (with the date, the machine and the command):
//!
//! 1. streaming submit of a generated 1,000,000-contact file: peak RSS and
//!    time (`tests/support/big_submit.rs`, the ignored test's scenario);
//! 2. intake: a pre-submitted campaign ingested by a daemon whose calling
//!    window is closed (contacts/s), and Redis `used_memory` per queued
//!    contact;
//! 3. end to end: completed 3-question calls/s against the simulator with
//!    1, 2 and 4 daemons on one Redis; Redis commands per completed call
//!    and per provider event (`INFO commandstats` deltas; events from the
//!    daemons' `sampark_webhooks_total`); the Redis-bound ceiling: the
//!    commands of a 1-daemon run, recorded with `MONITOR`, replayed
//!    against a fresh redis-server as fast as it takes them
//!    (`scale/replay.rs`), the recorded run's calls ÷ the replay's time;
//!    three pairs of a 1-daemon run and a replay right after it, and the
//!    fraction of the ceiling the 1-daemon run reached in the median
//!    pair; for comparison with earlier runs, `redis-benchmark -t set
//!    -P 1 -c 50` ops/s ÷ round trips per call, which is not a ceiling;
//! 4. daemon RSS when idle;
//! 5. webhook latency p50/p99 at a fixed 2,000 requests/s (signed status
//!    callbacks paced by an in-bench load generator), and Redis round
//!    trips per status callback (client commands counted with `MONITOR`
//!    in a further, untimed second);
//! 6. due → originate lag (contacts due at known instants through
//!    `visit_at` + `call_not_before`, against the simulator ledger's
//!    receipt times);
//! 7. per-official utilisation while backlogged (1 and 20 officials at
//!    burst 2, 10 dials/s), from the ledger, and GCRA-bound violations
//!    among the decisions (the citizens' call records, Redis's clock) and
//!    at the simulator;
//! 8. daemon RSS with 10,000 calls in flight (the simulator rings each
//!    call for 90 s: `--ring-ms`);
//! 9. end to end with 1, 2 and 4 daemons on a local Redis Cluster (three
//!    primaries, three replicas: `tests/support/redis_cluster.rs`;
//!    `redis.mode = "cluster"`, 48 shards), completed calls/s and the
//!    primaries' CPU.
//!
//! Sizes: `BENCH_SUBMIT_CONTACTS` (1,000,000), `BENCH_INTAKE_CONTACTS`
//! (200,000), `BENCH_E2E_CONTACTS` (20,000), `BENCH_WEBHOOK_RATE` (2,000),
//! `BENCH_WEBHOOK_SECS` (10), `BENCH_DUE_CONTACTS` (500),
//! `BENCH_BACKLOG_PER_OFFICIAL` (300) and `BENCH_IN_FLIGHT` (10,000);
//! `BENCH_REPLAY_WINDOW` (50): the replay's most commands outstanding.
//! `BENCH_NO_DOCS=1` prints the table without touching
//! docs/performance.md; `BENCH_ONLY=due,util` runs only the parts named
//! (submit, intake, e2e, latency, due, util, flight, cluster) and only
//! prints. `BENCH_BINARY=<path>` runs another build's `sampark`, to
//! compare two builds in one sitting.

#[allow(dead_code)]
#[path = "../tests/support/big_submit.rs"]
mod big_submit;
#[allow(dead_code)]
#[path = "../tests/support/monitor.rs"]
mod monitor;
#[path = "../tests/support/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../tests/support/redis_cluster.rs"]
mod redis_cluster;
#[allow(dead_code)]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "scale/replay.rs"]
mod replay;

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_server::{RedisServer, free_port};
use sampark::domain::{CampaignId, PhoneNumber};
use sampark::store::Store;
use sampark::store::keys::{CitizenKey, Keys};
use sampark::store::redis::RedisStore;

const ACCOUNT_SID: &str = "AC0000000000000000000000000000beef";
const AUTH_TOKEN: &str = "scale-bench-token";
const KEY_SECRET: &str = "scale-bench-citizen-key-secret-0001";
const BEGIN: &str = "<!-- scale-bench:begin -->";
const END: &str = "<!-- scale-bench:end -->";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `sampark` binary run: this build's, or `BENCH_BINARY` (another
/// build's, to compare two on the same machine in one sitting).
fn binary() -> PathBuf {
    std::env::var_os("BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sampark")))
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn sampark() -> Command {
    let mut cmd = Command::new(binary());
    for (k, _) in std::env::vars() {
        if k.starts_with("SAMPARK__") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    fn rss_kb(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// The process's CPU time so far (user + system), seconds.
    fn cpu_secs(&self) -> f64 {
        process::cpu_secs(&self.0.id().to_string())
    }
}

fn start_simulator(port: u16, log: &Path) -> Proc {
    start_simulator_with(port, log, &[])
}

/// The simulator with extra flags (`--ledger`, `--ring-ms` …).
fn start_simulator_with(port: u16, log: &Path, extra: &[&str]) -> Proc {
    let child = sampark()
        .args([
            "simulate-provider",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
            "--seed",
            "7",
        ])
        .args([
            "--answer-rate",
            "1",
            "--busy-rate",
            "0",
            "--no-answer-rate",
            "0",
        ])
        .args([
            "--failed-rate",
            "0",
            "--invalid-key-rate",
            "0",
            "--silent-rate",
            "0",
        ])
        .args(["--opt-out-rate", "0", "--hangup-rate", "0"])
        .args(["--max-concurrent", "100000", "--calls-per-second", "100000"])
        // The daemons log at `warn` too (their settings' `[log]`).
        .args(["--log-level", "warn"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the simulator starts");
    wait_for_port(port);
    Proc(child)
}

/// A daemon's settings file: the window open (or closed for the next
/// hours), limits far above what the machine can do.
fn config(redis: &str, sim_port: u16, web: u16, admin: u16, instance: &str, open: bool) -> String {
    let ranges = if open {
        "00:00-24:00".to_owned()
    } else {
        // Half an hour starting six hours from now (UTC): closed now.
        let now_h = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 3600)
            % 24;
        let h = (now_h + 6) % 24;
        format!("{h:02}:00-{h:02}:30")
    };
    format!(
        r#"[redis]
url = "{redis}"
[provider]
base_url = "http://127.0.0.1:{sim_port}"
account_sid = "{ACCOUNT_SID}"
auth_token = "{AUTH_TOKEN}"
calls_per_second = 10000
max_concurrent_calls = 256
choice_hints = true
[webhook]
listen = "127.0.0.1:{web}"
public_url = "http://127.0.0.1:{web}"
max_connections = 4096
[admin]
listen = "127.0.0.1:{admin}"
[dialer]
instance = "{instance}"
batch_size = 256
retry_backoff_secs = [1, 1]
[rate.default]
burst = 1000
per_secs = 0.001
[policy.calling_window]
zone = "UTC"
ranges = ["{ranges}"]
[dialplans]
dir = "{dialplans}"
[log]
level = "warn"
"#,
        dialplans = repo("dialplans").display()
    )
}

struct Daemon {
    proc: Proc,
    admin: u16,
    web: u16,
}

fn start_daemon(dir: &Path, redis: &str, sim_port: u16, instance: &str, open: bool) -> Daemon {
    start_daemon_with(dir, redis, sim_port, instance, open, &[])
}

/// A daemon whose settings file has `edits` (`(from, to)` replacements of
/// [`config`]'s lines) applied, e.g. another `[rate.default]`.
fn start_daemon_with(
    dir: &Path,
    redis: &str,
    sim_port: u16,
    instance: &str,
    open: bool,
    edits: &[(&str, &str)],
) -> Daemon {
    let (web, admin) = (free_port(), free_port());
    let path = dir.join(format!("{instance}.toml"));
    let mut settings = config(redis, sim_port, web, admin, instance, open);
    for (from, to) in edits {
        assert!(settings.contains(from), "no {from:?} in the settings");
        settings = settings.replace(from, to);
    }
    std::fs::write(&path, settings).unwrap();
    let child = sampark()
        .args(["serve", "--config"])
        .arg(&path)
        .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", KEY_SECRET)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{instance}.log"))).unwrap())
        .spawn()
        .expect("the daemon starts");
    let daemon = Daemon {
        proc: Proc(child),
        admin,
        web,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(admin, "/readyz").is_none_or(|r| !r.starts_with("HTTP/1.1 200")) {
        assert!(
            Instant::now() < deadline,
            "daemon {instance} not ready; see {}",
            dir.join(format!("{instance}.log")).display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// The sum of `sampark_webhooks_total` over its labels.
fn webhooks(daemon: &Daemon) -> u64 {
    http_get(daemon.admin, "/metrics")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("sampark_webhooks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A redis-server as `serve` requires it (AOF on), fsyncing once a second
/// (Redis's default `appendfsync everysec`; the test harness fsyncs every
/// write, which would measure the disk, not Redis).
async fn start_redis() -> RedisServer {
    let redis = RedisServer::start();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("everysec")
        .query_async(&mut redis_conn(&redis.url()).await)
        .await
        .unwrap();
    redis
}

async fn redis_conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn info_field(url: &str, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg(section)
        .query_async(&mut redis_conn(url).await)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Redis's CPU time so far (user + system), seconds.
async fn redis_cpu(url: &str) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(&mut redis_conn(url).await)
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("used_cpu_user:") || l.starts_with("used_cpu_sys:"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .sum()
}

/// Redis's time per contact by command since the last `CONFIG RESETSTAT`
/// (`INFO commandstats`; a script's time includes its commands'), the
/// most first: where intake's Redis time goes.
async fn print_redis_time(url: &str, contacts: usize) {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut redis_conn(url).await)
        .await
        .unwrap();
    let mut rows: Vec<(f64, f64, &str)> = info
        .lines()
        .filter_map(|l| {
            let (name, stats) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let field = |f: &str| {
                stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(f)?.strip_prefix('='))?
                    .parse::<f64>()
                    .ok()
            };
            Some((field("usec")?, field("calls")?, name))
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("Redis time per contact, by command (a script's includes its commands'):");
    for (usec, calls, name) in rows.iter().take(12) {
        println!(
            "  {:>7.2} µs  {:>7.3} calls  {name}",
            usec / contacts as f64,
            calls / contacts as f64
        );
    }
}

/// Commands Redis executed (those inside scripts included), and script calls.
async fn commands(url: &str) -> (u64, u64) {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut redis_conn(url).await)
        .await
        .unwrap();
    let (mut all, mut scripts) = (0, 0);
    for line in info.lines() {
        let Some((name, rest)) = line.split_once(":calls=") else {
            continue;
        };
        let calls: u64 = rest.split(',').next().unwrap_or("0").parse().unwrap_or(0);
        if name == "cmdstat_info" {
            continue;
        }
        all += calls;
        if matches!(name, "cmdstat_evalsha" | "cmdstat_eval" | "cmdstat_fcall") {
            scripts += calls;
        }
    }
    (all, scripts)
}

/// The addresses (`ip:port`) of the clients connected to `url` now.
async fn client_addrs(url: &str) -> HashSet<String> {
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut redis_conn(url).await)
        .await
        .unwrap();
    list.lines()
        .filter_map(|l| l.split_whitespace().find_map(|f| f.strip_prefix("addr=")))
        .map(str::to_owned)
        .collect()
}

fn write_campaign(path: &Path, id: &str, contacts: usize, officials: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        out,
        r#"{{"version": 1, "id": "{id}", "name": "scale", "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "bench", "contacts": ["#
    )
    .unwrap();
    for i in 0..contacts {
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}{{"id": "c-{i:07}", "phone": "+9197{i:08}", "language": "en", "official_id": "off-{}", "office": "Office", "service": "Service"}}"#,
            i % officials
        )
        .unwrap();
    }
    write!(out, "]}}").unwrap();
    out.flush().unwrap();
}

fn submit(file: &Path, redis: &str) {
    let out = sampark()
        .args(["campaign", "submit"])
        .arg(file)
        .args(["--redis", redis, "--dialplans"])
        .arg(repo("dialplans"))
        .output()
        .expect("submit runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_until(store: &RedisStore, id: &str, contacts: u64, finished: bool) {
    let id = CampaignId::parse(id).unwrap();
    loop {
        if let Some(s) = store.campaign_status(&id).await.unwrap()
            && s.total() == contacts
            && (!finished || s.finished() == contacts)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One figure of the table: what, the value, the target and whether met.
struct Row {
    what: String,
    value: String,
    target: &'static str,
    met: Option<bool>,
}

fn row(
    what: impl Into<String>,
    value: impl Into<String>,
    target: &'static str,
    met: Option<bool>,
) -> Row {
    Row {
        what: what.into(),
        value: value.into(),
        target,
        met,
    }
}

async fn bench_submit(rows: &mut Vec<Row>, dir: &Path) {
    let contacts = env_usize("BENCH_SUBMIT_CONTACTS", 1_000_000);
    let redis = start_redis().await;
    let path = dir.join("submit.json");
    let bytes = big_submit::write_json(&path, contacts, 500);
    let done = big_submit::submit_measured(&binary(), &path, &redis.url());
    assert_eq!(done.exit, Some(0), "{}", done.stderr);
    std::fs::remove_file(&path).ok();
    let mb = done.peak_rss as f64 / 1e6;
    println!(
        "submit: {contacts} contacts ({:.0} MB) in {:.1} s, peak RSS {mb:.1} MB",
        bytes as f64 / 1e6,
        done.elapsed.as_secs_f64()
    );
    rows.push(row(
        format!(
            "`campaign submit` of {contacts} contacts ({:.0} MB of JSON): peak RSS",
            bytes as f64 / 1e6
        ),
        format!("{mb:.1} MB"),
        "< 100 MB",
        Some(mb < 100.0),
    ));
    rows.push(row(
        "the same: time (two passes over the file, then queued)",
        format!(
            "{:.1} s ({:.0} contacts/s)",
            done.elapsed.as_secs_f64(),
            contacts as f64 / done.elapsed.as_secs_f64()
        ),
        "—",
        None,
    ));
}

async fn bench_intake(rows: &mut Vec<Row>, dir: &Path) {
    let contacts = env_usize("BENCH_INTAKE_CONTACTS", 200_000);
    let redis = start_redis().await;
    let url = redis.url();
    let sim_port = free_port();
    let _sim = start_simulator(sim_port, &dir.join("sim-intake.log"));
    let file = dir.join("intake.json");
    write_campaign(&file, "intake", contacts, 500);
    let before = info_field(&url, "memory", "used_memory").await;
    submit(&file, &url);
    std::fs::remove_file(&file).ok();
    let submitted = info_field(&url, "memory", "used_memory").await;
    let store = RedisStore::connect(&url, "sampark", 16).await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut redis_conn(&url).await)
        .await
        .unwrap();
    let redis_before = redis_cpu(&url).await;
    let started = Instant::now();
    let daemon = start_daemon(dir, &url, sim_port, "intake", false);
    wait_until(&store, "intake", contacts as u64, false).await;
    let secs = started.elapsed().as_secs_f64();
    let redis_busy = (redis_cpu(&url).await - redis_before) / secs;
    let daemon_busy = daemon.proc.cpu_secs() / secs;
    print_redis_time(&url, contacts).await;
    // Wait for the stream's entries to be trimmed, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = info_field(&url, "memory", "used_memory").await;
    drop(daemon);
    let rate = contacts as f64 / secs;
    let per = after.saturating_sub(before) as f64 / contacts as f64;
    println!(
        "intake: {contacts} in {secs:.1} s = {rate:.0}/s (Redis's CPU {:.0} %, the daemon's {:.0} %); used_memory {before} → {submitted} (submitted) → {after} (queued): {per:.0} B/contact",
        redis_busy * 100.0,
        daemon_busy * 100.0
    );
    rows.push(row(
        format!("intake of a pre-submitted {contacts}-contact campaign, calling window closed (from `serve` starting)"),
        format!(
            "{rate:.0} contacts/s ({secs:.1} s; Redis's CPU {:.0} %, the daemon's {:.0} %, of one core)",
            redis_busy * 100.0,
            daemon_busy * 100.0
        ),
        "≥ 50,000 / s",
        Some(rate >= 50_000.0),
    ));
    rows.push(row(
        "Redis memory per queued contact (`used_memory` after intake − before submit, ÷ contacts; each contact parked, window closed, with its visit remembered for inbound calls as `inbound.enabled` does by default: `tests/scale_memory.rs` has the parts, 274 parked + 61 the visit at 50,000)",
        format!("{per:.0} bytes"),
        "≤ 300 bytes",
        Some(per <= 300.0),
    ));
}

/// What one end-to-end run measured, per completed call where it says.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    calls_per_sec: f64,
    /// Every command Redis executed, those inside scripts included.
    commands: f64,
    scripts: f64,
    /// Webhooks and status callbacks the daemons answered.
    events: f64,
    /// Redis's CPU time over the run's wall time.
    redis_busy: f64,
    /// The daemons' CPU time (all of them) and the simulator's, per call.
    daemon_cpu_ms: f64,
    simulator_cpu_ms: f64,
    /// With `MONITOR` on: commands sent by clients (round trips), the
    /// bench's own polling left out.
    round_trips: Option<f64>,
}

/// One end-to-end run with `instances` daemons; with `record`, every
/// command clients sent Redis, recorded with `MONITOR` from Redis's start
/// (the part from the campaign's submission to its last record counted).
async fn e2e(
    dir: &Path,
    instances: usize,
    contacts: usize,
    record: bool,
    idle_row: Option<&mut Vec<Row>>,
) -> (Run, Option<replay::Recording>) {
    let redis = start_redis().await;
    let url = redis.url();
    let mut recorder = record.then(|| replay::Recorder::start(redis.port));
    let sim_port = free_port();
    let tag = format!("{instances}{}", if record { "-monitor" } else { "" });
    let sim = start_simulator(sim_port, &dir.join(format!("sim-{tag}.log")));
    let daemons: Vec<Daemon> = (0..instances)
        .map(|i| start_daemon(dir, &url, sim_port, &format!("e2e-{tag}-{i}"), true))
        .collect();
    let cpus = |daemons: &[Daemon]| {
        (
            daemons.iter().map(|d| d.proc.cpu_secs()).sum::<f64>(),
            sim.cpu_secs(),
        )
    };
    if let Some(rows) = idle_row {
        std::thread::sleep(Duration::from_secs(3));
        let idle = daemons[0].proc.rss_kb("VmRSS:") as f64 / 1e3;
        println!("daemon RSS idle: {idle:.1} MB");
        rows.push(row(
            "daemon RSS, idle (started, nothing queued)",
            format!("{idle:.1} MB"),
            "< 50 MB",
            Some(idle < 50.0),
        ));
    }
    let id = format!("e2e-{instances}");
    let file = dir.join(format!("{id}.json"));
    write_campaign(&file, &id, contacts, 200);
    // The bench's own connections (its polling of the campaign's status)
    // are not the run's: the recording leaves them out.
    let others = client_addrs(&url).await;
    let store = Arc::new(RedisStore::connect(&url, "sampark", 16).await.unwrap());
    let campaign = CampaignId::parse(&id).unwrap();
    assert!(store.campaign_status(&campaign).await.unwrap().is_none());
    let polling: HashSet<String> = client_addrs(&url)
        .await
        .difference(&others)
        .cloned()
        .collect();
    let (cmds_before, scripts_before) = commands(&url).await;
    let cpu_before = redis_cpu(&url).await;
    let events_before: u64 = daemons.iter().map(webhooks).sum();
    let (daemons_before, sim_before) = cpus(&daemons);
    if let Some(recorder) = recorder.as_mut() {
        recorder.begin();
    }
    let started = Instant::now();
    submit(&file, &url);
    wait_until(&store, &id, contacts as u64, true).await;
    let secs = started.elapsed().as_secs_f64();
    let recording = recorder.map(|r| r.stop(&polling));
    let (cmds_after, scripts_after) = commands(&url).await;
    let cpu = redis_cpu(&url).await - cpu_before;
    let (daemons_after, sim_after) = cpus(&daemons);
    let events: u64 = daemons.iter().map(webhooks).sum::<u64>() - events_before;
    let peak = daemons
        .iter()
        .map(|d| d.proc.rss_kb("VmHWM:"))
        .max()
        .unwrap_or(0) as f64
        / 1e3;
    let n = contacts as f64;
    let run = Run {
        calls_per_sec: n / secs,
        commands: (cmds_after - cmds_before) as f64 / n,
        scripts: (scripts_after - scripts_before) as f64 / n,
        events: events as f64 / n,
        redis_busy: cpu / secs,
        daemon_cpu_ms: (daemons_after - daemons_before) * 1e3 / n,
        simulator_cpu_ms: (sim_after - sim_before) * 1e3 / n,
        round_trips: recording.as_ref().map(|r| r.counted.len() as f64 / n),
    };
    println!(
        "e2e ×{instances}{}: {contacts} completed in {secs:.1} s; {run:?}; daemon peak RSS {peak:.1} MB",
        if record { " (MONITOR on)" } else { "" }
    );
    drop(daemons);
    (run, recording)
}

/// The recorded run's round trips per call by command (`EVALSHA` by script),
/// the most first: where the count of the table's row comes from.
fn print_round_trips(recording: &replay::Recording, calls: usize) {
    let names = monitor::script_names();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for command in &recording.counted {
        let word = |i: usize| {
            command
                .get(i)
                .map(|w| String::from_utf8_lossy(w).to_lowercase())
        };
        let name = match word(0).unwrap_or_default().as_str() {
            "evalsha" => {
                let sha = word(1).unwrap_or_default();
                format!("evalsha {}", names.get(&sha).map_or("?", String::as_str))
            }
            other => other.to_owned(),
        };
        *counts.entry(name).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("round trips per call, by command:");
    for (name, n) in rows.iter().take(25) {
        println!("  {:>6.3}  {name}", *n as f64 / calls as f64);
    }
}

/// What Redis alone did with a recorded run's commands.
struct Ceiling {
    calls_per_sec: f64,
    /// Redis's CPU time over the replay's wall time.
    redis_busy: f64,
    /// Commands executed per call, those inside scripts included: in the
    /// replay, and in the recorded run.
    replayed_commands: f64,
    recorded_commands: f64,
    errors: u64,
    window: usize,
}

/// The Redis-bound ceiling: `recording` (a run of `calls` completed calls)
/// replayed against a fresh redis-server (AOF on, as the run's), its
/// set-up first and untimed, then its counted part as fast as Redis takes
/// it (`benches/scale/replay.rs`).
async fn redis_bound(recording: &replay::Recording, calls: usize) -> Ceiling {
    let window = env_usize("BENCH_REPLAY_WINDOW", 50);
    let redis = start_redis().await;
    let url = redis.url();
    let setup = replay::replay(redis.port, &recording.setup, window);
    let (cmds_before, _) = commands(&url).await;
    let cpu_before = redis_cpu(&url).await;
    let counted = replay::replay(redis.port, &recording.counted, window);
    let cpu = redis_cpu(&url).await - cpu_before;
    let (cmds_after, _) = commands(&url).await;
    let secs = counted.elapsed.as_secs_f64();
    let n = calls as f64;
    let ceiling = Ceiling {
        calls_per_sec: n / secs,
        redis_busy: cpu / secs,
        replayed_commands: (cmds_after - cmds_before) as f64 / n,
        recorded_commands: (recording.counted.len() as u64 + recording.in_scripts) as f64 / n,
        errors: counted.errors,
        window,
    };
    println!(
        "replay: set-up {} commands ({} errors) in {:.2} s; the run's {} commands in {secs:.2} s = {:.0} calls/s, Redis CPU {:.0} %, {:.1} commands executed per call (recorded {:.1}), {} errors",
        recording.setup.len(),
        setup.errors,
        setup.elapsed.as_secs_f64(),
        recording.counted.len(),
        ceiling.calls_per_sec,
        ceiling.redis_busy * 100.0,
        ceiling.replayed_commands,
        ceiling.recorded_commands,
        ceiling.errors,
    );
    // The error replies by command, a script by its name.
    let names = monitor::script_names();
    let name = |command: &str| match command.strip_prefix("evalsha ") {
        Some(sha) => names
            .iter()
            .find(|(full, _)| full.starts_with(sha))
            .map_or(command.to_owned(), |(_, name)| format!("evalsha {name}")),
        None => command.to_owned(),
    };
    for (part, replayed) in [("set-up", &setup), ("counted", &counted)] {
        for ((command, message), n) in &replayed.error_kinds {
            println!("  {part}: {n} × {}: {message}", name(command));
        }
    }
    ceiling
}

fn redis_benchmark(port: u16) -> f64 {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-t", "set", "-P", "1", "-c", "50", "-n", "200000", "-q"])
        .output()
        .expect("redis-benchmark runs (Debian's redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    // "SET: 81234.00 requests per second, p50=0.3 msec" (after \r progress).
    text.rsplit('\r')
        .next()
        .unwrap_or_default()
        .split("SET: ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redis-benchmark output: {text}"))
}

async fn bench_e2e(rows: &mut Vec<Row>, dir: &Path) {
    let contacts = env_usize("BENCH_E2E_CONTACTS", 20_000);
    // Round trips are counted, and the commands recorded, in a run of its
    // own: MONITOR slows Redis.
    let recorded = contacts.min(5_000);
    let (counted, recording) = e2e(dir, 1, recorded, true, None).await;
    let recording = recording.expect("recorded");
    print_round_trips(&recording, recorded);
    let trips = counted.round_trips.unwrap_or(f64::NAN);
    // Three pairs, each a 1-daemon run and, right after it, a replay of
    // the recording on a fresh Redis; the pair whose fraction is the
    // median is reported. Another guest's burst on a shared host moved a
    // single replay's result by half: a pair's two halves are minutes
    // apart at most, so such a burst hits both or lasts less than either.
    let mut pairs = Vec::new();
    for i in 0..3 {
        let idle = (i == 0).then_some(&mut *rows);
        let (run, _) = e2e(dir, 1, contacts, false, idle).await;
        let ceiling = redis_bound(&recording, recorded).await;
        println!(
            "pair {}: {:.0} calls/s against a ceiling of {:.0}: {:.0} %",
            i + 1,
            run.calls_per_sec,
            ceiling.calls_per_sec,
            run.calls_per_sec / ceiling.calls_per_sec * 100.0
        );
        pairs.push((run, ceiling));
    }
    pairs.sort_by(|a, b| {
        (a.0.calls_per_sec / a.1.calls_per_sec).total_cmp(&(b.0.calls_per_sec / b.1.calls_per_sec))
    });
    let each = pairs
        .iter()
        .map(|(run, ceiling)| format!("{:.0}/{:.0}", run.calls_per_sec, ceiling.calls_per_sec))
        .collect::<Vec<_>>()
        .join(", ");
    let (one, ceiling) = pairs.swap_remove(1);
    let mut runs = vec![(1, one)];
    for instances in [2, 4] {
        runs.push((
            instances,
            e2e(dir, instances, contacts, false, None).await.0,
        ));
    }
    let fraction = one.calls_per_sec / ceiling.calls_per_sec;
    let redis = start_redis().await;
    let ops = redis_benchmark(redis.port);
    let set_ceiling = ops / trips;
    println!(
        "ceiling {:.0} calls/s, reached {:.1} %; redis-benchmark SET -P 1 -c 50: {ops:.0} ops/s ÷ {trips:.1} = {set_ceiling:.0} calls/s",
        ceiling.calls_per_sec,
        fraction * 100.0
    );
    rows.push(row(
        format!(
            "end to end, 1 daemon: completed 3-question calls ({contacts} contacts, all answered)"
        ),
        format!("{:.0} calls/s", one.calls_per_sec),
        "—",
        None,
    ));
    rows.push(row(
        "Redis work per completed call (`INFO commandstats` delta: intake, dialling, webhooks, relay and the idle polling of the run)",
        format!(
            "{trips:.1} round trips (client commands, counted with `MONITOR`, the bench's polling left out), {:.1} of them script calls; {:.0} commands executed counting those inside scripts",
            one.scripts, one.commands
        ),
        "—",
        None,
    ));
    rows.push(row(
        format!(
            "Redis-bound ceiling: the commands of a {recorded}-call 1-daemon run (recorded with `MONITOR`, in Redis's order) replayed against a fresh redis-server on one connection, at most {} outstanding; three pairs of a 1-daemon run and a replay right after it ({each} calls/s), the pair of the median fraction shown; Redis's CPU {:.0} % during that replay; {:.0} commands executed per call counting those inside scripts (the recorded run {:.0}), {} error replies (`benches/scale/replay.rs`)",
            ceiling.window,
            ceiling.redis_busy * 100.0,
            ceiling.replayed_commands,
            ceiling.recorded_commands,
            ceiling.errors
        ),
        format!(
            "{:.0} calls/s; 1 daemon reached {:.1} % (Redis's CPU in that run {:.0} %)",
            ceiling.calls_per_sec,
            fraction * 100.0,
            one.redis_busy * 100.0
        ),
        "≥ 50 %",
        Some(fraction >= 0.5),
    ));
    rows.push(row(
        format!("not a ceiling, for comparison with earlier runs: `redis-benchmark -t set -P 1 -c 50` = {ops:.0} ops/s ÷ {trips:.1} round trips per call (a `SET` costs Redis far less than sampark's scripts)"),
        format!("{set_ceiling:.0} calls/s; 1 daemon {:.0} % of it", one.calls_per_sec / set_ceiling * 100.0),
        "—",
        None,
    ));
    rows.push(row(
        "Redis CPU during the 1-daemon run (user + system ÷ wall time; 100 % is Redis's own ceiling)",
        format!("{:.0} %", one.redis_busy * 100.0),
        "—",
        None,
    ));
    let per_event = trips / one.events;
    rows.push(row(
        format!("Redis round trips per provider event: every round trip of the run ÷ {:.1} webhooks and status callbacks per call (`sampark_webhooks_total`); dialling, intake and relay included, so an upper bound", one.events),
        format!("{per_event:.2}"),
        "≤ 1.2",
        Some(per_event <= 1.2),
    ));
    for (instances, run) in &runs {
        rows.push(row(
            format!("end to end with {instances} daemon(s) on one Redis (CPU per call: Redis's, the daemons' together, the simulator's)"),
            format!(
                "{:.0} calls/s (Redis CPU {:.0} %; per call {:.2} ms, {:.2} ms, {:.2} ms)",
                run.calls_per_sec,
                run.redis_busy * 100.0,
                run.redis_busy / run.calls_per_sec * 1e3,
                run.daemon_cpu_ms,
                run.simulator_cpu_ms
            ),
            "—",
            None,
        ));
    }
}

/// Shards on the cluster: more than 16 so the jobs spread evenly over the
/// three primaries (docs/architecture.md, "One slot per step").
const CLUSTER_SHARDS: u16 = 48;

/// Redis CPU (user + system, s) summed over the cluster's primaries.
async fn cluster_cpu(cluster: &redis_cluster::RedisCluster) -> f64 {
    let mut total = 0.0;
    for port in cluster.primaries() {
        total += redis_cpu(&format!("redis://127.0.0.1:{port}/")).await;
    }
    total
}

/// One end-to-end run with `instances` daemons on a local Redis Cluster:
/// completed calls/s and the primaries' CPU over the run's wall time.
async fn cluster_e2e(dir: &Path, instances: usize, contacts: usize) -> (f64, f64) {
    let cluster = redis_cluster::RedisCluster::start();
    let nodes: Vec<String> = cluster.urls().iter().map(|u| format!("{u:?}")).collect();
    let redis_lines = format!(
        "mode = \"cluster\"\ncluster_nodes = [{}]\nshards = {CLUSTER_SHARDS}",
        nodes.join(", ")
    );
    let sim_port = free_port();
    let _sim = start_simulator(sim_port, &dir.join(format!("sim-cluster-{instances}.log")));
    let daemons: Vec<Daemon> = (0..instances)
        .map(|i| {
            start_daemon_with(
                dir,
                "cluster",
                sim_port,
                &format!("cluster-{instances}-{i}"),
                true,
                &[("url = \"cluster\"", &redis_lines)],
            )
        })
        .collect();
    let store = RedisStore::connect_to(
        &cluster.target(),
        "sampark",
        CLUSTER_SHARDS,
        sampark::store::redis::Timeouts::default(),
    )
    .await
    .unwrap();
    let id = format!("cluster-{instances}");
    let file = dir.join(format!("{id}.json"));
    write_campaign(&file, &id, contacts, 200);
    let doc = std::fs::read_to_string(&file).unwrap();
    let cpu_before = cluster_cpu(&cluster).await;
    let started = Instant::now();
    store.submit(&doc).await.unwrap();
    wait_until(&store, &id, contacts as u64, true).await;
    let secs = started.elapsed().as_secs_f64();
    let busy = (cluster_cpu(&cluster).await - cpu_before) / secs;
    let rate = contacts as f64 / secs;
    println!(
        "cluster e2e ×{instances}: {contacts} completed in {secs:.1} s: {rate:.0} calls/s; primaries' CPU {:.0} %",
        busy * 100.0
    );
    drop(daemons);
    (rate, busy)
}

async fn bench_cluster(rows: &mut Vec<Row>, dir: &Path) {
    let contacts = env_usize("BENCH_E2E_CONTACTS", 20_000);
    for instances in [1, 2, 4] {
        let (rate, busy) = cluster_e2e(dir, instances, contacts).await;
        rows.push(row(
            format!(
                "end to end with {instances} daemon(s) on a local Redis Cluster (3 primaries + 3 replicas, {CLUSTER_SHARDS} shards)"
            ),
            format!(
                "{rate:.0} calls/s (the primaries' CPU together {:.0} %)",
                busy * 100.0
            ),
            "—",
            None,
        ));
    }
}

/// One keep-alive HTTP/1.1 connection posting signed status callbacks.
async fn post_loop(
    port: u16,
    mut jobs: tokio::sync::mpsc::Receiver<(Instant, Vec<u8>)>,
) -> (Vec<Duration>, usize) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut conn = BufReader::new(stream);
    let (mut latencies, mut not_ok) = (Vec::new(), 0);
    while let Some((due, request)) = jobs.recv().await {
        conn.get_mut().write_all(&request).await.unwrap();
        let mut line = String::new();
        conn.read_line(&mut line).await.unwrap();
        if !line.starts_with("HTTP/1.1 2") {
            not_ok += 1;
        }
        let mut length = 0usize;
        loop {
            line.clear();
            conn.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        conn.read_exact(&mut body).await.unwrap();
        latencies.push(due.elapsed());
    }
    (latencies, not_ok)
}

/// `requests` sent at `rate` a second, in order, over 32 keep-alive
/// connections: each request's latency (from its scheduled time, so a
/// stall is not hidden by the requests it delays) and how many answers
/// were not 2xx.
async fn paced(port: u16, requests: Vec<Vec<u8>>, rate: usize) -> (Vec<Duration>, usize) {
    let mut senders = Vec::new();
    let mut loops = Vec::new();
    for _ in 0..32 {
        let (tx, rx) = tokio::sync::mpsc::channel(requests.len().max(1));
        senders.push(tx);
        loops.push(tokio::spawn(post_loop(port, rx)));
    }
    // Paced from a thread of its own, which sleeps to each request's time
    // (a tokio timer would wake up to a millisecond late, and that delay
    // would be counted against the daemon).
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    tokio::task::spawn_blocking(move || {
        let start = Instant::now() + Duration::from_millis(100);
        for (i, request) in requests.into_iter().enumerate() {
            let due = start + period * i as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            senders[i % senders.len()]
                .blocking_send((due, request))
                .unwrap();
        }
    })
    .await
    .unwrap();
    let mut latencies = Vec::new();
    let mut not_ok = 0;
    for l in loops {
        let (mut l, bad) = l.await.unwrap();
        latencies.append(&mut l);
        not_ok += bad;
    }
    (latencies, not_ok)
}

/// Webhook latency at a fixed rate: Twilio-signed status callbacks
/// (`ringing`) for calls of a job that does not exist (`paced`). Then a
/// second, one-second run at the same rate with `MONITOR` on, apart from
/// the timed one (`MONITOR` slows Redis down): the round trips the daemon
/// made per callback.
async fn bench_latency(rows: &mut Vec<Row>, dir: &Path) {
    let rate = env_usize("BENCH_WEBHOOK_RATE", 2_000);
    let secs = env_usize("BENCH_WEBHOOK_SECS", 10);
    let redis = start_redis().await;
    let url = redis.url();
    let sim_port = free_port();
    let _sim = start_simulator(sim_port, &dir.join("sim-latency.log"));
    let daemon = start_daemon(dir, &url, sim_port, "latency", true);
    let port = daemon.web;
    let total = rate * secs;
    let path = "/twilio/status?job=bench%2Fnobody&shard=0&attempt=1";
    let public = format!("http://127.0.0.1:{port}{path}");
    let request = |i: usize| {
        let params = vec![
            ("CallSid".to_owned(), format!("CA{i:032}")),
            ("CallStatus".to_owned(), "ringing".to_owned()),
        ];
        let signature = sampark::provider::twilio::signature::sign(AUTH_TOKEN, &public, &params);
        let body = format!("CallSid={}&CallStatus=ringing", params[0].1);
        format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let (cmds_before, _) = commands(&url).await;
    let (mut latencies, not_ok) = paced(port, (0..total).map(request).collect(), rate).await;
    let (cmds_after, _) = commands(&url).await;
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let (p50, p99) = (pct(0.50), pct(0.99));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let executed = (cmds_after - cmds_before) as f64 / total as f64;
    // The counted run: new call SIDs, one second at the same rate.
    let monitor = monitor::Monitor::start(redis.port, None);
    let (_, counted_not_ok) = paced(port, (total..total + rate).map(request).collect(), rate).await;
    let trips = monitor.stop().values().sum::<u64>() as f64 / rate as f64;
    println!(
        "webhooks at {rate}/s for {secs} s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {not_ok} not 2xx; {executed:.2} Redis commands executed per callback (inside scripts included); {trips:.2} round trips per callback with MONITOR on ({counted_not_ok} not 2xx)",
        ms(p50),
        ms(p99),
        ms(*latencies.last().unwrap())
    );
    rows.push(row(
        format!("webhook latency at a fixed {rate} requests/s for {secs} s (signed `ringing` status callbacks for a job that does not exist, 32 keep-alive connections, from each request's scheduled time; {not_ok} not 2xx)"),
        format!("p50 {:.2} ms, p99 {:.2} ms", ms(p50), ms(p99)),
        "p99 < 5 ms",
        Some(ms(p99) < 5.0),
    ));
    rows.push(row(
        format!("Redis round trips per status callback: client commands counted with `MONITOR` in a further 1 s at {rate}/s, the daemon's idle polling included ({executed:.2} commands executed per callback in the timed run, those inside scripts included)"),
        format!("{trips:.2}"),
        "≤ 1.2",
        Some(trips <= 1.2),
    ));
    drop(daemon);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
fn rfc3339(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = sampark::domain::calendar::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// The simulator ledger's originates: (contact index, receipt time in ms)
/// for jobs of campaign `campaign` (contact ids `c-NNNNNNN`).
fn originates(ledger: &Path, campaign: &str) -> Vec<(usize, i64)> {
    let text = std::fs::read_to_string(ledger).unwrap_or_default();
    let needle = format!("job={campaign}/c-");
    text.lines()
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            if v["event"] != "originate" {
                return None;
            }
            let url = v["url"].as_str()?.replace("%2F", "/").replace("%2f", "/");
            let at = url.find(&needle)? + needle.len();
            let index = url[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()?;
            Some((index, v["at_ms"].as_i64()?))
        })
        .collect()
}

/// A campaign document whose contacts carry `extra(i)` (more JSON fields,
/// each with a leading comma) and the header `header` (likewise).
fn write_campaign_with(
    path: &Path,
    id: &str,
    contacts: usize,
    official: impl Fn(usize) -> usize,
    header: &str,
    extra: impl Fn(usize) -> String,
) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    write!(
        out,
        r#"{{"version": 1, "id": "{id}", "name": "scale", "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "bench"{header}, "contacts": ["#
    )
    .unwrap();
    for i in 0..contacts {
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}{{"id": "c-{i:07}", "phone": "+9198{i:08}", "language": "en", "official_id": "off-{}", "office": "Office", "service": "Service"{}}}"#,
            official(i),
            extra(i)
        )
        .unwrap();
    }
    write!(out, "]}}").unwrap();
    out.flush().unwrap();
}

/// Due → originate lag: contacts whose `visit_at` + `call_not_before`
/// falls at a known instant (one every 20 ms, each of its own official,
/// so no quota holds them), against the simulator's receipt of each
/// originate (its ledger's `at_ms`, same clock).
async fn bench_due_lag(rows: &mut Vec<Row>, dir: &Path) {
    let contacts = env_usize("BENCH_DUE_CONTACTS", 500);
    let redis = start_redis().await;
    let url = redis.url();
    let sim_port = free_port();
    let ledger = dir.join("due-ledger.jsonl");
    let _sim = start_simulator_with(
        sim_port,
        &dir.join("sim-due.log"),
        &["--ledger", ledger.to_str().unwrap()],
    );
    let daemon = start_daemon(dir, &url, sim_port, "due", true);
    let first_due = now_ms() + 8_000;
    let due = |i: usize| first_due + 20 * i as i64;
    let file = dir.join("due.json");
    write_campaign_with(
        &file,
        "due",
        contacts,
        |i| i,
        r#", "call_not_before": "60s", "call_not_after": "1d""#,
        |i| format!(r#", "visit_at": "{}""#, rfc3339(due(i) - 60_000)),
    );
    submit(&file, &url);
    let store = RedisStore::connect(&url, "sampark", 16).await.unwrap();
    wait_until(&store, "due", contacts as u64, true).await;
    drop(daemon);
    let mut lags: Vec<i64> = originates(&ledger, "due")
        .into_iter()
        .map(|(i, at)| at - due(i))
        .collect();
    assert_eq!(lags.len(), contacts, "one originate per contact");
    lags.sort_unstable();
    let early = lags.iter().filter(|&&l| l < 0).count();
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
    let (p50, p99, max) = (pct(0.5), pct(0.99), *lags.last().unwrap());
    println!("due → originate lag: p50 {p50} ms, p99 {p99} ms, max {max} ms, {early} early");
    rows.push(row(
        format!("due → originate lag ({contacts} contacts due one every 20 ms through `visit_at` + `call_not_before`, to the simulator's receipt of the originate; {early} dialled early)"),
        format!("p50 {p50} ms, p99 {p99} ms, max {max} ms"),
        "p99 < 50 ms",
        Some(p99 < 50 && early == 0),
    ));
}

/// Per-official utilisation while backlogged: `officials` officials with
/// burst 2 and 10 dials/s, `per_official` contacts each queued before the
/// daemon starts; over 20 s from each official's first originate, the
/// originates the simulator received against the most the GCRA allows
/// (burst − 1 + 10/s × 20 s), and GCRA-bound violations: originates i and
/// i + burst of one official less than 100 ms apart.
async fn utilisation(dir: &Path, officials: usize, per_official: usize) -> Utilisation {
    const BURST: usize = 2;
    const RATE: f64 = 10.0;
    const SECS: i64 = 20;
    let redis = start_redis().await;
    let url = redis.url();
    let sim_port = free_port();
    let tag = format!("util-{officials}");
    let ledger = dir.join(format!("{tag}-ledger.jsonl"));
    let _sim = start_simulator_with(
        sim_port,
        &dir.join(format!("sim-{tag}.log")),
        &["--ledger", ledger.to_str().unwrap()],
    );
    let file = dir.join(format!("{tag}.json"));
    write_campaign_with(
        &file,
        &tag,
        officials * per_official,
        |i| i % officials,
        "",
        |_| String::new(),
    );
    submit(&file, &url);
    let daemon = start_daemon_with(
        dir,
        &url,
        sim_port,
        &tag,
        true,
        &[(
            "burst = 1000\nper_secs = 0.001",
            "burst = 2\nper_secs = 0.1",
        )],
    );
    // Every official's window is over once the last first originate is
    // 20 s old; they start within the intake's first seconds.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut by_official: Vec<Vec<i64>>;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        by_official = vec![Vec::new(); officials];
        for (i, at) in originates(&ledger, &tag) {
            by_official[i % officials].push(at);
        }
        let latest_first = by_official.iter().map(|t| t.iter().min().copied());
        let ready = latest_first
            .clone()
            .all(|f| f.is_some_and(|f| now_ms() - f > SECS * 1000 + 500));
        if ready || Instant::now() > deadline {
            break;
        }
    }
    drop(daemon);
    let period_ms = (1000.0 / RATE) as i64;
    let most = (BURST - 1) as f64 + RATE * SECS as f64;
    let mut decided = decisions(&url, officials * per_official, officials).await;
    // Every originate the simulator received was decided first: a record
    // missing would make the count below pass for want of data.
    let (records, received) = (
        decided.iter().map(Vec::len).sum::<usize>(),
        by_official.iter().map(Vec::len).sum::<usize>(),
    );
    assert!(
        records >= received,
        "{records} decisions recorded, {received} originates received"
    );
    let decided = closer_than(&mut decided, BURST, period_ms);
    let strict = closer_than(&mut by_official, BURST, period_ms);
    let beyond_jitter = closer_than(&mut by_official, BURST, period_ms - 10);
    let mut utils = Vec::new();
    for times in &by_official {
        let Some(&first) = times.first() else {
            utils.push(0.0);
            continue;
        };
        let n = times.iter().filter(|&&t| t < first + SECS * 1000).count();
        utils.push(n as f64 / most);
    }
    let min = utils.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = utils.iter().sum::<f64>() / utils.len() as f64;
    println!(
        "utilisation, {officials} official(s): min {:.1} %, mean {:.1} %; {decided} GCRA violations in {records} decisions; at the simulator {strict} ({beyond_jitter} by more than 10 ms)",
        min * 100.0,
        mean * 100.0
    );
    Utilisation {
        min,
        mean,
        decided,
        strict,
        beyond_jitter,
    }
}

/// Each official's dial decisions (ms, Redis's clock inside
/// `authorize.lua`), from the citizens' call records (`citizen_calls`,
/// kept for the per-citizen caps): every contact of the run has a number of
/// its own, `write_campaign_with`'s.
async fn decisions(url: &str, contacts: usize, officials: usize) -> Vec<Vec<i64>> {
    let keys = Keys::new("sampark").with_citizen_key(CitizenKey::new(KEY_SECRET).unwrap());
    let mut conn = redis_conn(url).await;
    let mut by_official = vec![Vec::new(); officials];
    for from in (0..contacts).step_by(1000) {
        let range = from..(from + 1000).min(contacts);
        let mut pipe = redis::pipe();
        for i in range.clone() {
            let phone = PhoneNumber::parse(&format!("+9198{i:08}")).unwrap();
            pipe.cmd("ZRANGE")
                .arg(keys.citizen_calls(&keys.citizen_tag(&phone)))
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES");
        }
        let replies: Vec<Vec<(String, f64)>> = pipe.query_async(&mut conn).await.unwrap();
        for (i, calls) in range.zip(replies) {
            by_official[i % officials].extend(calls.into_iter().map(|(_, ms)| ms as i64));
        }
    }
    by_official
}

/// Pairs of one official's times `burst` apart (i and i + burst) closer
/// than `period_ms`: what the GCRA forbids.
fn closer_than(times: &mut [Vec<i64>], burst: usize, period_ms: i64) -> usize {
    times
        .iter_mut()
        .map(|times| {
            times.sort_unstable();
            times
                .windows(burst + 1)
                .filter(|w| w[burst] - w[0] < period_ms)
                .count()
        })
        .sum()
}

struct Utilisation {
    min: f64,
    mean: f64,
    /// Violations among the decisions themselves (Redis's clock).
    decided: usize,
    /// At the simulator's receipt, HTTP jitter included.
    strict: usize,
    beyond_jitter: usize,
}

async fn bench_utilisation(rows: &mut Vec<Row>, dir: &Path) {
    let per_official = env_usize("BENCH_BACKLOG_PER_OFFICIAL", 300);
    for officials in [1, 20] {
        let u = utilisation(dir, officials, per_official).await;
        rows.push(row(
            format!("per-official utilisation while backlogged: {officials} official(s), burst 2 and 10 dials/s, {per_official} contacts each queued; originates the simulator received in 20 s from each official's first ÷ the GCRA's most (201)"),
            format!("{:.1} % (lowest official; mean {:.1} %)", u.min * 100.0, u.mean * 100.0),
            "≥ 99 %",
            Some(u.min >= 0.99),
        ));
        rows.push(row(
            format!("GCRA-bound violations in that run ({officials} official(s)): dials i and i + 2 of one official authorised under 100 ms apart (Redis's clock in `authorize.lua`, read from the citizens' call records); at the simulator's receipt, HTTP jitter included"),
            format!("{} (at the simulator: {}, {} by more than 10 ms)", u.decided, u.strict, u.beyond_jitter),
            "0",
            Some(u.decided == 0),
        ));
    }
}

/// Daemon RSS with calls in flight: the simulator rings every call for
/// 90 s (`--ring-ms`), so each originated call stays open while the
/// daemon dials the rest; measured once the simulator has received
/// `BENCH_IN_FLIGHT` originates.
async fn bench_in_flight(rows: &mut Vec<Row>, dir: &Path) {
    let calls = env_usize("BENCH_IN_FLIGHT", 10_000);
    let redis = start_redis().await;
    let url = redis.url();
    let sim_port = free_port();
    let ledger = dir.join("flight-ledger.jsonl");
    let _sim = start_simulator_with(
        sim_port,
        &dir.join("sim-flight.log"),
        &["--ledger", ledger.to_str().unwrap(), "--ring-ms", "90000"],
    );
    let daemon = start_daemon(dir, &url, sim_port, "flight", true);
    let file = dir.join("flight.json");
    write_campaign_with(&file, "flight", calls, |i| i % 500, "", |_| String::new());
    submit(&file, &url);
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&ledger).unwrap_or_default();
        let n = text.matches(r#""event":"originate""#).count();
        if n >= calls {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(80),
            "only {n} of {calls} calls originated within 80 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rss = daemon.proc.rss_kb("VmRSS:") as f64 / 1e3;
    let peak = daemon.proc.rss_kb("VmHWM:") as f64 / 1e3;
    println!("daemon RSS with {calls} calls in flight: {rss:.1} MB (peak {peak:.1} MB)");
    rows.push(row(
        format!("daemon RSS with {calls} calls in flight (all originated, ringing: simulator `--ring-ms 90000`)"),
        format!("{rss:.1} MB (peak so far {peak:.1} MB)"),
        "< 200 MB",
        Some(rss < 200.0),
    ));
    drop(daemon);
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let redis = Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .nth(2)
                .unwrap_or("")
                .trim_start_matches("v=")
                .to_owned()
        })
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), redis-server {redis}")
}

fn render(rows: &[Row], date: &str) -> String {
    let mut out = format!(
        "{BEGIN}\n_Written by `cargo bench --bench scale` on {date}, {}; Redis, the simulator, the daemon(s) and the CLI all on this machine. Re-run that one command to update it._\n\n| what | result | target | |\n|---|---|---|---|\n",
        machine()
    );
    for r in rows {
        let mark = match r.met {
            Some(true) => "met",
            Some(false) => "**missed**",
            None => "",
        };
        out.push_str(&format!(
            "| {} | {} | {} | {mark} |\n",
            r.what, r.value, r.target
        ));
    }
    out.push('\n');
    out.push_str(END);
    out
}

fn write_docs(rows: &[Row]) {
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let section = render(rows, &date);
    println!("\n{section}");
    // A partial run (`BENCH_ONLY`) would drop the other rows: print only.
    if std::env::var("BENCH_NO_DOCS").is_ok_and(|v| v == "1") || std::env::var("BENCH_ONLY").is_ok()
    {
        return;
    }
    let path = repo("docs/performance.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(a), Some(b)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/performance.md has no {BEGIN} … {END} section");
    };
    let updated = format!("{}{section}{}", &doc[..a], &doc[b + END.len()..]);
    std::fs::write(&path, updated).unwrap();
    println!("docs/performance.md updated");
}

/// Whether `BENCH_ONLY` (comma-separated: submit, intake, e2e, latency,
/// due, util, flight, cluster) names this part; unset, every part runs.
fn runs(part: &str) -> bool {
    std::env::var("BENCH_ONLY").map_or(true, |only| only.split(',').any(|p| p.trim() == part))
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let d = dir.path();
        if runs("submit") {
            bench_submit(&mut rows, d).await;
        }
        if runs("intake") {
            bench_intake(&mut rows, d).await;
        }
        if runs("e2e") {
            bench_e2e(&mut rows, d).await;
        }
        if runs("latency") {
            bench_latency(&mut rows, d).await;
        }
        if runs("due") {
            bench_due_lag(&mut rows, d).await;
        }
        if runs("util") {
            bench_utilisation(&mut rows, d).await;
        }
        if runs("flight") {
            bench_in_flight(&mut rows, d).await;
        }
        if runs("cluster") {
            bench_cluster(&mut rows, d).await;
        }
    });
    write_docs(&rows);
}
