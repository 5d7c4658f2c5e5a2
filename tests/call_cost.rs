//! Redis round trips per completed call, counted by Redis itself with
//! `MONITOR`, never timed: a small campaign runs end to end (intake,
//! dialling, the provider's webhooks and status callbacks, the relay and
//! the daemon's background loops while it lasts) against the simulator,
//! every contact answered and every question keyed, and each command a
//! client sends is a round trip (a pipeline's commands counted one by
//! one). `EVALSHA` is told apart by script, named from the Lua sources.
//! The daemon's start (its first look over every shard) is left out. The
//! run prints the breakdown (`--nocapture`) and bounds the total.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::simulator::SimulatorConfig;
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{ACCOUNT_SID, AUTH_TOKEN, dialer_config, start_daemon, start_simulator};
use support::eventually;
use support::redis_server::RedisServer;

const CONTACTS: usize = 60;
/// Provider events of one answered 3-question call: the answer, three
/// gathers and four status callbacks (initiated, ringing, answered,
/// completed).
const EVENTS_PER_CALL: f64 = 8.0;
/// The regression guard: round trips per completed call, everything
/// included (measured 2026-12-01, see docs/performance.md, "Redis round
/// trips per completed call": 13.1–13.8 once the dialer read a batch's jobs
/// and probed a shard in one script call each), with room for how the
/// run's timing groups the dialer's wakes and the relay's and intake's
/// passes; before that change 14.2–15.7, and main before the relay's
/// rework 19.5–20.8.
const MAX_ROUND_TRIPS_PER_CALL: f64 = 15.0;

/// SHA-1 → script name, for every script the store composes from
/// `src/store/lua` (`src/store/redis/scripts.rs`): a file alone, or after
/// the shared prelude, and the dial decision's compositions.
fn script_names() -> HashMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/lua");
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).unwrap();
    let prelude = read("prelude.lua");
    let limits = read("authorize/limits.lua");
    let shard = read("authorize/shard.lua");
    let context = read("authorize_slots/context.lua");
    let mut names = HashMap::new();
    let mut add = |source: String, name: &str| {
        names.insert(
            redis::Script::new(&source).get_hash().to_owned(),
            name.to_owned(),
        );
    };
    for sub in ["", "authorize_slots/"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "lua") {
                continue;
            }
            let rel = format!("{sub}{}", path.file_name().unwrap().to_string_lossy());
            let name = rel.trim_end_matches(".lua").to_owned();
            let body = read(&rel);
            add(body.clone(), &name);
            add(format!("{prelude}{body}"), &name);
            add(format!("{prelude}{limits}{body}"), &name);
            add(format!("{prelude}{limits}{shard}{context}{body}"), &name);
        }
    }
    add(
        format!("{prelude}{limits}{shard}{}", read("authorize.lua")),
        "authorize",
    );
    names
}

/// A key's kind: its name without the shard, the ids and the tags
/// (`sampark:{3}:job:cost:c-001` → `job`), or `None` for an argument that
/// is not a key.
fn key_kind(key: &str) -> Option<String> {
    let rest = key.strip_prefix("sampark:")?;
    let parts: Vec<&str> = rest.split(':').filter(|p| !p.starts_with('{')).collect();
    Some(parts.first()?.to_string())
}

/// Counts, by command, what clients other than `skip` send Redis, until
/// stopped.
struct Monitor {
    stream: TcpStream,
    counting: std::thread::JoinHandle<BTreeMap<String, u64>>,
}

impl Monitor {
    fn start(port: u16, skip: String) -> Monitor {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(b"MONITOR\r\n").unwrap();
        let reader = stream.try_clone().unwrap();
        let names = script_names();
        let counting = std::thread::spawn(move || {
            let mut counts = BTreeMap::new();
            let mut lines = std::io::BufReader::new(reader);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                // `<time> [<db> <client>] "<command>" "<arg>" ...`
                if let Some((client, rest)) = line
                    .split_once(" [")
                    .and_then(|(_, l)| l.split_once("] \""))
                    && !client.ends_with(" lua")
                    && !client.ends_with(&skip)
                {
                    let mut words = rest.split("\" \"");
                    let command = words
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(['"', '\r', '\n']);
                    let command = command.to_ascii_lowercase();
                    let key = if command == "evalsha" {
                        let sha = words
                            .next()
                            .unwrap_or("")
                            .trim_end_matches(['"', '\r', '\n']);
                        let name = names.get(sha).map_or("?", String::as_str);
                        format!("evalsha {name}")
                    } else {
                        // Plain commands by the kind of key they touch.
                        let key = words
                            .next()
                            .unwrap_or("")
                            .trim_end_matches(['"', '\r', '\n']);
                        match key_kind(key) {
                            Some(kind) => format!("{command} {kind}"),
                            None => command,
                        }
                    };
                    *counts.entry(key).or_insert(0) += 1;
                }
                line.clear();
            }
            counts
        });
        Monitor { stream, counting }
    }

    fn stop(self) -> BTreeMap<String, u64> {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        self.counting.join().unwrap()
    }
}

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
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 7,
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        invalid_key_rate: 0.0,
        silent_rate: 0.0,
        opt_out_rate: 0.0,
        hangup_rate: 0.0,
        ..SimulatorConfig::default()
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
    let monitor = Monitor::start(redis.port, addr);

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
