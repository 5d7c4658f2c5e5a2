//! `campaign submit` tells the truth: every check that can be made before
//! queueing is made there, with its own exit code and every reason; what
//! only the daemon can know is dead-lettered and shown by `campaign status`.
//! And contacts as Excel exports them (`tests/fixtures/excel-contacts.csv`).
//! The real binary, a real redis-server, and the real intake router.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::CampaignId;
use sampark::intake::IntakeRouter;
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use sampark::telemetry::Metrics;
use serde_json::{Value, json};
use support::cli::{intake_documents, run, sampark, submit};
use support::eventually;
use support::redis_server::RedisServer;
use tokio_util::sync::CancellationToken;

async fn store(redis: &RedisServer) -> Arc<RedisStore> {
    Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    )
}

/// The daemon's intake router on `store`, knowing every dialplan `known`
/// accepts; stopped by the returned token.
fn start_router(
    store: Arc<RedisStore>,
    known: fn(&str) -> bool,
) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let cancel = CancellationToken::new();
    let router = IntakeRouter::new(
        store,
        Arc::new(known),
        "router".into(),
        Duration::from_secs(60),
        Arc::new(Metrics::new()),
        sampark::policy::CallingWindow::default(),
    );
    let running = tokio::spawn(router.run(cancel.clone()));
    (cancel, running)
}

/// `campaign status ID --json` once the daemon ingested everything queued.
async fn status_when_ingested(redis: &RedisServer, id: &str) -> Value {
    let (url, id) = (redis.url(), id.to_owned());
    eventually(Duration::from_secs(20), "the intake stream drained", || {
        let (url, id) = (url.clone(), id.clone());
        async move {
            let client = redis::Client::open(url.as_str()).ok()?;
            let mut conn = client.get_multiplexed_async_connection().await.ok()?;
            let pending: i64 = redis::cmd("XLEN")
                .arg("sampark:campaigns")
                .query_async(&mut conn)
                .await
                .ok()?;
            if pending > 0 {
                return None;
            }
            let out = run(sampark().args(["campaign", "status", &id, "--json", "--redis", &url]));
            serde_json::from_slice(&out.stdout).ok()
        }
    })
    .await
}

fn document(id: &str, name: &str, dialplan: &str, contacts: Value) -> Value {
    json!({"version": 1, "id": id, "name": name, "dialplan": dialplan,
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
}

fn contact(id: &str, phone: &str) -> Value {
    json!({"id": id, "phone": phone, "official_id": "off-1",
           "office": "Cuttack Sadar Tahasil", "service": "Mutation"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_excel_export_is_read_its_two_bad_rows_named_by_line_and_the_rest_queued() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let header = dir.path().join("campaign.json");
    std::fs::write(
        &header,
        json!({"version": 1, "id": "excel-1", "name": "Tahasil feedback",
               "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000",
               "department": "revenue"})
        .to_string(),
    )
    .unwrap();
    let fixture = std::path::Path::new("tests/fixtures/excel-contacts.csv");
    let header_arg = header.to_str().unwrap();

    // --strict: the bad rows refuse the whole file; nothing is queued.
    let (code, stdout, stderr) = submit(&redis, fixture, &["--header", header_arg, "--strict"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("refused (--strict): 1 invalid contact(s), 0 unknown field(s), 1 unreadable row(s); nothing was submitted"),
        "{stderr}"
    );
    assert!(intake_documents(&redis).await.is_empty());

    let (code, stdout, stderr) = submit(&redis, fixture, &["--header", header_arg]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "excel-1");
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("tests/fixtures/excel-contacts.csv:"))
        .collect();
    assert_eq!(
        problems,
        [
            "tests/fixtures/excel-contacts.csv:5: contact x-04: `phone`: a 10-digit number without 0 or +91 must be a mobile number starting with 6, 7, 8 or 9; write a landline with its trunk 0 and STD code, or with +91",
            "tests/fixtures/excel-contacts.csv:8: 7 field(s), but the header has 6 (a value holding the separator `;` must be in double quotes)",
        ],
        "{stderr}"
    );
    assert!(
        stderr.contains("submitted 5 contact(s) in 1 intake entry; 1 invalid contact(s) will be dead-lettered; 1 unreadable row(s) left out"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("2223456"),
        "no number in the output: {stderr}"
    );

    // On the stream: every readable row, numbers in E.164; the invalid
    // contact too, for the daemon to dead-letter (masked) and count.
    let docs = intake_documents(&redis).await;
    assert_eq!(docs.len(), 1);
    let contacts = docs[0]["contacts"].as_array().unwrap();
    let by_id = |id: &str| contacts.iter().find(|c| c["id"] == id).cloned();
    let ids: Vec<&str> = contacts.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["x-01", "x-02", "x-03", "x-04", "x-05", "x-07"]);
    for (id, e164) in [
        ("x-01", "+919876500101"),
        ("x-02", "+919876500102"),
        ("x-03", "+919876500103"),
        ("x-05", "+916742390105"),
        ("x-07", "+919876500107"),
    ] {
        assert_eq!(by_id(id).unwrap()["phone"], e164, "{id}");
    }
    let x01 = by_id("x-01").unwrap();
    assert_eq!(x01["office"], "Cuttack Sadar Tahasil; Cuttack");
    assert_eq!(x01["language"], "or");
    assert!(by_id("x-02").unwrap().get("language").is_none());
    assert_eq!(by_id("x-03").unwrap()["office"], "Puri \"Sadar\" PS");
    assert_eq!(
        by_id("x-05").unwrap()["office"],
        "Capital Hospital\nOPD block"
    );

    // The daemon takes the five, dead-letters the sixth; status says so.
    let store = store(&redis).await;
    let (cancel, running) = start_router(store.clone(), |_| true);
    let status = status_when_ingested(&redis, "excel-1").await;
    assert_eq!(status["total"], 5, "{status}");
    assert_eq!(status["intake"]["documents_accepted"], 1, "{status}");
    assert_eq!(status["intake"]["contacts_refused"], 1, "{status}");
    let refusal = &status["intake"]["last_refusals"][0];
    assert!(
        refusal["reason"]
            .as_str()
            .unwrap()
            .contains("contact rejected: `phone`: a 10-digit number"),
        "{refusal}"
    );
    let letters = store.dead_letters(10).await.unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].payload.contains("******6789"),
        "{}",
        letters[0].payload
    );
    cancel.cancel();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_at_submission_has_its_exit_code_and_every_reason() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, doc: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    };

    // 3: an unknown dialplan, named with the known ones.
    let misspelt = write(
        "misspelt.json",
        &document(
            "sub-1",
            "A",
            "mo-sarkar-feedbak",
            json!([contact("a", "9876500201")]),
        ),
    );
    let (code, stdout, stderr) = submit(&redis, &misspelt, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("misspelt.json: field `dialplan`: no dialplan named \"mo-sarkar-feedbak\" in dialplans (known: mo-sarkar-feedback, mo-sarkar-inbound, official-call)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: 1 problem(s) with the campaign document; nothing was submitted"),
        "{stderr}"
    );

    // 4: every contact invalid, each named with its masked reason.
    let invalid = write(
        "invalid.json",
        &document(
            "sub-1",
            "A",
            "mo-sarkar-feedback",
            json!([contact("a", "2223456789"), contact("b", "98765x00202")]),
        ),
    );
    let (code, _, stderr) = submit(&redis, &invalid, &[]);
    assert_eq!(code, 4, "{stderr}");
    for want in [
        "invalid.json: contacts[0] (a): `phone`: a 10-digit number without 0 or +91",
        "invalid.json: contacts[1] (b): `phone`: phone number contains 'x', which is not a digit",
        "invalid.json: no valid contact: all 2 contact(s) are invalid (each is listed with its reason)",
    ] {
        assert!(stderr.contains(want), "{want} in {stderr}");
    }
    for digits in ["2223456", "98765"] {
        assert!(!stderr.contains(digits), "{digits} in {stderr}");
    }
    let empty = write(
        "empty.json",
        &document("sub-1", "A", "mo-sarkar-feedback", json!([])),
    );
    let (code, _, stderr) = submit(&redis, &empty, &[]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("no valid contact: the document has no contacts"),
        "{stderr}"
    );
    assert!(
        intake_documents(&redis).await.is_empty(),
        "nothing was queued"
    );

    // The campaign, ingested by the daemon.
    let first = write(
        "first.json",
        &document(
            "sub-1",
            "A",
            "mo-sarkar-feedback",
            json!([contact("a", "9876500201")]),
        ),
    );
    let (code, _, stderr) = submit(&redis, &first, &[]);
    assert_eq!(code, 0, "{stderr}");
    let store = store(&redis).await;
    let (cancel, running) = start_router(store.clone(), |_| true);
    status_when_ingested(&redis, "sub-1").await;

    // 5: the same id with another header: every differing field named.
    let mut changed = document(
        "sub-1",
        "B",
        "mo-sarkar-feedback",
        json!([contact("b", "9876500202")]),
    );
    changed["call_not_after"] = json!("36h");
    changed["caller_id"] = json!("+916742000001");
    let changed_file = write("changed.json", &changed);
    let (code, stdout, stderr) = submit(&redis, &changed_file, &[]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stdout.is_empty());
    for want in [
        "changed.json: campaign sub-1 already exists with a different header: ",
        "`name` is \"A\" in the stored campaign, \"B\" in this document",
        "`caller_id` is +91******0000 in the stored campaign, +91******0001 in this document",
        "`call_not_after` is (none) in the stored campaign, 36h in this document",
    ] {
        assert!(stderr.contains(want), "{want} in {stderr}");
    }
    assert!(
        !stderr.contains("6742000001"),
        "the caller id is masked: {stderr}"
    );

    // Several at once: all listed; the exit code is the first in order.
    changed["dialplan"] = json!("retired");
    changed["contacts"] = json!([contact("c", "12345")]);
    let everything = write("everything.json", &changed);
    let (code, _, stderr) = submit(&redis, &everything, &[]);
    assert_eq!(code, 3, "{stderr}");
    for want in [
        "no dialplan named \"retired\"",
        "no valid contact: all 1 contact(s) are invalid",
        "campaign sub-1 already exists with a different header",
        "refused: 3 problem(s) with the campaign document",
    ] {
        assert!(stderr.contains(want), "{want} in {stderr}");
    }

    // A dialplans directory that is not there is an error, not a pass.
    let (code, _, stderr) = submit(&redis, &first, &["--dialplans", "no/such/dir"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--dialplans no/such/dir: not a directory"),
        "{stderr}"
    );

    let status = status_when_ingested(&redis, "sub-1").await;
    assert_eq!(
        status["total"], 1,
        "nothing refused reached the daemon: {status}"
    );
    assert_eq!(status["intake"]["documents_accepted"], 1, "{status}");
    assert_eq!(status["intake"]["documents_refused"], 0, "{status}");
    assert!(store.dead_letters(10).await.unwrap().is_empty());
    cancel.cancel();
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_changes_after_submission_is_dead_lettered_and_shown_by_status() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, doc: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    };
    // Two headers for one campaign, both submitted before the daemon stored
    // either: each passes its checks; the second in the stream is refused.
    let a = write(
        "a.json",
        &document(
            "race-1",
            "A",
            "mo-sarkar-feedback",
            json!([contact("a", "9876500301")]),
        ),
    );
    let b = write(
        "b.json",
        &document(
            "race-1",
            "B",
            "mo-sarkar-feedback",
            json!([contact("b", "9876500302")]),
        ),
    );
    // A dialplan the CLI finds in dialplans/ but the daemon no longer has.
    let gone = write(
        "gone.json",
        &document(
            "race-2",
            "C",
            "mo-sarkar-inbound",
            json!([contact("c", "9876500303")]),
        ),
    );
    for file in [&a, &b, &gone] {
        let (code, _, stderr) = submit(&redis, file, &[]);
        assert_eq!(code, 0, "{stderr}");
    }

    let store = store(&redis).await;
    let (cancel, running) = start_router(store.clone(), |name| name != "mo-sarkar-inbound");
    let status = status_when_ingested(&redis, "race-1").await;
    assert_eq!(status["total"], 1, "{status}");
    let intake = &status["intake"];
    assert_eq!(
        (&intake["documents_accepted"], &intake["documents_refused"]),
        (&json!(1), &json!(1)),
        "{status}"
    );
    let reason = intake["last_refusals"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("campaign race-1 already exists with a different header: `name` is \"A\" in the stored campaign, \"B\" in this document"),
        "{reason}"
    );
    // The document is not lost: it is in the dead-letter stream, whole.
    let letters = store.dead_letters(10).await.unwrap();
    let letter = letters
        .iter()
        .find(|l| l.reason == reason)
        .expect("dead-lettered");
    assert!(
        letter.payload.contains("\"name\":\"B\""),
        "{}",
        letter.payload
    );

    let text = run(sampark().args(["campaign", "status", "race-1", "--redis", &redis.url()]));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("intake  1 document(s) accepted, 1 refused; 0 contact(s) refused"),
        "{text}"
    );
    assert!(
        text.contains("already exists with a different header"),
        "{text}"
    );

    // A campaign whose only document the daemon refused: no campaign, and
    // status says why.
    let out = run(sampark().args(["campaign", "status", "race-2", "--redis", &redis.url()]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no campaign race-2"), "{stderr}");
    assert!(
        stderr.contains("0 document(s) accepted, 1 refused"),
        "{stderr}"
    );
    assert!(
        stderr.contains("field `dialplan`: no dialplan named \"mo-sarkar-inbound\" is loaded"),
        "{stderr}"
    );
    assert!(
        store
            .campaign_status(&CampaignId::parse("race-2").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    cancel.cancel();
    running.await.unwrap();
}
