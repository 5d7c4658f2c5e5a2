//! `sampark serve` as a process, as an operator meets it: health before
//! Redis is reachable and after it restarts, configuration read relative to
//! its file from any working directory, and JSON logs a person can read
//! (no Rust `Debug` text, one line per campaign state change).

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use sampark::simulator::SimulatorConfig;
use serde_json::{Value, json};
use support::daemon::{CITIZEN_KEY_SECRET, repo_path, start_simulator};
use support::eventually;
use support::http::raw;
use support::redis_server::{RedisServer, free_port};
use support::serve::{SID, Serve, TOKEN, serve};

const WAIT: Duration = Duration::from_secs(90);

async fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    Some(raw(addr, &request).await)
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw(addr, &request).await
}

/// Waits until `path` answers `status`; returns the body.
async fn until_status(addr: SocketAddr, path: &str, status: u16) -> String {
    let what = format!("{path} to answer {status}");
    eventually(WAIT, &what, || async move {
        get(addr, path)
            .await
            .filter(|(code, _)| *code == status)
            .map(|(_, body)| body)
    })
    .await
}

fn campaign(id: &str, officials: &[&str], first_phone: u32) -> String {
    let contacts: Vec<Value> = officials
        .iter()
        .enumerate()
        .map(|(i, official)| {
            json!({"id": format!("k{i}"), "phone": format!("+9197{:08}", first_phone + i as u32),
                "language": "en", "official_id": official,
                "office": "Cuttack Tahasil Office", "service": "Land record mutation"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": format!("Campaign {id}"), "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
    .to_string()
}

/// Submits through the admin API and waits until every contact finished.
async fn run_campaign(admin: SocketAddr, id: &str, officials: &[&str], first_phone: u32) {
    let (status, body) = post(
        admin,
        "/admin/campaigns",
        &campaign(id, officials, first_phone),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let path = format!("/admin/campaigns/{id}");
    let total = officials.len();
    eventually(WAIT, "the campaign to finish", || {
        let path = path.clone();
        async move {
            let (code, body) = get(admin, &path).await?;
            let v: Value = serde_json::from_str(&body).ok()?;
            (code == 200 && v["total"] == total && v["finished"] == total).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_before_redis_and_campaigns_run_once_it_comes_and_comes_back() {
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        seed: 3,
        ..SimulatorConfig::default()
    })
    .await;
    let port = free_port();
    let password = "redis-pa55word-s3cret";
    let url = format!("redis://:{password}@127.0.0.1:{port}/");
    let dir = tempfile::tempdir().unwrap();
    let mut serve = serve(
        &url,
        &simulator.base_url(),
        dir.path().join("serve.log"),
        &[("SAMPARK__REPORTS__DEPARTMENTS", "police,health")],
    );
    let admin = serve.admin;

    // Nothing listens on the Redis port yet: alive, not ready, and why.
    until_status(admin, "/healthz", 200).await;
    let log_path = serve.log.clone();
    eventually(WAIT, "a failed attempt to reach Redis", || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        async move { log.contains("Cannot reach Redis").then_some(()) }
    })
    .await;
    let (code, body) = get(admin, "/readyz").await.unwrap();
    assert_eq!(code, 503, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["ready"], false, "{body}");
    let reason = ready["reason"].as_str().unwrap();
    assert!(reason.contains("cannot reach Redis"), "{reason}");
    assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
    assert!(!body.contains(password), "{body}");
    let (code, metrics) = get(admin, "/metrics").await.unwrap();
    assert_eq!(code, 200);
    // The declared departments bound the per-department series from the start.
    for department in ["health", "police", "other"] {
        let series = format!(
            "\nsampark_records_total{{department=\"{department}\",outcome=\"completed\"}} 0\n"
        );
        assert!(metrics.contains(&series), "{series} in {metrics}");
    }
    let (code, body) = get(admin, "/admin/campaigns").await.unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("starting"), "{body}");

    // Redis arrives: ready, and a campaign runs.
    let mut redis = RedisServer::start_on(port, Some(password));
    assert_eq!(
        until_status(admin, "/readyz", 200).await,
        r#"{"ready":true}"#
    );
    run_campaign(
        admin,
        "after-start",
        &["off-1", "off-2", "off-3"],
        30_000_000,
    )
    .await;

    // Redis dies while running: not ready, with the reason; back: ready.
    redis.kill();
    let body = until_status(admin, "/readyz", 503).await;
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert!(
        ready["reason"]
            .as_str()
            .unwrap()
            .contains("store does not answer"),
        "{body}"
    );
    assert_eq!(get(admin, "/healthz").await.unwrap().0, 200);
    redis.restart();
    until_status(admin, "/readyz", 200).await;
    run_campaign(admin, "after-restart", &["off-1", "off-4"], 30_000_100).await;

    let status = serve.stop().await;
    let log = serve.log();
    assert!(status.success(), "serve exited with {status}: {log}");
    let waits: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Cannot reach Redis"))
        .collect();
    assert!(!waits.is_empty(), "{log}");
    assert!(
        waits
            .iter()
            .all(|l| l.contains("\"WARN\"") && l.contains(":***@")),
        "{waits:#?}"
    );
    assert!(
        !log.contains(password),
        "the password never reaches the log"
    );
    sim_cancel.cancel();
}

/// Every log line is a JSON object whose values are plain text: no Rust
/// `Debug` rendering (`Some(…)`, `None`, `Struct { … }`, quoted strings).
fn assert_readable(log: &str) -> Vec<Value> {
    fn no_quotes(v: &Value, line: &str) {
        match v {
            Value::String(s) => assert!(!s.contains('"'), "Debug-quoted text in {line}"),
            Value::Array(items) => items.iter().for_each(|i| no_quotes(i, line)),
            Value::Object(map) => map.values().for_each(|i| no_quotes(i, line)),
            _ => {}
        }
    }
    let mut lines = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let value: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for pattern in ["Some(", "None", " { "] {
            assert!(!line.contains(pattern), "{pattern:?} in {line}");
        }
        no_quotes(&value, line);
        lines.push(value);
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_no_debug_text_and_a_line_per_campaign_state_change() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: SID.into(),
        auth_token: TOKEN.into(),
        seed: 5,
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    // One official slow enough that its campaign is still waiting while an
    // operator pauses, resumes and cancels it.
    let slow = [
        ("SAMPARK__RATE__OVERRIDES__OFF-SLOW__BURST", "1"),
        ("SAMPARK__RATE__OVERRIDES__OFF-SLOW__PER_SECS", "3600"),
    ];
    let mut serve = serve(
        &redis.url(),
        &simulator.base_url(),
        dir.path().join("serve.log"),
        &slow,
    );
    let admin = serve.admin;
    until_status(admin, "/readyz", 200).await;

    run_campaign(
        admin,
        "quick",
        &["off-1", "off-2", "off-1", "off-3"],
        40_000_000,
    )
    .await;

    let (status, body) = post(
        admin,
        "/admin/campaigns",
        &campaign("held", &["off-slow", "off-slow", "off-slow"], 40_000_100),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let log_path = serve.log.clone();
    let saw = |event: &'static str| {
        let log_path = log_path.clone();
        async move {
            let what = format!("the campaign log to say {event}");
            eventually(WAIT, &what, || {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                let found = log.lines().any(|l| {
                    l.contains("\"campaign.id\":\"held\"")
                        && l.contains(&format!("\"campaign.event\":\"{event}\""))
                });
                async move { found.then_some(()) }
            })
            .await;
        }
    };
    saw("accepted").await;
    for (verb, event) in [
        ("pause", "paused"),
        ("resume", "resumed"),
        ("cancel", "cancelled"),
    ] {
        let (code, body) = post(admin, &format!("/admin/campaigns/held/{verb}"), "").await;
        assert_eq!(code, 200, "{body}");
        saw(event).await;
    }
    saw("finished").await;

    let status = serve.stop().await;
    let log = serve.log();
    assert!(status.success(), "serve exited with {status}: {log}");
    let lines = assert_readable(&log);
    let events = |id: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l["campaign.id"] == id && l["campaign.event"].is_string())
            .map(|l| {
                assert_eq!(l["level"], "INFO", "{l}");
                l["campaign.event"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(events("quick"), ["accepted", "finished"], "{log}");
    assert_eq!(
        events("held"),
        ["accepted", "paused", "resumed", "cancelled", "finished"],
        "{log}"
    );
    let finished = lines
        .iter()
        .find(|l| l["campaign.id"] == "quick" && l["campaign.event"] == "finished")
        .unwrap();
    assert_eq!(finished["contacts.total"], 4, "{finished}");
    assert_eq!(finished["contacts.finished"], 4, "{finished}");
    assert!(!log.contains("9740000"), "phone numbers are masked");
    sim_cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_paths_relative_to_its_config_file_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(etc.join("plans")).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    for entry in std::fs::read_dir(repo_path("dialplans")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, etc.join("plans").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(etc.join("holidays.txt"), "2026-01-26\n").unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = |plans: &str, holidays: &str| {
        format!(
            "[redis]\nurl = \"redis://127.0.0.1:{}/\"\n[admin]\nlisten = \"{admin}\"\n\
             [webhook]\nlisten = \"127.0.0.1:{}\"\n[dialplans]\ndir = \"{plans}\"\n\
             [policy.calling_window]\nholiday_files = [\"{holidays}\"]\n",
            free_port(),
            free_port()
        )
    };
    let start = || {
        let mut cmd = support::cli::sampark();
        cmd.current_dir(&elsewhere)
            .args(["serve", "--config", "../etc/sampark.toml"])
            .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET)
            .env("SAMPARK__PROVIDER__ACCOUNT_SID", SID)
            .env("SAMPARK__PROVIDER__AUTH_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };

    // Wrong paths: refused, each named in full, the file's line given.
    std::fs::write(etc.join("sampark.toml"), config("plans", "gone.txt")).unwrap();
    let out = start().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let etc_shown = std::path::absolute(&etc).unwrap();
    assert!(
        err.contains(&etc_shown.join("gone.txt").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("sampark.toml:10: `policy.calling_window.holiday_files[0]`"),
        "{err}"
    );
    std::fs::write(etc.join("sampark.toml"), config("no-plans", "holidays.txt")).unwrap();
    let out = start().output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&etc_shown.join("no-plans").display().to_string()),
        "{err}"
    );

    // Right paths: dialplans and holidays found next to the file; the
    // daemon is up (and waits for its Redis, which never comes).
    std::fs::write(etc.join("sampark.toml"), config("plans", "holidays.txt")).unwrap();
    let mut running = Serve {
        child: start().stderr(Stdio::null()).spawn().unwrap(),
        admin,
        log: PathBuf::new(),
    };
    until_status(running.admin, "/healthz", 200).await;
    let (code, body) = get(running.admin, "/readyz").await.unwrap();
    assert_eq!(code, 503, "{body}");
    assert!(running.stop().await.success());
}
