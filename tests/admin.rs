//! The admin listener: campaign submission and status, token, metrics, health.

mod support;

use std::sync::Arc;

use sampark::store::Store;
use sampark::store::memory::MemoryStore;
use sampark::telemetry::Metrics;
use sampark::webhook::{AdminRoutes, HttpServer};
use serde_json::{Value, json};
use support::daemon::{dialplans, http_config};
use support::http::raw;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

async fn admin(token: Option<&str>) -> (std::net::SocketAddr, Arc<dyn Store>, CancellationToken) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
    let routes = AdminRoutes {
        store: store.clone(),
        dialplans: dialplans(),
        metrics: Arc::new(Metrics::new()),
        token: token.map(str::to_owned),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(
        HttpServer::new("admin", listener, http_config(), Arc::new(routes)).run(cancel.clone()),
    );
    (addr, store, cancel)
}

fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

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
    let entry = store
        .read_ready("d", 10, std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.job.contact.as_str() == "a")
        .unwrap();
    let open = DialLimits::official(Quota {
        burst: 10,
        period: std::time::Duration::from_millis(1),
    });
    let verdict = store
        .authorize(&entry, &open, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert!(matches!(verdict, Authorize::Granted { .. }), "{verdict:?}");

    let (status, body) = raw(
        addr,
        &request(addr, "GET", "/admin/campaigns/adm-4", Some("s3cret"), ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
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
