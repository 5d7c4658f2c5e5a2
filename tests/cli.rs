//! The real binary: `serve`, `simulate-provider`, `campaign submit|status`,
//! `dialplan check`, `demo`, as processes.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::cli::{Guard, run, sampark};
use support::redis_server::{RedisServer, free_port};
use support::{daemon::repo_path, eventually};

#[test]
fn dialplan_check_accepts_the_sample_and_reports_problems_with_locations() {
    let ok = run(sampark()
        .args(["dialplan", "check"])
        .arg(repo_path("dialplans/mo-sarkar-feedback.toml")));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.toml");
    std::fs::write(
        &bad,
        "name = \"broken\"\ndefault_language = 7\n[[questions]]\nid = \"q\"\n",
    )
    .unwrap();
    let out = run(sampark().args(["dialplan", "check"]).arg(&bad));
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("broken.toml:"),
        "problems carry the file: {text}"
    );
}

#[test]
fn dialplan_check_loads_a_directory_as_serve_does() {
    let ok = run(sampark().args(["dialplan", "check", "dialplans/"]));
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(
        text.contains("dialplans/: ok (mo-sarkar-feedback, mo-sarkar-inbound, official-call)"),
        "{text}"
    );

    // Each plan is valid alone; together they disagree on `bribe_asked`.
    let dir = tempfile::tempdir().unwrap();
    for name in ["mo-sarkar-feedback", "mo-sarkar-inbound"] {
        let src = std::fs::read_to_string(repo_path(&format!("dialplans/{name}.toml"))).unwrap();
        let src = if name == "mo-sarkar-inbound" {
            src.replace("bribe_asked = \"urgent\"", "bribe_asked = \"high\"")
        } else {
            src
        };
        std::fs::write(dir.path().join(format!("{name}.toml")), src).unwrap();
    }
    let out = run(sampark().args(["dialplan", "check"]).arg(dir.path()));
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "mo-sarkar-inbound.toml: escalations.bribe_asked:",
        "escalates as high here but as urgent in",
        "mo-sarkar-feedback.toml",
    ] {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }

    // `serve` refuses the same directory, before it needs Redis.
    let out = run(sampark()
        .args(["serve", "--config", "config/sampark.toml"])
        .env(
            "SAMPARK__PROVIDER__ACCOUNT_SID",
            "ACcli00000000000000000000000000cli",
        )
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", "cli-token")
        .env(
            "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
            support::daemon::CITIZEN_KEY_SECRET,
        )
        .env("SAMPARK__DIALPLANS__DIR", dir.path()));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dialplans.dir: ") && err.contains("escalations.bribe_asked"),
        "{err}"
    );
}

#[test]
fn serve_with_a_bad_config_lists_every_problem_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[redis]\nurl = \"http://nope\"\n[webhook]\nlisten = \"not an address\"\n",
    )
    .unwrap();
    let out = run(sampark().args(["serve", "--config"]).arg(&path));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis.url"), "{err}");
    assert!(err.contains("webhook.listen"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn demo_prints_a_json_summary() {
    let out = run(sampark().args(["demo", "--contacts", "30", "--seed", "3", "--json"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(summary["contacts"], 30);
    assert_eq!(summary["feedback_records"], 30);
    let total: u64 = summary["outcomes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 30);
}

#[test]
fn demo_with_inbound_calls_counts_them() {
    let out = run(sampark().args([
        "demo",
        "--contacts",
        "30",
        "--inbound",
        "20",
        "--seed",
        "5",
        "--json",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    let n = |key: &str| s[key].as_u64().unwrap_or_else(|| panic!("{key} in {s}"));
    assert_eq!(n("inbound_calls"), 20);
    assert!(n("inbound_attributed") > 0, "{s}");
    assert!(
        n("inbound_attributed") < 20,
        "some callers are unknown: {s}"
    );
    // Every contact, every inbound call and every call-back asked for has
    // exactly one record.
    assert_eq!(n("feedback_records"), 30 + 20 + n("callbacks"));
    assert_eq!(
        s["flags"]["callback_requested"].as_u64().unwrap_or(0),
        n("callbacks")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_simulator_processes_run_a_submitted_campaign_and_stop_on_sigterm() {
    let redis = RedisServer::start();
    let sim_port = free_port();
    let webhook_port = free_port();
    let admin_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.jsonl");
    let _sim = Guard(
        sampark()
            .args([
                "simulate-provider",
                "--listen",
                &format!("127.0.0.1:{sim_port}"),
            ])
            .args([
                "--account-sid",
                "ACcli00000000000000000000000000cli",
                "--auth-token",
                "cli-token",
                "--seed",
                "9",
            ])
            .arg("--ledger")
            .arg(&ledger)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut serve = Guard(
        sampark()
            .args(["serve", "--config", "config/sampark.toml"])
            .env("SAMPARK__REDIS__URL", redis.url())
            .env(
                "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
                support::daemon::CITIZEN_KEY_SECRET,
            )
            .env(
                "SAMPARK__PROVIDER__BASE_URL",
                format!("http://127.0.0.1:{sim_port}"),
            )
            .env(
                "SAMPARK__PROVIDER__ACCOUNT_SID",
                "ACcli00000000000000000000000000cli",
            )
            .env("SAMPARK__PROVIDER__AUTH_TOKEN", "cli-token")
            .env(
                "SAMPARK__WEBHOOK__LISTEN",
                format!("127.0.0.1:{webhook_port}"),
            )
            .env(
                "SAMPARK__WEBHOOK__PUBLIC_URL",
                format!("http://127.0.0.1:{webhook_port}"),
            )
            .env("SAMPARK__ADMIN__LISTEN", format!("127.0.0.1:{admin_port}"))
            .env("SAMPARK__POLICY__CALLING_WINDOW__RANGES", "00:00-24:00")
            .env("SAMPARK__DIALER__RETRY_BACKOFF_SECS", "1")
            .env("SAMPARK__PROVIDER__CALLS_PER_SECOND", "50")
            .env("SAMPARK__PROVIDER__CHOICE_HINTS", "true")
            .env("SAMPARK__RATE__DEFAULT__PER_SECS", "0.05")
            .env("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_DAY", "10")
            // A weekly cap below the daily one is refused; 0 = none.
            .env("SAMPARK__POLICY__MAX_CALLS_PER_CITIZEN_PER_WEEK", "0")
            .env("SAMPARK__LOG__FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );

    let contacts: Vec<Value> = (0..12)
        .map(|i| {
            json!({"id": format!("k{i}"), "phone": format!("+9197{:08}", 20_000_000 + i),
                        "language": "en", "official_id": format!("off-{}", i % 3),
                        "office": "Cuttack Tahasil Office", "service": "Land record mutation"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "cli-campaign", "name": "CLI", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "revenue", "contacts": contacts});
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(doc.to_string().as_bytes()).unwrap();
    let submitted = run(sampark()
        .args(["campaign", "submit"])
        .arg(file.path())
        .args(["--redis", &redis.url()]));
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&submitted.stdout).trim(),
        "cli-campaign"
    );

    let url = redis.url();
    eventually(Duration::from_secs(90), "the campaign to finish", || {
        let url = url.clone();
        async move {
            let out = run(sampark().args([
                "campaign",
                "status",
                "cli-campaign",
                "--json",
                "--redis",
                &url,
            ]));
            let v: Value = serde_json::from_slice(&out.stdout).ok()?;
            (v["total"] == 12 && v["finished"] == 12).then_some(())
        }
    })
    .await;

    // SIGTERM: the daemon drains and exits 0.
    let pid = serve.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = eventually(Duration::from_secs(30), "serve to exit", || {
        let s = serve.0.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    let mut logs = String::new();
    use std::io::Read;
    serve
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(status.success(), "serve exited with {status}: {logs}");
    assert!(
        !logs.contains("97200000"),
        "phone numbers must be masked in logs"
    );
    let ledger_text = std::fs::read_to_string(&ledger).unwrap();
    assert!(
        ledger_text.lines().count() >= 12,
        "the simulator wrote its ledger"
    );
}

#[tokio::test]
async fn csv_contacts_are_submitted_under_a_json_header() {
    use sampark::store::Store;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("campaign.json");
    let csv = dir.path().join("contacts.csv");
    std::fs::write(
        &header,
        json!({"version": 1, "id": "csv-1", "name": "CSV", "dialplan": "mo-sarkar-feedback",
               "caller_id": "+916742000000", "department": "revenue"})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        &csv,
        "id,phone,language,official_id,office,service\n\
         k1,+919876500011,or,off-1,\"Cuttack Tahasil Office, Cuttack\",Mutation\n\
         k2,+919876500012,,off-2,Khurda Tahasil Office,Income certificate\n",
    )
    .unwrap();

    let no_header = run(sampark()
        .args(["campaign", "submit"])
        .arg(&csv)
        .args(["--redis", &redis.url()]));
    assert_eq!(no_header.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_header.stderr).contains("--header"));

    let out = run(sampark()
        .args(["campaign", "submit"])
        .arg(&csv)
        .arg("--header")
        .arg(&header)
        .args(["--redis", &redis.url()]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "csv-1");

    let store = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let entries = store
        .read_intake("t", 10, Duration::from_millis(100), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let doc = entries[0].payload.as_ref().unwrap();
    let parsed = sampark::domain::parse_campaign_document(doc, &|_| true).unwrap();
    assert_eq!(parsed.contacts.len(), 2);
    assert_eq!(parsed.contacts[0].office, "Cuttack Tahasil Office, Cuttack");
    assert_eq!(parsed.contacts[1].language, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_pause_list_cancel_and_resume_refused() {
    use sampark::store::Store;
    let redis = RedisServer::start();
    let store = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let header: sampark::domain::CampaignHeader = serde_json::from_value(json!({
        "id": "ops-1", "name": "Ops", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home"
    }))
    .unwrap();
    store.put_campaign(&header).await.unwrap();
    let url = redis.url();
    let cli = |args: &[&str]| run(sampark().args(args).args(["--redis", &url]));

    let out = cli(&["campaign", "pause", "ops-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("paused"));
    let out = cli(&["campaign", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], "ops-1");
    assert_eq!(list[0]["state"], "paused");
    let out = cli(&["campaign", "cancel", "ops-1", "--hangup"]);
    assert!(out.status.success());
    let out = cli(&["campaign", "status", "ops-1", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (status["state"].as_str(), status["hangup"].as_bool()),
        (Some("cancelled"), Some(true))
    );
    // Cancelled is final: resuming says so and fails.
    let out = cli(&["campaign", "resume", "ops-1"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled"));
    let out = cli(&["campaign", "pause", "nobody"]);
    assert_eq!(out.status.code(), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_status_shows_progress_per_official() {
    use sampark::store::Store;
    let redis = RedisServer::start();
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(
        sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    // Official i has i + 1 contacts at its own office; at most 10 an office
    // a day are called, the rest end `not_sampled`.
    let contacts: Vec<Value> = (0..25)
        .flat_map(|i| {
            (0..=i).map(move |k| {
                json!({"id": format!("c-{i}-{k}"), "phone": format!("+9198{:04}{k:04}", i),
                       "official_id": format!("off-{i:02}"), "office": format!("Office {i}"),
                       "service": "s", "visit_at": "2026-11-27T10:00:00+05:30"})
            })
        })
        .collect();
    let doc = json!({"version": 1, "id": "per-off", "name": "Per official",
        "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000", "department": "home",
        "sample": {"max_per_office_per_day": 10}, "contacts": contacts})
    .to_string();
    let router = sampark::intake::IntakeRouter::new(
        store.clone(),
        std::sync::Arc::new(|_: &str| true),
        "test".into(),
        Duration::from_secs(60),
        std::sync::Arc::new(sampark::telemetry::Metrics::new()),
        sampark::policy::CallingWindow::default(),
    );
    let report = router.ingest("1795755600000-0", &doc).await.unwrap();
    assert_eq!((report.accepted, report.not_sampled), (325, 325 - 205));
    let url = redis.url();
    let cli = |args: &[&str]| run(sampark().args(args).args(["--redis", &url]));

    let out = cli(&["campaign", "status", "per-off"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("+9198"), "no phone numbers: {text}");
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("official"))
        .collect();
    assert_eq!(
        table[0].split_whitespace().collect::<Vec<_>>(),
        ["official", "waiting", "queued", "not_sampled"]
    );
    // The 20 with the most waiting (off-05 … off-24), sorted by official.
    let rows: Vec<Vec<&str>> = table[1..21]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["off-05", "6", "6", "0"]);
    assert_eq!(rows[19], ["off-24", "10", "10", "15"]);
    assert!(table[21].contains("5 more official(s)"), "{text}");

    let out = cli(&["campaign", "status", "per-off", "--officials"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let off_00 = text.lines().find(|l| l.starts_with("off-00")).unwrap_or("");
    assert_eq!(
        off_00.split_whitespace().collect::<Vec<_>>(),
        ["off-00", "1", "1", "0"],
        "{text}"
    );
    assert_eq!(text.lines().filter(|l| l.starts_with("off-")).count(), 25);
    assert!(!text.contains("more official"), "{text}");

    let out = cli(&["campaign", "status", "per-off", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["counts"], json!({"queued": 205, "not_sampled": 120}));
    let officials = status["officials"].as_object().unwrap();
    assert_eq!(officials.len(), 25);
    assert_eq!(
        officials["off-24"],
        json!({"queued": 10, "not_sampled": 15})
    );
    assert_eq!(officials["off-00"], json!({"queued": 1}));
}

#[test]
fn provider_urls_prints_exotels_inbound_urls_with_their_tokens() {
    let exotel = [
        ("SAMPARK__PROVIDER__KIND", "exotel"),
        ("SAMPARK__PROVIDER__ACCOUNT_SID", "odisha1"),
        ("SAMPARK__PROVIDER__EXOTEL__API_KEY", "key"),
        ("SAMPARK__PROVIDER__EXOTEL__API_TOKEN", "token"),
        (
            "SAMPARK__PROVIDER__EXOTEL__WEBHOOK_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
        ("SAMPARK__WEBHOOK__PUBLIC_URL", "https://ivr.example.gov.in"),
    ];
    let out = run(sampark()
        .args(["provider-urls", "--config", "config/sampark.toml"])
        .envs(exotel));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("https://ivr.example.gov.in/exotel/inbound?sig=")
            && text.contains("https://ivr.example.gov.in/exotel/inbound/status?sig="),
        "{text}"
    );
    // A short webhook secret is refused with the key named.
    let out = run(sampark()
        .args(["provider-urls", "--config", "config/sampark.toml"])
        .envs(exotel)
        .env("SAMPARK__PROVIDER__EXOTEL__WEBHOOK_SECRET", "short"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("provider.exotel.webhook_secret"), "{err}");
    assert!(!err.contains("short"), "the secret is not echoed: {err}");
    // Twilio's need no token.
    let out = run(sampark()
        .args(["provider-urls", "--config", "config/sampark.toml"])
        .env("SAMPARK__WEBHOOK__PUBLIC_URL", "https://ivr.example.gov.in")
        .env("SAMPARK__PROVIDER__ACCOUNT_SID", "ACx")
        .env("SAMPARK__PROVIDER__AUTH_TOKEN", "t"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("https://ivr.example.gov.in/twilio/inbound\n"),
        "{text}"
    );
}

#[test]
fn demo_runs_on_exotel() {
    let out = run(sampark().args([
        "demo",
        "--contacts",
        "20",
        "--seed",
        "3",
        "--json",
        "--provider",
        "exotel",
    ]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["feedback_records"], 20, "{summary}");
}
