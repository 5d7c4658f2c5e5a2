//! Issue 6, item 6: a Redis that would lose sampark's data is refused (or
//! flagged, as configured), and a Redis that came back empty pauses dialling
//! on every instance until an operator accepts it.

mod support;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sampark::daemon::Daemon;
use sampark::domain::CampaignId;
use sampark::simulator::{LedgerEntry, Simulator, SimulatorConfig};
use sampark::store::guard::{DataGuard, Durability};
use sampark::store::redis::RedisStore;
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{ACCOUNT_SID, AUTH_TOKEN, dialer_config, start_daemon, start_simulator};
use support::eventually;
use support::redis_server::{RedisServer, free_port};

const N: usize = 6;

fn campaign(id: &str) -> String {
    let contacts: Vec<_> = (0..N)
        .map(|i| {
            json!({"id": format!("c-{i}"), "phone": format!("+9199{:08}", 40_000_000 + i), "language": "en",
                   "official_id": format!("off-{}", i % 2), "office": "Puri Sadar PS", "service": "Passport verification"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": "durability", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "home", "contacts": contacts})
    .to_string()
}

fn simulator_config() -> SimulatorConfig {
    SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 11,
        think_delay: (Duration::from_millis(10), Duration::from_millis(30)),
        ..SimulatorConfig::default()
    }
}

fn originates(simulator: &Simulator) -> usize {
    simulator
        .ledger()
        .iter()
        .filter(|e| matches!(e, LedgerEntry::Originate { .. }))
        .count()
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    support::http::raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

/// The campaign's contacts are all in the store (intake is not paused), and
/// the dispatch loop has since held at least ten rounds: it ran and dialled
/// nothing.
async fn assert_not_dialled(daemon: &Daemon, store: &RedisStore, simulator: &Simulator, id: &str) {
    let id = CampaignId::parse(id).unwrap();
    eventually(Duration::from_secs(30), "the contacts to be queued", || {
        let id = id.clone();
        async move {
            let status = store.campaign_status(&id).await.ok()??;
            (status.total() == N as u64).then_some(())
        }
    })
    .await;
    let gate = daemon.dial_gate();
    let before = gate.held_rounds();
    eventually(Duration::from_secs(30), "ten held dispatch rounds", || {
        let held = gate.held_rounds();
        async move { (held >= before + 10).then_some(()) }
    })
    .await;
    assert_eq!(originates(simulator), 0, "nothing is dialled while held");
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(status.finished(), 0, "{:?}", status.counts);
    let (code, metrics) = get(daemon.admin_addr().unwrap(), "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("\nsampark_dialling_paused 1\n"),
        "{metrics}"
    );
}

async fn all_records(store: &RedisStore) {
    eventually(
        Duration::from_secs(90),
        "a record for every contact",
        || async move {
            let records = store.read_feedback("0", 100).await.ok()?;
            (records.len() >= N).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_restarted_empty_pauses_dialling_until_an_operator_accepts() {
    let mut redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(simulator_config()).await;
    let (daemon, store) = start_daemon(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(Quota {
            burst: 10,
            period: Duration::from_millis(10),
        }),
    )
    .await;
    let gate = daemon.dial_gate().clone();
    eventually(Duration::from_secs(10), "the epoch to be verified", || {
        let open = !gate.is_paused();
        async move { open.then_some(()) }
    })
    .await;

    redis.restart_empty();
    eventually(Duration::from_secs(30), "dialling to pause", || {
        let paused = gate.is_paused();
        async move { paused.then_some(()) }
    })
    .await;
    let marker = store.read_epoch().await.unwrap();
    assert!(
        marker.hold.as_deref().is_some_and(|r| r.contains("empty")),
        "the hold is in Redis for the whole fleet: {marker:?}"
    );

    store.submit(&campaign("after-loss")).await.unwrap();
    assert_not_dialled(&daemon, &store, &simulator, "after-loss").await;

    // The operator's word, through the real command.
    let out = Command::new(env!("CARGO_BIN_EXE_sampark"))
        .args(["redis", "accept-empty", "--redis", &redis.url()])
        .env_remove("SAMPARK__REDIS__KEY_PREFIX")
        .env_remove("SAMPARK__REDIS__SHARDS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("accepted: new epoch"), "{stdout}");

    all_records(&store).await;
    assert!(originates(&simulator) >= N);
    assert!(!gate.is_paused());
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_daemon_started_under_a_hold_waits_for_the_admin_api() {
    let redis = RedisServer::start();
    let guard = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    guard.start_epoch().await.unwrap();
    guard
        .hold_dialling("test: Redis came back empty")
        .await
        .unwrap();

    let (simulator, sim_cancel) = start_simulator(simulator_config()).await;
    let (daemon, store) = start_daemon(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(Quota {
            burst: 10,
            period: Duration::from_millis(10),
        }),
    )
    .await;
    store.submit(&campaign("under-hold")).await.unwrap();
    assert_not_dialled(&daemon, &store, &simulator, "under-hold").await;

    let admin = daemon.admin_addr().unwrap();
    let (code, body) = support::http::raw(
        admin,
        &format!(
            "POST /admin/redis/accept-empty HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["lifted"], true, "{body}");

    all_records(&store).await;
    assert!(originates(&simulator) >= N);
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

#[tokio::test]
async fn durability_is_read_from_redis_and_unknown_when_config_is_refused() {
    let good = RedisServer::start();
    let store = RedisStore::connect(&good.url(), "sampark", 4)
        .await
        .unwrap();
    let report = store.durability().await;
    assert!(
        matches!(&report, Durability::Settings { appendonly: true, maxmemory_policy, .. } if maxmemory_policy == "noeviction"),
        "{report:?}"
    );
    assert!(report.problems().is_empty());

    // A managed Redis that refuses CONFIG is unchecked, never refused.
    let mut admin = redis::Client::open(good.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "managed", "on", ">pw", "~*", "&*", "+@all", "-config",
        ])
        .query_async(&mut admin)
        .await
        .unwrap();
    let managed = RedisStore::connect(
        &format!("redis://managed:pw@127.0.0.1:{}/", good.port),
        "sampark",
        4,
    )
    .await
    .unwrap();
    let report = managed.durability().await;
    assert!(matches!(report, Durability::Unknown(_)), "{report:?}");
    assert!(
        sampark::daemon::refuse_unless_durable(&managed, Default::default())
            .await
            .is_ok()
    );

    let bare = RedisServer::start_without_persistence();
    let store = RedisStore::connect(&bare.url(), "sampark", 4)
        .await
        .unwrap();
    let problems = store.durability().await.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("appendonly yes"));
}

/// Kills the child on drop, so a failing test leaves no process behind.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(redis: &RedisServer, admin_port: u16, persistence: Option<&str>) -> Guard {
    let webhook_port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sampark"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SAMPARK__") {
            cmd.env_remove(k);
        }
    }
    cmd.args(["serve", "--config", "config/sampark.toml"])
        .env("SAMPARK__REDIS__URL", redis.url())
        .env(
            "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
            support::daemon::CITIZEN_KEY_SECRET,
        )
        .env("SAMPARK__PROVIDER__BASE_URL", "http://127.0.0.1:9")
        .env("SAMPARK__PROVIDER__ACCOUNT_SID", ACCOUNT_SID)
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", AUTH_TOKEN)
        .env(
            "SAMPARK__WEBHOOK__LISTEN",
            format!("127.0.0.1:{webhook_port}"),
        )
        .env(
            "SAMPARK__WEBHOOK__PUBLIC_URL",
            format!("http://127.0.0.1:{webhook_port}"),
        )
        .env("SAMPARK__ADMIN__LISTEN", format!("127.0.0.1:{admin_port}"))
        .env("SAMPARK__LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(p) = persistence {
        cmd.env("SAMPARK__REDIS__PERSISTENCE", p);
    }
    Guard(cmd.spawn().unwrap())
}

fn stderr_of(mut guard: Guard) -> String {
    use std::io::Read;
    let _ = guard.0.kill();
    let _ = guard.0.wait();
    let mut text = String::new();
    guard
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test]
async fn serve_refuses_a_redis_that_would_lose_data_unless_told_to_warn() {
    let redis = RedisServer::start_without_persistence();
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "maxmemory-policy", "allkeys-lru"])
        .query_async(&mut conn)
        .await
        .unwrap();

    // Default: require.
    let mut refused = serve(&redis, free_port(), None);
    let status = eventually(Duration::from_secs(30), "serve to exit", || {
        let s = refused.0.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    let err = stderr_of(refused);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("refusing to start"), "{err}");
    assert!(err.contains("set appendonly yes"), "{err}");
    assert!(err.contains("set maxmemory-policy noeviction"), "{err}");
    assert!(err.contains("redis.persistence"), "{err}");

    // warn: it runs, logs at ERROR and flags the metric.
    let admin_port = free_port();
    let admin: SocketAddr = format!("127.0.0.1:{admin_port}").parse().unwrap();
    let running = serve(&redis, admin_port, Some("warn"));
    eventually(
        Duration::from_secs(30),
        "the metric to flag Redis",
        || async move {
            let stream = tokio::net::TcpStream::connect(admin).await.ok()?;
            drop(stream);
            let (code, body) = get(admin, "/metrics").await;
            (code == 200 && body.contains("\nsampark_redis_not_durable 1\n")).then_some(())
        },
    )
    .await;
    let logs = stderr_of(running);
    let error_line = logs
        .lines()
        .find(|l| l.contains("not set up to keep sampark's data"))
        .unwrap_or_else(|| panic!("no ERROR about Redis persistence: {logs}"));
    assert!(error_line.contains("\"ERROR\""), "{error_line}");
    assert!(error_line.contains("appendonly yes"), "{error_line}");
}
