//! Escalations and reports as operators get them: the `sampark` binary
//! (`report`, `report rebuild`, `escalations list|show|ack`) and the admin
//! API (`/admin/reports`, `/admin/escalations`), over a real redis-server
//! whose feedback was relayed and counted the way the daemon does it. The
//! reports are compared with goldens (`tests/fixtures/reports/`) byte for
//! byte: the byte-order mark, CRLF, Odia and Hindi names.

mod support;

#[path = "reports/fixture.rs"]
mod fixture;

use std::process::Output;

use fixture::{OFFICES, Seeded, fetch, golden, parse_csv, seeded};
use sampark::accountability::scorer::score_pending;
use sampark::domain::escalation_id_of;
use sampark::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use sampark::store::Store;
use serde_json::{Value, json};
use support::scorecards::{expected_cards, scoring, stored_cards};

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 on stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the command succeeded and returns its standard output.
fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
    stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_match_the_goldens_from_the_cli_and_the_admin_api() {
    let env = seeded().await;

    // CSV: the CLI, a file it writes, and the admin API give the same bytes.
    let csv = env.sampark(&["report", "--by", "office", "--format", "csv"]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    golden("office.csv", &csv.stdout);
    let file = env.config.with_file_name("office.csv");
    let written = env.sampark(&[
        "report",
        "--by",
        "office",
        "--format",
        "csv",
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(written.stdout.is_empty(), "{}", stdout(&written));
    assert!(stderr(&written).contains("3 rows"), "{}", stderr(&written));
    golden("office.csv", &std::fs::read(&file).unwrap());
    let reply = env.get("/admin/reports/office?format=csv").await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"sampark-report-office-2026-11-29-2026-12-01.csv\"")
    );
    golden("office.csv", &reply.body);

    // Odia and Hindi office names survive the trip: parsed back, they are
    // the records' offices.
    let rows = parse_csv(&reply.body);
    let office = rows[0].iter().position(|h| h == "office").unwrap();
    let mut offices: Vec<&str> = rows[1..].iter().map(|r| r[office].as_str()).collect();
    offices.sort();
    let mut want = OFFICES.to_vec();
    want.sort();
    assert_eq!(offices, want);
    assert!(rows.iter().all(|r| r.len() == rows[0].len()));

    // JSON: the admin API's default, and the CLI's (with a newline).
    let reply = env.get("/admin/reports/official").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("content-disposition"), None);
    golden("official.json", &reply.body);
    let cli = ok(env.sampark(&["report", "--by", "official", "--format", "json"]));
    assert_eq!(cli.as_bytes(), [reply.body.as_slice(), b"\n"].concat());
    let report = reply.json();
    assert_eq!(report["rows"][0]["rank"], 1, "{report}");
    assert_eq!(report["since"], "2026-11-29");

    // The table for people, which README shows as it is.
    let table = ok(env.sampark(&["report", "--by", "department"]));
    golden("department.txt", table.as_bytes());
    let readme = std::fs::read_to_string(support::daemon::repo_path("README.md")).unwrap();
    assert!(
        readme.contains(&format!("$ sampark report --by department\n{table}")),
        "README's example of `report --by department` is the golden"
    );

    // Filters: a department, an office (in Odia, percent-encoded), days.
    let office_q = form_urlencoded::byte_serialize(OFFICES[0].as_bytes()).collect::<String>();
    let reply = env
        .get(&format!(
            "/admin/reports/official?department=police&office={office_q}&since=2026-11-30&until=2026-11-30"
        ))
        .await;
    assert_eq!(reply.status, 200);
    let filtered = reply.json();
    let names: Vec<&str> = filtered["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entity"]["official_id"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{filtered}");
    assert!(names.contains(&"off-kh-1") && names.contains(&"off-kh-2"));
    assert_eq!(
        (&filtered["since"], &filtered["until"]),
        (&json!("2026-11-30"), &json!("2026-11-30"))
    );
    let cli = ok(env.sampark(&[
        "report",
        "--by",
        "official",
        "--format",
        "json",
        "--department",
        "police",
        "--office",
        OFFICES[0],
        "--since",
        "2026-11-30",
        "--until",
        "2026-11-30",
    ]));
    assert_eq!(cli.trim_end().as_bytes(), reply.body.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_report_requests_say_why() {
    let env = seeded().await;
    for (args, says) in [
        (vec!["report", "--by", "officer"], "not a report dimension"),
        (
            vec!["report", "--by", "office", "--since", "2026-02-30"],
            "not a date of the calendar",
        ),
        (
            vec!["report", "--by", "office", "--until", "30/11/2026"],
            "YYYY-MM-DD",
        ),
        (
            vec!["report", "--by", "office", "--format", "xml"],
            "not a report format",
        ),
        (
            vec!["report", "--by", "service", "--office", "x"],
            "office filter",
        ),
        (
            vec![
                "report",
                "--by",
                "office",
                "--since",
                "2026-12-01",
                "--until",
                "2026-11-30",
            ],
            "after",
        ),
        (vec!["report"], "--by"),
    ] {
        let out = env.sampark(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    for (path, says) in [
        ("/admin/reports/officer", "not a report dimension"),
        ("/admin/reports/office?since=2026-02-30", "since"),
        ("/admin/reports/office?until=yesterday", "YYYY-MM-DD"),
        ("/admin/reports/office?format=xml", "json or csv"),
        ("/admin/reports/department?office=x", "office filter"),
        ("/admin/reports/office?offce=x", "unknown query parameter"),
    ] {
        let reply = env.get(path).await;
        assert_eq!(reply.status, 400, "{path}");
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{path}: {error}");
    }
    let reply = fetch(env.admin, "GET", "/admin/reports/office", None, "").await;
    assert_eq!(reply.status, 401);
}

/// (open, severity, at_ms) of each escalation of a listing.
fn order(listing: &Value) -> Vec<(bool, String, i64)> {
    listing["escalations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["open"].as_bool().unwrap(),
                e["severity"].as_str().unwrap().to_owned(),
                e["at_ms"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn severity_rank(s: &str) -> u8 {
    ["urgent", "high", "watch"]
        .iter()
        .position(|x| *x == s)
        .unwrap() as u8
}

/// Open first, then most urgent, then newest (acknowledged ones newest
/// first).
fn assert_ordered(listing: &Value) {
    let keys: Vec<(bool, u8, i64)> = order(listing)
        .into_iter()
        .map(|(open, s, at)| (!open, if open { severity_rank(&s) } else { 0 }, -at))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "{listing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_are_listed_filtered_and_acknowledged_once() {
    let env = seeded().await;
    let cx = scoring();
    let flagged: Vec<_> = env
        .records
        .iter()
        .filter(|r| cx.rules.escalating(r).is_some())
        .collect();
    assert!(flagged.len() > 5, "the fixture raises flags");

    // The token is required.
    for token in [None, Some("wrong")] {
        let reply = fetch(env.admin, "GET", "/admin/escalations", token, "").await;
        assert_eq!(reply.status, 401, "{token:?}");
        let reply = fetch(env.admin, "POST", "/admin/escalations/x/ack", token, "{}").await;
        assert_eq!(reply.status, 401, "{token:?}");
    }

    // Every one open, most urgent first; the CLI's JSON is the API's.
    let open = env.get("/admin/escalations").await.json();
    assert_eq!(open["escalations"].as_array().unwrap().len(), flagged.len());
    assert_ordered(&open);
    assert_eq!(open["escalations"][0]["severity"], "urgent");
    let cli: Value = serde_json::from_str(&ok(env.sampark(&[
        "escalations",
        "list",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(cli, open);

    // Acknowledged once: the second acknowledgement returns the first.
    let target = open["escalations"][0]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/admin/escalations/{target}/ack");
    let reply = env
        .post(
            &path,
            r#"{"by": "ଖୋର୍ଦ୍ଧା SP office", "note": "citizen called back"}"#,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"acknowledged": true, "first": false}));
    let reply = env.post(&path, r#"{"by": "someone else"}"#).await;
    assert_eq!(reply.status, 200);
    let first = reply.json()["first"].clone();
    assert_eq!(first["by"], "ଖୋର୍ଦ୍ଧା SP office");
    assert_eq!(first["note"], "citizen called back");
    let now = env.store.now_ms().await.unwrap();
    assert!(
        (now - first["at_ms"].as_i64().unwrap()).abs() < 60_000,
        "the store's clock"
    );
    let again = env.sampark(&["escalations", "ack", &target, "--by", "a third"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("already acknowledged by ଖୋର୍ଦ୍ଧା SP office"),
        "{}",
        stdout(&again)
    );

    // Acknowledged through the CLI.
    let second = open["escalations"][1]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let acked = ok(env.sampark(&["escalations", "ack", &second, "--by", "health-desk"]));
    assert!(
        acked.starts_with(&format!("acknowledged {second}")),
        "{acked}"
    );
    let one = env
        .get(&format!("/admin/escalations/{second}"))
        .await
        .json();
    assert_eq!(
        (&one["open"], &one["acknowledged"]["by"]),
        (&json!(false), &json!("health-desk"))
    );

    // Open only by default; with all=true the acknowledged ones come last.
    let open_now = env.get("/admin/escalations").await.json();
    assert_eq!(
        open_now["escalations"].as_array().unwrap().len(),
        flagged.len() - 2
    );
    let all = env.get("/admin/escalations?all=true").await.json();
    assert_eq!(all["escalations"].as_array().unwrap().len(), flagged.len());
    assert_ordered(&all);
    let last_two: Vec<bool> = order(&all).iter().rev().take(2).map(|o| o.0).collect();
    assert_eq!(last_two, [false, false]);
    let table = ok(env.sampark(&["escalations", "list", "--all"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("id") && lines[0].ends_with("status"),
        "{table}"
    );
    assert!(lines[1].ends_with("open"), "{table}");
    assert!(lines.last().unwrap().contains("acknowledged by"), "{table}");
    assert!(
        table.contains("ଖୋର୍ଦ୍ଧା ଥାନା") && table.contains(" IST"),
        "{table}"
    );

    // Filters.
    let health = env
        .get("/admin/escalations?all=true&department=health")
        .await
        .json();
    let n_health = flagged.iter().filter(|r| r.department == "health").count();
    assert_eq!(health["escalations"].as_array().unwrap().len(), n_health);
    assert!(order(&health).len() > 1);
    let urgent = env
        .get("/admin/escalations?all=true&severity=urgent")
        .await
        .json();
    assert!(order(&urgent).iter().all(|o| o.1 == "urgent"));
    let n_urgent = flagged
        .iter()
        .filter(|r| cx.rules.escalating(r).unwrap().1.as_str() == "urgent")
        .count();
    assert_eq!(order(&urgent).len(), n_urgent);
    let cli: Value = serde_json::from_str(&ok(env.sampark(&[
        "escalations",
        "list",
        "--all",
        "--severity",
        "urgent",
        "--department",
        "health",
        "--format",
        "json",
    ])))
    .unwrap();
    assert!(order(&cli).iter().all(|o| o.1 == "urgent"));
    assert_eq!(
        cli,
        env.get("/admin/escalations?all=1&severity=urgent&department=health")
            .await
            .json()
    );
    let limited = env.get("/admin/escalations?limit=2").await.json();
    assert_eq!(order(&limited).len(), 2);

    // One in full, with the citizen's answers.
    let inbound = escalation_id_of("inbound/call-1");
    let shown = ok(env.sampark(&["escalations", "show", &inbound]));
    assert!(
        shown.contains("asked_money") && shown.contains("हाँ (yes)"),
        "{shown}"
    );
    assert!(shown.contains("2026-12-01 00:30 IST"), "{shown}");
    let one = env
        .get(&format!("/admin/escalations/{inbound}"))
        .await
        .json();
    assert_eq!(one["answers"][0]["label"], "हाँ");
    assert_eq!(one["direction"], "inbound");

    // Unknown ids.
    assert_eq!(
        env.get("/admin/escalations/esc-0000000000000000")
            .await
            .status,
        404
    );
    let reply = env
        .post(
            "/admin/escalations/esc-0000000000000000/ack",
            r#"{"by": "x"}"#,
        )
        .await;
    assert_eq!(reply.status, 404);
    for args in [
        vec!["escalations", "ack", "esc-0000000000000000", "--by", "x"],
        vec!["escalations", "show", "esc-0000000000000000"],
    ] {
        let out = env.sampark(&args);
        assert_eq!(out.status.code(), Some(4), "{args:?}");
        assert!(stderr(&out).contains("no escalation"), "{}", stderr(&out));
    }

    // Bad acknowledgements change nothing.
    let third = open["escalations"][2]["escalation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/admin/escalations/{third}/ack");
    let long_by = format!(r#"{{"by": "{}"}}"#, "x".repeat(101));
    let long_note = format!(r#"{{"by": "x", "note": "{}"}}"#, "n".repeat(1_001));
    for (body, says) in [
        ("", "JSON object"),
        (r#"{"note": "no by"}"#, "missing field `by`"),
        (r#"{"by": "  "}"#, "empty"),
        (long_by.as_str(), "100"),
        (long_note.as_str(), "1000"),
        (r#"{"by": "x", "colour": "red"}"#, "unknown field"),
    ] {
        let reply = env.post(&path, body).await;
        assert_eq!(reply.status, 400, "{body}");
        let error = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{body}: {error}");
    }
    let out = env.sampark(&["escalations", "ack", &third, "--by", " "]);
    assert_eq!(out.status.code(), Some(2));
    let one = env.get(&format!("/admin/escalations/{third}")).await.json();
    assert_eq!(one["open"], true);
}

/// Every scorecard of every dimension and day.
async fn cards(env: &Seeded) -> support::scorecards::Cards {
    stored_cards(env.store.as_ref()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_rebuild_gives_identical_scorecards() {
    let env = seeded().await;
    let cx = scoring();
    let before = cards(&env).await;
    assert_eq!(before, expected_cards(&env.records, &cx));
    assert!(before.keys().any(|(by, _, _)| *by == Dimension::Official));

    // Scorecards that drifted (a count no record made) are recounted.
    let cursor = env.store.score_cursor().await.unwrap();
    let mut bogus = Tally::default();
    bogus.add("contacts", 1_000);
    let drift = ScoreUpdate {
        by: Dimension::Office,
        day: "2026-11-29".parse().unwrap(),
        entity: Entity {
            path: vec!["police".into(), "nowhere".into()],
        },
        tally: bogus,
    };
    assert!(
        env.store
            .apply_scores(&cursor, &cursor, &[drift])
            .await
            .unwrap()
    );
    assert_ne!(cards(&env).await, before);

    let out = ok(env.sampark(&["report", "rebuild"]));
    assert!(
        out.contains(&format!("counted {} feedback record(s)", env.records.len())),
        "{out}"
    );
    assert_eq!(cards(&env).await, before);
    // And nothing is left to count, by anyone.
    let again = score_pending(env.store.as_ref(), &cx, "after", |_| {})
        .await
        .unwrap();
    assert_eq!(again.records, 0);
    assert_eq!(env.store.score_cursor().await.unwrap(), cursor);
}
