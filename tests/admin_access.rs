//! Who may use the admin listener (issue 11, admin access and secrets):
//! named tokens with roles, wrong tokens limited per client, a metrics
//! token, token rotation on SIGHUP without a restart, the audit log of admin
//! writes, and secrets read from files that never show in the log.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use sampark::config::{AdminRole, AdminSettings, AdminToken, Secret};
use sampark::store::Store;
use sampark::store::memory::MemoryStore;
use sampark::webhook::AdminAccess;
use serde_json::Value;
use support::admin::{admin_with, request};
use support::daemon::{CITIZEN_KEY_SECRET, start_simulator};
use support::eventually;
use support::http::raw;
use support::redis_server::{RedisServer, free_port};
use support::serve::{TOKEN, serve_command, spawn};

const WAIT: std::time::Duration = std::time::Duration::from_secs(90);

async fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> u16 {
    raw(addr, &request(addr, method, path, token, "")).await.0
}

fn token(name: &str, role: AdminRole, value: &str) -> AdminToken {
    AdminToken {
        name: name.into(),
        role,
        token: Some(Secret::new(value)),
        token_file: None,
    }
}

#[tokio::test]
async fn a_read_token_reads_an_operator_token_writes_and_wrong_tokens_are_limited() {
    let access = AdminAccess::from_settings(&AdminSettings {
        tokens: vec![
            token("ops-1", AdminRole::Operator, "ops-token"),
            token("viewer", AdminRole::Read, "view-token"),
        ],
        metrics_token: Some(Secret::new("scrape-token")),
        ..AdminSettings::default()
    })
    .unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(2));
    let (addr, cancel) = admin_with(store, Arc::new(access)).await;

    for who in ["ops-token", "view-token"] {
        assert_eq!(call(addr, "GET", "/admin/campaigns", Some(who)).await, 200);
        assert_eq!(call(addr, "GET", "/admin/dnc", Some(who)).await, 200);
    }
    // A write: refused to the reader, taken from the operator (the
    // campaign is unknown, so 404, past the role check).
    let pause = "/admin/campaigns/c-none/pause";
    assert_eq!(call(addr, "POST", pause, Some("view-token")).await, 403);
    assert_eq!(call(addr, "POST", pause, Some("ops-token")).await, 404);
    assert_eq!(call(addr, "GET", "/admin/campaigns", None).await, 401);

    // /metrics: its own token, or an admin token.
    assert_eq!(call(addr, "GET", "/metrics", None).await, 401);
    assert_eq!(
        call(addr, "GET", "/metrics", Some("scrape-token")).await,
        200
    );
    assert_eq!(call(addr, "GET", "/metrics", Some("view-token")).await, 200);

    // Wrong tokens: five, then even the right one waits (429).
    for _ in 0..5 {
        assert_eq!(
            call(addr, "GET", "/admin/campaigns", Some("guess")).await,
            401
        );
    }
    let (status, _) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns", Some("ops-token"), ""),
    )
    .await;
    assert_eq!(status, 429);
    // The console's login form shares the budget.
    let login = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\nConnection: close\r\n\r\ntoken=ops-token"
    );
    assert_eq!(raw(addr, &login).await.0, 429);
    cancel.cancel();
}

/// The JSON log lines of the audit target.
fn audit_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.contains("sampark::audit"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn field<'a>(line: &'a Value, name: &str) -> &'a str {
    line.get(name)
        .or_else(|| line["fields"].get(name))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn write(dir: &Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_daemon_reads_secrets_from_files_rotates_tokens_on_sighup_and_audits_writes() {
    let dir = tempfile::tempdir().unwrap();
    let password = "zq-redis-password";
    let redis = RedisServer::start_on(free_port(), Some(password));
    let (sim, sim_cancel) = start_simulator(sampark::simulator::SimulatorConfig::default()).await;
    let url = format!("redis://:{password}@127.0.0.1:{}/", redis.port);
    let redis_file = write(dir.path(), "redis", &url);
    let provider_file = write(dir.path(), "provider", TOKEN);
    let citizen_file = write(dir.path(), "citizen", CITIZEN_KEY_SECRET);
    let ops_a = write(dir.path(), "ops-a", "zq-ops-old-token");
    let ops_b = write(dir.path(), "ops-b", "zq-ops-spare-token");
    let metrics_file = write(dir.path(), "metrics", "zq-metrics-token");
    let config = dir.path().join("sampark.toml");
    std::fs::write(
        &config,
        format!(
            "[admin]\nmetrics_token_file = {metrics_file:?}\n\
             [[admin.tokens]]\nname = \"ops-a\"\nrole = \"operator\"\ntoken_file = {ops_a:?}\n\
             [[admin.tokens]]\nname = \"ops-b\"\nrole = \"operator\"\ntoken_file = {ops_b:?}\n\
             [dialplans]\ndir = {:?}\n",
            support::daemon::repo_path("dialplans")
                .display()
                .to_string()
        ),
    )
    .unwrap();
    let (mut cmd, admin) = serve_command("unused", &sim.base_url(), &config.display().to_string());
    for var in [
        "SAMPARK__REDIS__URL",
        "SAMPARK__PROVIDER__AUTH_TOKEN",
        "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SAMPARK__REDIS__URL_FILE", &redis_file)
        .env("SAMPARK__PROVIDER__AUTH_TOKEN_FILE", &provider_file)
        .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET_FILE", &citizen_file);
    let mut serve = spawn(cmd, admin, dir.path().join("serve.log"));
    eventually(WAIT, "the daemon to be ready", || async {
        let ready = tokio::net::TcpStream::connect(admin).await.is_ok()
            && call(admin, "GET", "/readyz", None).await == 200;
        ready.then_some(())
    })
    .await;

    // Both tokens work at once: the old one, and the one rotated in.
    assert_eq!(
        call(admin, "GET", "/admin/campaigns", Some("zq-ops-old-token")).await,
        200
    );
    std::fs::write(dir.path().join("ops-b"), "zq-ops-new-token\n").unwrap();
    let hup = |pid: u32| {
        let sent = std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    hup(serve.child.id());
    eventually(WAIT, "the new token to be read", || async {
        (call(admin, "GET", "/admin/campaigns", Some("zq-ops-new-token")).await == 200)
            .then_some(())
    })
    .await;
    assert_eq!(
        call(admin, "GET", "/admin/campaigns", Some("zq-ops-old-token")).await,
        200
    );
    // The old one retired: its file now holds another token.
    std::fs::write(dir.path().join("ops-a"), "zq-ops-other-token\n").unwrap();
    hup(serve.child.id());
    eventually(WAIT, "the old token to be refused", || async {
        (call(admin, "GET", "/admin/campaigns", Some("zq-ops-old-token")).await == 401)
            .then_some(())
    })
    .await;
    assert_eq!(call(admin, "GET", "/metrics", None).await, 401);
    assert_eq!(
        call(admin, "GET", "/metrics", Some("zq-metrics-token")).await,
        200
    );

    // Writes, each audited: a submission holding numbers, a DNC entry by
    // number, a refused write, a console login.
    let doc = support::campaign::campaign("audited", 3);
    let (status, body) = raw(
        admin,
        &request(
            admin,
            "POST",
            "/admin/campaigns",
            Some("zq-ops-new-token"),
            &doc,
        ),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let dnc = "/admin/dnc/%2B919812345678";
    let (status, body) = raw(
        admin,
        &request(
            admin,
            "PUT",
            dnc,
            Some("zq-ops-new-token"),
            r#"{"reason":"asked"}"#,
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        call(admin, "POST", "/admin/campaigns/audited/pause", None).await,
        401
    );
    let status = serve.stop().await;
    let log = serve.log();
    assert!(status.success(), "{log}");

    let audit = audit_lines(&log);
    let seen: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|l| {
            (
                field(l, "audit.who"),
                field(l, "audit.action"),
                field(l, "audit.outcome"),
            )
        })
        .collect();
    assert!(
        seen.contains(&("ops-b", "POST /admin/campaigns", "ok")),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(who, action, outcome)| *who == "ops-b"
            && action.starts_with("PUT /admin/dnc/")
            && *outcome == "ok"),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("-", "POST /admin/campaigns/audited/pause", "refused")),
        "{seen:?}"
    );
    assert!(
        audit.iter().all(|l| field(l, "client.ip") == "127.0.0.1"),
        "{audit:?}"
    );

    // Nothing secret, and no number, anywhere in the log.
    for secret in ["zq-", password, TOKEN, CITIZEN_KEY_SECRET] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    for number in ["9812345678", "9720000000", "9720000001"] {
        assert!(!log.contains(number), "{number} in the log:\n{log}");
    }
    sim_cancel.cancel();
}
