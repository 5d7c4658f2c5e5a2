//! Exotel's webhooks against the daemon's real webhook server: Exotel does
//! not sign its requests, so every URL sampark hands out carries a token
//! (and, when configured, Basic auth credentials); anything else is 403.
//! Also: a survey step by step with the URLs as the ExoML hands them out,
//! and a JSON status callback.

mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use sampark::calls::{CallCore, RetryPolicy};
use sampark::domain::{
    CampaignHeader, CampaignId, Contact, ContactId, JobId, JobSpec, JobState, OfficialId, Outcome,
    PhoneNumber,
};
use sampark::provider::CallControl;
use sampark::provider::exotel::{ExotelControl, UrlSigner};
use sampark::store::keys::shard_of;
use sampark::store::memory::MemoryStore;
use sampark::store::{Authorize, DialLimits, JobRef, Quota, Store};
use sampark::telemetry::Metrics;
use sampark::webhook::{CallWebhooks, HttpServer};
use support::daemon::{dialplans, http_config};
use support::http::raw;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "exotel-webhook-test-secret-0123456789";
const SHARDS: u16 = 4;

fn shard() -> u16 {
    shard_of(&OfficialId::parse("off-1").unwrap(), SHARDS)
}

struct Harness {
    store: Arc<dyn Store>,
    addr: std::net::SocketAddr,
    base: String,
    signer: UrlSigner,
    /// `Authorization` the webhooks must carry, when Basic auth is on.
    authorization: Option<String>,
    cancel: CancellationToken,
}

impl Harness {
    /// `path_and_query` signed, as sampark hands it to Exotel (path and query only).
    fn signed(&self, path_and_query: &str) -> String {
        let url = self.signer.sign(&format!("{}{path_and_query}", self.base));
        let rest = url.split_once("://").unwrap().1;
        rest[rest.find('/').unwrap()..].to_owned()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let auth = self.authorization.clone();
        post(self.addr, path, form, auth.as_deref()).await
    }
}

async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    form: &[(&str, &str)],
    authorization: Option<&str>,
) -> (u16, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    send(
        addr,
        path,
        "application/x-www-form-urlencoded",
        &body,
        authorization,
    )
    .await
}

async fn send(
    addr: std::net::SocketAddr,
    path: &str,
    content_type: &str,
    body: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    raw(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// A job in `dialing` (attempt 1) and the webhook server with Exotel's
/// control on port 0; `basic` turns on Basic auth.
async fn harness(basic: Option<(&str, &str)>) -> Harness {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(SHARDS));
    let header = CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: CampaignId::parse("camp").unwrap(),
        name: "exotel webhook test".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
        kind: sampark::domain::CampaignKind::Survey,
    };
    let contact = Contact {
        visit_at_ms: None,
        id: ContactId::parse("c-1").unwrap(),
        phone: PhoneNumber::parse("+919876543210").unwrap(),
        language: Some("en".into()),
        official_id: OfficialId::parse("off-1").unwrap(),
        office: "Dhenkanal Town PS".into(),
        service: "FIR registration".into(),
        first_name: None,
    };
    store.put_campaign(&header).await.unwrap();
    store
        .enqueue(&JobSpec::new(&header, contact))
        .await
        .unwrap();
    let entries = store
        .read_ready("test", 10, Duration::from_secs(60))
        .await
        .unwrap();
    let quota = Quota {
        burst: 5,
        period: Duration::from_millis(1),
    };
    let granted = store
        .authorize(
            &entries[0],
            &DialLimits::official(quota),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert!(matches!(granted, Authorize::Granted { .. }));

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let signer = UrlSigner::new(SECRET, basic);
    let control = ExotelControl::new(Arc::new(signer.clone()), true);
    let metrics = Arc::new(Metrics::new());
    let core = CallCore::new(
        store.clone(),
        Arc::new(control),
        dialplans(),
        &base,
        RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_secs(60)],
        },
        metrics.clone(),
    );
    let routes = CallWebhooks {
        core: Arc::new(core),
        metrics,
        pending: Arc::new(sampark::calls::PendingStatuses::new(100)),
        instance: "exotel-webhook-test".into(),
    };
    let cancel = CancellationToken::new();
    tokio::spawn(
        HttpServer::new("webhook", listener, http_config(), Arc::new(routes)).run(cancel.clone()),
    );
    let authorization = basic.map(|(u, p)| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )
    });
    Harness {
        store,
        addr,
        base,
        signer,
        authorization,
        cancel,
    }
}

fn answer() -> String {
    format!("/exotel/answer?job=camp%2Fc-1&shard={}&attempt=1", shard())
}

fn status() -> String {
    format!("/exotel/status?job=camp%2Fc-1&shard={}&attempt=1", shard())
}

const CALL: &[(&str, &str)] = &[
    ("CallSid", "exo-1"),
    ("CallFrom", "09876543210"),
    ("CallTo", "06742000000"),
    ("Direction", "outbound-api"),
    ("CallStatus", "in-progress"),
];

async fn stored(h: &Harness) -> sampark::store::Job {
    let id = JobRef::new(shard(), JobId::parse("camp/c-1").unwrap());
    h.store
        .load_job(&id)
        .await
        .unwrap()
        .expect("the job exists")
}

/// The `action` of the document's first `<Gather>`, as a path and query.
fn gather_action(exoml: &str) -> String {
    let doc = roxmltree::Document::parse(exoml).unwrap();
    let action = doc
        .descendants()
        .find(|n| n.has_tag_name("Gather"))
        .and_then(|g| g.attribute("action"))
        .unwrap_or_else(|| panic!("no gather in {exoml}"));
    let rest = action.split_once("://").unwrap().1;
    rest[rest.find('/').unwrap()..].to_owned()
}

#[tokio::test]
async fn a_survey_runs_on_the_urls_the_exoml_hands_out() {
    let h = harness(None).await;
    let (code, first) = h.post(&h.signed(&answer()), CALL).await;
    assert_eq!(code, 200, "{first}");
    assert!(
        first.contains("<Gather") && first.contains("step=1"),
        "{first}"
    );
    let press = |doc: String, key: &'static str| {
        let action = gather_action(&doc);
        let mut form = CALL.to_vec();
        form.push(("DigitsPressed", key));
        let h = &h;
        async move { h.post(&action, &form).await }
    };
    let (code, q2) = press(first, "1").await;
    assert_eq!(code, 200, "{q2}");
    let (_, q3) = press(q2, "1").await;
    let (_, end) = press(q3, "5").await;
    assert!(end.contains("<Hangup/>"), "{end}");
    let answers: Vec<_> = stored(&h)
        .await
        .answers
        .iter()
        .map(|a| (a.question.clone(), a.value.clone()))
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    // The terminal status callback, as JSON.
    let body = r#"{"CallSid":"exo-1","Status":"completed","EventType":"terminal","DateUpdated":"2026-01-01 10:00:00","RecordingUrl":null}"#;
    let (code, _) = send(h.addr, &h.signed(&status()), "application/json", body, None).await;
    assert_eq!(code, 204);
    assert_eq!(stored(&h).await.state, JobState::Done(Outcome::Completed));
    h.cancel.cancel();
}

#[tokio::test]
async fn unauthenticated_exotel_style_webhooks_are_refused() {
    let h = harness(None).await;
    let signed = h.signed(&answer());
    let token = signed.split("sig=").nth(1).unwrap().to_owned();
    let other_job = signed.replace("c-1", "c-2");
    let other_attempt = signed.replace("attempt=1", "attempt=2");
    let gather = h.signed(&format!(
        "/exotel/gather?job=camp%2Fc-1&shard={}&attempt=1&step=1",
        shard()
    ));
    let other_step = gather.replace("step=1", "step=2");
    let another_jobs_token = format!(
        "/exotel/answer?job=camp%2Fc-2&shard={}&attempt=1&sig={token}",
        shard()
    );
    let forged = [
        answer(),                             // no token
        format!("{}&sig=AAAA", answer()),     // a wrong token
        format!("{}&sig=", answer()),         // an empty one
        another_jobs_token,                   // another job's URL, this token
        other_job,                            // the job altered
        other_attempt,                        // the attempt altered
        other_step,                           // the step altered
        format!("{signed}&digits=1"),         // a parameter appended
        signed.replace("/answer", "/status"), // moved to another route
        "/exotel/inbound".to_owned(),         // the inbound route, unsigned
    ];
    for path in &forged {
        let (code, body) = h.post(path, CALL).await;
        assert_eq!(code, 403, "{path}: {body}");
    }
    // Nothing above changed the job; the genuine URL still works.
    assert_eq!(stored(&h).await.ivr_step, 0);
    assert_eq!(h.post(&signed, CALL).await.0, 200);
    h.cancel.cancel();
}

#[tokio::test]
async fn with_basic_auth_the_credentials_are_required_too() {
    let h = harness(Some(("exotel", "hook-pass"))).await;
    let signed = h.signed(&answer());
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("exotel:guess")
    );
    assert_eq!(post(h.addr, &signed, CALL, None).await.0, 403);
    assert_eq!(post(h.addr, &signed, CALL, Some(&wrong)).await.0, 403);
    assert_eq!(
        h.post(&answer(), CALL).await.0,
        403,
        "credentials without a token"
    );
    assert_eq!(h.post(&signed, CALL).await.0, 200);
    h.cancel.cancel();
}

#[tokio::test]
async fn the_inbound_urls_carry_a_static_token() {
    let h = harness(None).await;
    let control = ExotelControl::new(Arc::new(h.signer.clone()), false);
    let url = control.external_url(&format!("{}/exotel/inbound", h.base));
    assert!(url.contains("/exotel/inbound?sig="), "{url}");
    let path = &url[h.base.len()..];
    // Authenticated: the core answers (inbound calls are not set up in
    // this harness, so whatever it says, it is not a 403).
    let (code, _) = h.post(path, CALL).await;
    assert_ne!(code, 403);
    let status = control.external_url(&format!("{}/exotel/inbound/status", h.base));
    assert_ne!(h.post(&status[h.base.len()..], CALL).await.0, 403);
    assert_eq!(
        h.post(&path.replace("/inbound", "/inbound/status"), CALL)
            .await
            .0,
        403
    );
    h.cancel.cancel();
}
