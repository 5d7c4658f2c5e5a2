//! Escalations and reports as operators get them: the `sampark` binary
//! (`report`, `report rebuild`, `escalations list|show|ack`) and the admin
//! API (`/admin/reports`, `/admin/escalations`), over a real redis-server
//! whose feedback was relayed and counted the way the daemon does it. The
//! reports are compared with goldens (`tests/fixtures/reports/`) byte for
//! byte: the byte-order mark, CRLF, Odia and Hindi names.

mod support;

#[path = "reports/fixture.rs"]
mod fixture;

#[path = "reports/escalations.rs"]
mod escalations;

use std::process::Output;

use fixture::{OFFICES, Seeded, fetch, golden, parse_csv, seeded};
use sampark::accountability::scorer::score_pending;
use sampark::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use sampark::store::Store;
use serde_json::json;
use support::scorecards::{expected_cards, scoring, stored_cards};

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 on stdout")
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the command succeeded and returns its standard output.
pub(crate) fn ok(out: Output) -> String {
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
