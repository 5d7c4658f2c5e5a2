//! The officials' registry as operators use it: `sampark officials
//! import|list|show|remove` as processes, and the admin listener's
//! `/admin/officials` routes, each over a real redis-server. Numbers are
//! never shown in full: not on stdout or stderr, not in a reply, not in the
//! request log.
//!
//! In a test binary of its own, so no other test's requests share the log
//! callsites while the admin test captures them (as `admin_dnc.rs`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::{Value, json};
use support::admin::{admin_over, request};
use support::daemon::repo_path;
use support::http::raw;
use support::log_capture::LogCapture;
use support::redis_server::RedisServer;

/// The numbers of `docs/examples/officials.csv`, as the file writes them
/// and in any form they could be shown.
const EXAMPLE_DIGITS: [&str; 4] = ["9861000001", "9861000002", "9861000003", "9861000004"];

/// Every form a number of the fixtures could leak in (the national number
/// whole, or split as the example file writes some).
fn assert_masked(text: &str) {
    for digits in EXAMPLE_DIGITS.iter().chain(&["9861000005", "9861000006"]) {
        assert!(!text.contains(digits), "{digits} in:\n{text}");
    }
    assert!(
        !text.contains("98610 00"),
        "a number as written in:\n{text}"
    );
}

/// A settings file naming `redis` (and nothing the registry uses besides).
fn settings_file(dir: &Path, redis: &RedisServer) -> PathBuf {
    let path = dir.join("sampark.toml");
    std::fs::write(
        &path,
        format!(
            "[redis]\nurl = \"{}\"\n\n[provider]\naccount_sid = \"AC0000000000000000000000000000beef\"\n\
             auth_token = \"unused\"\n\n[dialplans]\ndir = {:?}\n",
            redis.url(),
            repo_path("dialplans").display().to_string()
        ),
    )
    .unwrap();
    path
}

/// `sampark officials ARGS --config CONFIG`, never with the developer's
/// `SAMPARK__*` overrides.
fn officials(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sampark"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SAMPARK__") {
            cmd.env_remove(k);
        }
    }
    cmd.arg("officials").args(args).arg("--config").arg(config);
    let out = cmd.output().expect("sampark runs");
    assert_masked(&String::from_utf8_lossy(&out.stdout));
    assert_masked(&String::from_utf8_lossy(&out.stderr));
    out
}

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

fn ids(listing: &Value) -> Vec<String> {
    listing["officials"]
        .as_array()
        .unwrap_or_else(|| panic!("no officials in {listing}"))
        .iter()
        .map(|o| o["official_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_cli_imports_lists_shows_and_removes_officials() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = settings_file(dir.path(), &redis);
    let example = repo_path("docs/examples/officials.csv");
    let example = example.to_str().unwrap();

    // The example CSV: Odia names, `;`-separated languages, quotes.
    let out = ok(officials(&config, &["import", example]));
    assert!(
        out.contains("imported 4 official(s) from")
            && out.contains("4 created, 0 updated, 0 unchanged"),
        "{out}"
    );
    let listed: Value =
        serde_json::from_str(&ok(officials(&config, &["list", "--format", "json"]))).unwrap();
    assert_eq!(
        ids(&listed),
        ["col-khordha", "iic-dhenkanal", "sp-angul", "th-bhubaneswar"]
    );
    let collector = &listed["officials"][0];
    assert_eq!(
        collector,
        &json!({
            "official_id": "col-khordha",
            "name": "ସୁଜାତା ମହାନ୍ତି",
            "phone": "+91******0001",
            "office": "Collectorate, Khordha",
            "department": "Revenue",
            "languages": ["or", "en"],
        })
    );
    assert_eq!(
        listed["officials"][3]["languages"],
        json!(["or", "hi", "en"])
    );
    assert_eq!(listed["officials"][2]["name"], "Asha \"Didi\" Nayak");
    assert_eq!(listed["officials"][2]["languages"], json!([]));

    // The table, and the filters.
    let table = ok(officials(&config, &["list"]));
    assert!(table.starts_with("official_id"), "{table}");
    assert!(table.contains("ପ୍ରିୟା ସାହୁ"), "{table}");
    assert!(table.contains("+91******0003"), "{table}");
    let home: Value = serde_json::from_str(&ok(officials(
        &config,
        &["list", "--department", "Home", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(ids(&home), ["iic-dhenkanal", "sp-angul"]);
    let office = ok(officials(&config, &["list", "--office", "SP Office Angul"]));
    assert_eq!(office.lines().count(), 2, "{office}");
    let none = ok(officials(&config, &["list", "--department", "Health"]));
    assert_eq!(none, "no officials matching the filters\n");

    // One official, as a table and as JSON.
    let shown = ok(officials(&config, &["show", "iic-dhenkanal"]));
    assert!(
        shown.contains("name:") && shown.contains("ପ୍ରିୟା ସାହୁ"),
        "{shown}"
    );
    assert!(shown.contains("+91******0003"), "{shown}");
    let shown: Value = serde_json::from_str(&ok(officials(
        &config,
        &["show", "col-khordha", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(&shown, collector);
    let missing = officials(&config, &["show", "nobody"]);
    assert_eq!(missing.status.code(), Some(4), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("no official nobody"),
        "{}",
        stderr(&missing)
    );
    let bad = officials(&config, &["show", "no body"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));

    // The same file again changes nothing; a JSON file updates one, adds one.
    let out = ok(officials(&config, &["import", example]));
    assert!(out.contains("0 created, 0 updated, 4 unchanged"), "{out}");
    let json_file = dir.path().join("more.json");
    std::fs::write(
        &json_file,
        r#"{"officials": [
  {"official_id": "iic-dhenkanal", "name": "ପ୍ରିୟା ସାହୁ", "phone": "9861000003",
   "office": "Angul Town Police Station", "department": "Home", "languages": ["or", "hi"]},
  {"official_id": "bdo-puri", "name": "ଦେବାଶିଷ ପଣ୍ଡା", "phone": 9861000005,
   "office": "Block Office Puri", "department": "Panchayati Raj", "languages": ["or"]}
]}"#,
    )
    .unwrap();
    let out = ok(officials(&config, &["import", json_file.to_str().unwrap()]));
    assert!(out.contains("1 created, 1 updated, 0 unchanged"), "{out}");
    let moved: Value = serde_json::from_str(&ok(officials(
        &config,
        &["show", "iic-dhenkanal", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(moved["office"], "Angul Town Police Station");
    assert_eq!(moved["languages"], json!(["or", "hi"]));

    // A bad file: every problem with its line, and nothing written.
    let before = ok(officials(&config, &["list", "--format", "json"]));
    let bad_file = dir.path().join("bad.csv");
    std::fs::write(
        &bad_file,
        "official_id,name,phone,office,department,languages\n\
         new-1,ନୂଆ ଅଧିକାରୀ,9861000006,Office,Revenue,or\n\
         new-2,Two,98610 0000,Office,Revenue,or\n\
         new-1,Again,9861000006,Office,Revenue,or;xx1\n",
    )
    .unwrap();
    let refused = officials(&config, &["import", bad_file.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let problems = stderr(&refused);
    let shown = bad_file.display().to_string();
    for want in [
        format!("{shown}: line 3: phone: "),
        format!("{shown}: line 4: official_id: new-1 is listed again (first on line 2)"),
        format!("{shown}: line 4: languages: \"xx1\" is not a language code"),
        format!("error: 3 problem(s) in {shown}; nothing was imported"),
    ] {
        assert!(problems.contains(&want), "{want:?} not in:\n{problems}");
    }
    assert!(stdout(&refused).is_empty(), "{}", stdout(&refused));
    assert_eq!(
        ok(officials(&config, &["list", "--format", "json"])),
        before
    );

    // Removed, once.
    let out = ok(officials(&config, &["remove", "sp-angul"]));
    assert_eq!(out, "removed official sp-angul from the registry\n");
    let again = officials(&config, &["remove", "sp-angul"]);
    assert_eq!(again.status.code(), Some(4), "{}", stderr(&again));
    let left: Value =
        serde_json::from_str(&ok(officials(&config, &["list", "--format", "json"]))).unwrap();
    assert_eq!(
        ids(&left),
        ["bdo-puri", "col-khordha", "iic-dhenkanal", "th-bhubaneswar"]
    );

    // An unreadable file needs no Redis to be refused.
    let missing = officials(&config, &["import", "/nonexistent/officials.csv"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("cannot read"),
        "{}",
        stderr(&missing)
    );
}

/// A request with a body of `content_type`.
fn request_as(addr: std::net::SocketAddr, path: &str, content_type: &str, body: &str) -> String {
    request(addr, "POST", path, Some(TOKEN), body).replace(
        "Content-Type: application/json",
        &format!("Content-Type: {content_type}"),
    )
}

const TOKEN: &str = "s3cret";

fn reply(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[tokio::test]
async fn the_admin_api_manages_the_registry_all_or_nothing() {
    let (capture, _guard) = LogCapture::scoped();
    let redis = RedisServer::start();
    let store = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    let (addr, cancel) = admin_over(Arc::new(store), Some(TOKEN)).await;
    let call = |method: &'static str, path: &'static str, body: &'static str| async move {
        raw(addr, &request(addr, method, path, Some(TOKEN), body)).await
    };
    let mut bodies = Vec::new();

    // The token is required on every route.
    for (method, path) in [
        ("GET", "/admin/officials"),
        ("GET", "/admin/officials/col-khordha"),
        ("POST", "/admin/officials"),
        ("DELETE", "/admin/officials/col-khordha"),
    ] {
        let (status, _) = raw(addr, &request(addr, method, path, None, "")).await;
        assert_eq!(status, 401, "{method} {path}");
        let (status, _) = raw(addr, &request(addr, method, path, Some("wrong"), "")).await;
        assert_eq!(status, 401, "{method} {path}");
    }
    let (status, body) = call("GET", "/admin/officials", "").await;
    assert_eq!((status, reply(&body)), (200, json!({"officials": []})));

    // CSV, told by its content type.
    let csv = std::fs::read_to_string(repo_path("docs/examples/officials.csv")).unwrap();
    let (status, body) = raw(
        addr,
        &request_as(addr, "/admin/officials", "text/csv", &csv),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        reply(&body),
        json!({"imported": 4, "created": 4, "updated": 0, "unchanged": 0})
    );

    // JSON (an array), told by its content type; an update and a new one.
    let (status, body) = call(
        "POST",
        "/admin/officials",
        r#"[{"official_id": "col-khordha", "name": "ସୁଜାତା ମହାନ୍ତି", "phone": "+919861000001",
             "office": "Collectorate, Khordha", "department": "Revenue", "languages": ["or"]},
            {"official_id": "bdo-puri", "name": "ଦେବାଶିଷ ପଣ୍ଡା", "phone": "9861000005",
             "office": "Block Office Puri", "department": "Panchayati Raj", "languages": []},
            {"official_id": "th-bhubaneswar", "name": "Ravi Kumar Das", "phone": "09861000002",
             "office": "Tahasil Office Bhubaneswar", "department": "Revenue", "languages": ["or", "hi", "en"]}]"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        reply(&body),
        json!({"imported": 3, "created": 1, "updated": 1, "unchanged": 1})
    );
    bodies.push(body);

    // A bad file: 422 with every problem, nothing written.
    let (_, before) = call("GET", "/admin/officials", "").await;
    let bad = "official_id,name,phone,office,department,languages\n\
               new-1,One,9861000006,Office,Revenue,or\n\
               new-2,,98610 0000,Office,Revenue,or\n\
               new-1,Again,9861000006,Office,Revenue,or\n";
    let (status, body) = raw(
        addr,
        &request_as(addr, "/admin/officials", "text/csv; charset=utf-8", bad),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let refused = reply(&body);
    assert_eq!(
        refused["error"],
        "the file has 3 problem(s); nothing was imported"
    );
    let problems = refused["problems"].as_array().unwrap();
    let places: Vec<(u64, &str)> = problems
        .iter()
        .map(|p| (p["line"].as_u64().unwrap(), p["field"].as_str().unwrap()))
        .collect();
    assert_eq!(places, [(3, "name"), (3, "phone"), (4, "official_id")]);
    assert!(
        problems[2]["reason"]
            .as_str()
            .unwrap()
            .contains("first on line 2"),
        "{refused}"
    );
    bodies.push(body);
    // The same as JSON, told by its first character (no usable type).
    let (status, body) = raw(
        addr,
        &request_as(
            addr,
            "/admin/officials",
            "text/plain",
            r#"{"officials": [{"official_id": "x"}]}"#,
        ),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let refused = reply(&body);
    assert_eq!(refused["problems"][0]["record"], 0, "{refused}");
    assert_eq!(refused["problems"][0]["field"], "name", "{refused}");
    let (_, after) = call("GET", "/admin/officials", "").await;
    assert_eq!(reply(&after), reply(&before), "nothing was written");

    // Listed by id, filtered, one by one; numbers masked.
    let listed = reply(&after);
    assert_eq!(
        ids(&listed),
        [
            "bdo-puri",
            "col-khordha",
            "iic-dhenkanal",
            "sp-angul",
            "th-bhubaneswar"
        ]
    );
    let (status, body) = call("GET", "/admin/officials?department=Revenue&office=", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&reply(&body)), ["col-khordha", "th-bhubaneswar"]);
    let (_, body) = call("GET", "/admin/officials?office=SP%20Office%20Angul", "").await;
    assert_eq!(ids(&reply(&body)), ["sp-angul"]);
    let (status, body) = call("GET", "/admin/officials?dept=Revenue", "").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = call("GET", "/admin/officials/col-khordha", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        reply(&body),
        json!({
            "official_id": "col-khordha",
            "name": "ସୁଜାତା ମହାନ୍ତି",
            "phone": "+91******0001",
            "office": "Collectorate, Khordha",
            "department": "Revenue",
            "languages": ["or"],
        })
    );
    bodies.push(body);
    let (status, body) = call("GET", "/admin/officials/nobody", "").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = call("GET", "/admin/officials/no%20body", "").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(call("PUT", "/admin/officials/col-khordha", "").await.0, 405);
    assert_eq!(call("DELETE", "/admin/officials", "").await.0, 405);

    // Removed once.
    let (status, body) = call("DELETE", "/admin/officials/sp-angul", "").await;
    assert_eq!(
        (status, reply(&body)),
        (200, json!({"official_id": "sp-angul", "removed": true}))
    );
    let (status, body) = call("DELETE", "/admin/officials/sp-angul", "").await;
    assert_eq!(status, 404, "{body}");
    let (_, body) = call("GET", "/admin/officials", "").await;
    assert_eq!(ids(&reply(&body)).len(), 4);
    bodies.push(body);

    // No full number in any reply or in the log; the audit trail is there.
    let logs = capture.text();
    assert!(
        logs.contains("Officials imported into the registry"),
        "{logs}"
    );
    assert!(logs.contains("official.id=sp-angul"), "{logs}");
    for text in bodies.iter().chain([&logs]) {
        assert_masked(text);
    }
    cancel.cancel();
}
