//! The admin listener: campaign submission and status, token, metrics,
//! health (the do-not-call routes: `admin_dnc.rs`).

mod support;

use std::sync::Arc;

use sampark::store::Store;
use sampark::telemetry::Metrics;
use serde_json::{Value, json};
use support::admin::{admin, request};
use support::http::raw;

#[tokio::test]
async fn campaigns_are_validated_submitted_and_reported() {
    let (addr, store, cancel) = admin(Some("s3cret")).await;
    let doc = json!({"version": 1, "id": "adm-1", "name": "Admin", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "health", "contacts": [
            {"id": "a", "phone": "+919876500001", "official_id": "o-1", "office": "Capital Hospital", "service": "OPD"},
            {"id": "b", "phone": "12345", "official_id": "o-1", "office": "Capital Hospital", "service": "OPD"}]})
    .to_string();

    let (status, _) = raw(addr, &request(addr, "POST", "/admin/campaigns", None, &doc)).await;
    assert_eq!(status, 401, "the token is required");
    let (status, body) = raw(
        addr,
        &request(addr, "POST", "/admin/campaigns", Some("s3cret"), &doc),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["campaign_id"], "adm-1");
    assert_eq!(reply["contacts"], 1);
    assert_eq!(reply["rejected_contacts"][0]["index"], 1);
    assert_eq!(
        store.dead_letters(10).await.unwrap().len(),
        0,
        "the daemon, not the API, dead-letters"
    );

    let bad = json!({"version": 1, "id": "adm-2", "name": "x", "dialplan": "nope", "caller_id": "+916742000000", "department": "d", "contacts": []}).to_string();
    let (status, body) = raw(
        addr,
        &request(addr, "POST", "/admin/campaigns", Some("s3cret"), &bad),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("nope"), "{body}");

    let (status, _) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns/adm-1", Some("s3cret"), ""),
    )
    .await;
    assert_eq!(
        status, 404,
        "not ingested yet: no daemon is running in this test"
    );
    let (status, _) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns/bad%20id", Some("s3cret"), ""),
    )
    .await;
    assert_eq!(status, 400);
    cancel.cancel();
}

#[tokio::test]
async fn submissions_report_unknown_fields_and_strict_refuses_them() {
    let (addr, store, cancel) = admin(None).await;
    let doc =
        json!({"version": 1, "id": "adm-3", "name": "Admin", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "health", "not_after": "72h", "contacts": [
            {"id": "a", "phone": "098765 00001", "langauge": "or", "official_id": "o-1",
             "office": "Capital Hospital", "service": "OPD"}]})
        .to_string();

    let (status, body) = raw(
        addr,
        &request(addr, "POST", "/admin/campaigns?strict=true", None, &doc),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["warnings"].as_array().unwrap().len(), 2, "{reply}");
    assert_eq!(store.dead_letters(1).await.unwrap().len(), 0);

    let (status, body) = raw(addr, &request(addr, "POST", "/admin/campaigns", None, &doc)).await;
    assert_eq!(status, 202, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["contacts"], 1, "the national-form phone is valid");
    let warnings = reply["warnings"].as_array().unwrap();
    assert_eq!(warnings[0]["level"], "campaign");
    assert_eq!(warnings[0]["field"], "not_after");
    assert_eq!(warnings[1]["level"], "contact");
    assert_eq!(warnings[1]["field"], "langauge");
    assert_eq!(warnings[1]["did_you_mean"], "language");
    assert_eq!(warnings[1]["contacts"][0], json!({"index": 0, "id": "a"}));
    assert!(
        warnings[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown contact field `langauge` in contacts[0] (a)"),
        "{reply}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn health_and_metrics_need_no_token() {
    let (addr, _store, cancel) = admin(Some("s3cret")).await;
    assert_eq!(
        raw(addr, &request(addr, "GET", "/healthz", None, ""))
            .await
            .0,
        200
    );
    assert_eq!(
        raw(addr, &request(addr, "GET", "/readyz", None, ""))
            .await
            .0,
        200
    );
    let (status, body) = raw(addr, &request(addr, "GET", "/metrics", None, "")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("sampark_outcomes_total{outcome=\"completed\"}"),
        "{body}"
    );
    assert!(!body.contains("+91"), "no phone numbers in metrics");
    cancel.cancel();
}

#[tokio::test]
async fn a_bad_calling_window_is_refused_with_every_problem_and_a_good_one_submitted() {
    let (addr, store, cancel) = admin(None).await;
    let doc = |window: Value| {
        json!({"version": 1, "id": "adm-w", "name": "Windows", "dialplan": "mo-sarkar-feedback",
            "caller_id": "+916742000000", "department": "health", "calling_window": window,
            "contacts": [{"id": "a", "phone": "+919876500001", "official_id": "o-1",
                          "office": "Capital Hospital", "service": "OPD"}]})
        .to_string()
    };
    let bad = doc(json!({
        "zone": "Asia/Calcutta_", "weekdays": ["mon", "caturday"],
        "ranges": ["09:00-13:00", "12:30-20:00", "9-5"],
        "holiday_files": ["config/holidays/odisha-2026.txt"]}));
    let (status, body) = raw(addr, &request(addr, "POST", "/admin/campaigns", None, &bad)).await;
    assert_eq!(status, 422, "{body}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    let problems: Vec<&str> = reply["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for want in [
        "field `calling_window.zone`: ",
        "field `calling_window.weekdays[1]`: ",
        "field `calling_window.ranges`: 09:00-13:00 and 12:30-20:00 overlap",
        "field `calling_window.ranges[2]`: ",
        // The daemon never reads a file named in a document.
        "field `calling_window.holiday_files`: ",
    ] {
        assert_eq!(
            problems.iter().filter(|p| p.starts_with(want)).count(),
            1,
            "{want} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 5, "{problems:#?}");
    let read = |store: Arc<dyn Store>| async move {
        store
            .read_intake(
                "t",
                10,
                std::time::Duration::ZERO,
                std::time::Duration::from_secs(60),
            )
            .await
            .unwrap()
    };
    assert!(read(store.clone()).await.is_empty(), "nothing was queued");

    let good = doc(
        json!({"zone": "Asia/Kolkata", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
        "ranges": ["09:00-13:00", "14:00-18:00"], "holidays": ["2026-01-26"]}),
    );
    let (status, body) = raw(
        addr,
        &request(addr, "POST", "/admin/campaigns", None, &good),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let entries = read(store).await;
    assert_eq!(entries.len(), 1);
    let parsed =
        sampark::domain::parse_campaign_document(entries[0].payload.as_ref().unwrap(), &|_| true)
            .unwrap();
    let window = parsed.header.calling_window.unwrap();
    assert_eq!(window.ranges().len(), 2);
    assert_eq!(window.holidays().len(), 1);
    cancel.cancel();
}

#[tokio::test]
async fn campaign_status_has_counts_per_official() {
    use sampark::store::{Authorize, DialLimits, Quota};
    let (addr, store, cancel) = admin(Some("s3cret")).await;
    let header: sampark::domain::CampaignHeader = serde_json::from_value(json!({
        "id": "adm-4", "name": "Per official", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "health"
    }))
    .unwrap();
    store.put_campaign(&header).await.unwrap();
    for (contact, official) in [("a", "o-1"), ("b", "o-1"), ("c", "o-2")] {
        let contact: sampark::domain::Contact = serde_json::from_value(json!({
            "id": contact, "phone": "+919876500001", "official_id": official,
            "office": "Capital Hospital", "service": "OPD"
        }))
        .unwrap();
        let spec = sampark::domain::JobSpec::new(&header, contact);
        store.enqueue(&spec).await.unwrap();
    }
    // "b" waits behind "a" (the same official) until "a" is decided.
    let read = || store.read_ready("d", 10, std::time::Duration::from_secs(60));
    let entries = read().await.unwrap();
    let entry = entries
        .iter()
        .find(|e| e.job.contact.as_str() == "a")
        .unwrap()
        .clone();
    assert!(entries.iter().all(|e| e.job.contact.as_str() != "b"));
    let open = DialLimits::official(Quota {
        burst: 10,
        period: std::time::Duration::from_millis(1),
    });
    let verdict = store
        .authorize(&entry, &open, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(matches!(verdict, Authorize::Granted { .. }), "{verdict:?}");
    // Then "b" waits for the calling window, an hour away.
    let entries = read().await.unwrap();
    let b = entries
        .iter()
        .find(|e| e.job.contact.as_str() == "b")
        .unwrap();
    let opening = store.now_ms().await.unwrap() + 3_600_000;
    store
        .defer(b, opening, "outside calling hours")
        .await
        .unwrap();

    let (status, body) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns/adm-4", Some("s3cret"), ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Why the others wait, until when, and the estimate.
    let detail: Value = serde_json::from_str(&body).unwrap();
    let waiting = &detail["waiting"];
    assert_eq!(waiting["ready_now"], 1, "{waiting}");
    assert_eq!(
        waiting["reasons"][0]["reason"], "outside calling hours",
        "{waiting}"
    );
    assert_eq!(waiting["reasons"][0]["contacts"], 1, "{waiting}");
    assert_eq!(waiting["reasons"][0]["first_due_ms"], opening, "{waiting}");
    assert!(waiting["eta_ms"].is_i64(), "{waiting}");
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["counts"], json!({"queued": 2, "dialing": 1}));
    assert_eq!(
        reply["officials"],
        json!({"o-1": {"queued": 1, "dialing": 1}, "o-2": {"queued": 1}})
    );
    assert!(!body.contains("9876500001"), "no phone numbers: {body}");
    // The list stays one line per campaign, without the breakdown.
    let (status, body) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns", Some("s3cret"), ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).unwrap();
    let first = &list["campaigns"][0];
    assert_eq!(first["id"], "adm-4", "{list}");
    assert!(first.get("officials").is_none(), "{list}");
    cancel.cancel();
}

/// A campaign document for the refusal tests below.
fn campaign(name: &str, dialplan: &str, contacts: Value) -> String {
    json!({"version": 1, "id": "adm-r", "name": name, "dialplan": dialplan,
        "caller_id": "+916742000000", "department": "health", "contacts": contacts})
    .to_string()
}

fn patient(id: &str, phone: &str) -> Value {
    json!({"id": id, "phone": phone, "official_id": "o-1",
           "office": "Capital Hospital", "service": "OPD"})
}

#[tokio::test]
async fn submissions_are_refused_with_a_code_and_every_reason() {
    let (addr, store, cancel) = admin(None).await;
    let post = |doc: String| async move {
        let (status, body) =
            raw(addr, &request(addr, "POST", "/admin/campaigns", None, &doc)).await;
        let reply: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        (status, reply, body)
    };

    // An unknown dialplan, named with the loaded ones.
    let (status, reply, _) = post(campaign(
        "A",
        "mo-sarkar-feedbak",
        json!([patient("a", "9876500401")]),
    ))
    .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["code"], "unknown_dialplan");
    assert_eq!(
        reply["reasons"][0]["message"],
        "field `dialplan`: no dialplan named \"mo-sarkar-feedbak\" is loaded by this daemon (known: mo-sarkar-feedback, mo-sarkar-inbound, official-call)"
    );

    // No valid contact: each one's reason, masked.
    let (status, reply, body) = post(campaign(
        "A",
        "mo-sarkar-feedback",
        json!([patient("a", "2223456789"), patient("b", "98765 0040")]),
    ))
    .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["code"], "no_valid_contact");
    assert_eq!(
        reply["problems"],
        json!(["no valid contact: all 2 contact(s) are invalid (each is listed with its reason)"])
    );
    let rejected = reply["rejected_contacts"].as_array().unwrap();
    assert_eq!(rejected.len(), 2);
    assert_eq!(
        (&rejected[1]["index"], &rejected[1]["id"]),
        (&json!(1), &json!("b"))
    );
    assert!(
        rejected[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("`phone`: a 10-digit number")
    );
    for digits in ["2223456", "987650040"] {
        assert!(!body.contains(digits), "{digits} in {body}");
    }

    // A header other than the stored campaign's: 409, each field named.
    let stored = campaign(
        "A",
        "mo-sarkar-feedback",
        json!([patient("a", "9876500401")]),
    );
    let header = sampark::domain::parse_campaign_document(&stored, &|_| true)
        .unwrap()
        .header;
    store.put_campaign(&header).await.unwrap();
    let (status, reply, _) = post(stored.clone()).await;
    assert_eq!(status, 202, "the same header again is fine: {reply}");
    let (status, reply, _) = post(campaign(
        "B",
        "mo-sarkar-feedback",
        json!([patient("b", "9876500402")]),
    ))
    .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["code"], "header_conflict");
    assert_eq!(
        reply["reasons"][0]["differences"],
        json!([{"field": "name", "stored": "\"A\"", "submitted": "\"B\""}])
    );
    assert!(
        reply["error"].as_str().unwrap().starts_with(
            "refused: campaign adm-r already exists with a different header: `name` is \"A\""
        ),
        "{reply}"
    );

    // Every reason at once; the status is the first's.
    let (status, reply, _) = post(campaign("B", "retired", json!([patient("c", "12345")]))).await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["code"], "unknown_dialplan");
    let codes: Vec<&str> = reply["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["unknown_dialplan", "no_valid_contact", "header_conflict"]
    );

    // Only the one good submission was queued.
    let entries = store
        .read_intake(
            "t",
            10,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    cancel.cancel();
}

#[tokio::test]
async fn a_campaign_status_shows_what_intake_accepted_and_refused() {
    use sampark::intake::IntakeRouter;
    let (addr, store, cancel) = admin(None).await;
    let router = IntakeRouter::new(
        store.clone(),
        Arc::new(|name: &str| name == "mo-sarkar-feedback"),
        "router".into(),
        std::time::Duration::from_secs(60),
        Arc::new(Metrics::new()),
        sampark::policy::CallingWindow::default(),
    );
    tokio::spawn(router.run(cancel.clone()));
    let doc = campaign(
        "A",
        "mo-sarkar-feedback",
        json!([patient("a", "9876500401"), patient("b", "12345")]),
    );
    let (status, body) = raw(addr, &request(addr, "POST", "/admin/campaigns", None, &doc)).await;
    assert_eq!(status, 202, "{body}");
    // Written to the stream by another program, with a different header.
    store
        .submit(&campaign(
            "B",
            "mo-sarkar-feedback",
            json!([patient("c", "9876500403")]),
        ))
        .await
        .unwrap();
    let reply = support::eventually(
        std::time::Duration::from_secs(10),
        "both ingested",
        || async {
            let (status, body) = raw(
                addr,
                &request(addr, "GET", "/admin/campaigns/adm-r", None, ""),
            )
            .await;
            let reply: Value = serde_json::from_str(&body).ok()?;
            (status == 200 && reply["intake"]["documents_refused"] == 1).then_some(reply)
        },
    )
    .await;
    assert_eq!(reply["total"], 1, "{reply}");
    let intake = &reply["intake"];
    assert_eq!(
        (&intake["documents_accepted"], &intake["contacts_refused"]),
        (&json!(1), &json!(1)),
        "{reply}"
    );
    let reasons: Vec<&str> = intake["last_refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 2, "{reply}");
    assert!(
        reasons[0].contains("`name` is \"A\" in the stored campaign, \"B\""),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("contact rejected: `phone`"),
        "{reasons:?}"
    );
    assert!(!reply.to_string().contains("12345"), "{reply}");

    // A campaign whose only document was refused: 404 with the reason.
    store
        .submit(
            &campaign("C", "retired", json!([patient("d", "9876500404")]))
                .replace("adm-r", "adm-gone"),
        )
        .await
        .unwrap();
    let reply = support::eventually(std::time::Duration::from_secs(10), "refused", || async {
        let (status, body) = raw(
            addr,
            &request(addr, "GET", "/admin/campaigns/adm-gone", None, ""),
        )
        .await;
        let reply: Value = serde_json::from_str(&body).ok()?;
        (status == 404 && !reply["intake"].is_null()).then_some(reply)
    })
    .await;
    assert_eq!(reply["intake"]["documents_refused"], 1, "{reply}");
    assert!(
        reply["intake"]["last_refusals"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no dialplan named \"retired\""),
        "{reply}"
    );
    cancel.cancel();
}
