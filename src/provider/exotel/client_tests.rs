//! Golden requests: the REST client against a scripted HTTP server on
//! port 0, each request checked field by field against Exotel's v1 API
//! (`Calls/connect`, call details, bulk call details), and each kind of
//! reply classified.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;

use super::token::UrlSigner;
use super::{ExotelClient, ExotelConfig};
use crate::domain::{CallStatus, PhoneNumber};
use crate::provider::test_server::{Canned, reply, serve};
use crate::provider::{ErrorClass, OriginateRequest, Provider, ProviderError};

const SID: &str = "odisha1";
const KEY: &str = "key-1";
const TOKEN: &str = "token-1";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn signer() -> Arc<UrlSigner> {
    Arc::new(UrlSigner::new(SECRET, None))
}

fn client(base: &str, timeout: Duration) -> ExotelClient {
    ExotelClient::new(
        ExotelConfig {
            base_url: format!("{base}/"),
            account_sid: SID.into(),
            api_key: KEY.into(),
            api_token: TOKEN.into(),
            request_timeout: timeout,
        },
        signer(),
    )
    .unwrap()
}

fn request() -> OriginateRequest {
    OriginateRequest {
        to: PhoneNumber::parse("+919876543210").unwrap(),
        from: PhoneNumber::parse("+916742100100").unwrap(),
        answer_url: "https://ivr.example/exotel/answer?job=p-1%2Fc-1&shard=0&attempt=2".into(),
        status_url: "https://ivr.example/exotel/status?job=p-1%2Fc-1&shard=0&attempt=2".into(),
        ring_timeout: Duration::from_secs(30),
        machine_detection: false,
    }
}

fn call_json(sid: &str, status: &str, created: &str) -> String {
    format!(
        r#"{{"Call":{{"Sid":"{sid}","ParentCallSid":null,"DateCreated":"{created}","AccountSid":"{SID}","To":null,"From":"09876543210","PhoneNumberSid":"06742100100","Status":"{status}","Direction":"outbound-api"}}}}"#
    )
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{TOKEN}"))
    )
}

#[tokio::test]
async fn connect_sends_every_documented_field() {
    let created = call_json("c0ffee", "in-progress", "2026-01-01 10:00:00");
    let (base, mut seen) = serve(vec![reply(200, &created)]).await;
    let info = client(&base, TIMEOUT).originate(&request()).await.unwrap();
    assert_eq!(info.sid, "c0ffee");
    assert_eq!(info.status, CallStatus::InProgress);
    assert_eq!(info.created_ms, Some(1_767_241_800_000));

    let seen = seen.recv().await.unwrap();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.uri, "/v1/Accounts/odisha1/Calls/connect.json");
    assert_eq!(seen.authorization, Some(basic()));
    assert_eq!(
        seen.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let fields: Vec<(String, String)> = form_urlencoded::parse(seen.body.as_bytes())
        .into_owned()
        .collect();
    let answer = signer().sign(&request().answer_url);
    let status = signer().sign(&request().status_url);
    let want: Vec<(String, String)> = [
        ("From", "+919876543210"),
        ("CallerId", "+916742100100"),
        ("Url", answer.as_str()),
        ("CallType", "trans"),
        ("TimeOut", "30"),
        ("StatusCallback", status.as_str()),
        ("StatusCallbackContentType", "application/json"),
        ("StatusCallbackEvents[0]", "terminal"),
        ("StatusCallbackEvents[1]", "answered"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(fields, want);
    // The callback URLs carry tokens the webhook half accepts.
    assert!(answer.starts_with(&format!("{}&sig=", request().answer_url)));
    assert!(signer().check(answer.trim_start_matches("https://ivr.example"), None));
}

#[tokio::test]
async fn connect_classifies_every_kind_of_refusal() {
    let exception = |status: u16, message: &str| {
        format!(
            r#"{{"RestException":{{"Status":{status},"Code":{status},"Message":"{message}"}}}}"#
        )
    };
    let (base, _seen) = serve(vec![
        reply(400, &exception(400, "From is not a valid phone number")),
        reply(401, &exception(401, "Authentication failed")),
        Canned::Reply {
            status: 429,
            retry_after: Some("30"),
            body: exception(429, "Too Many Requests"),
        },
        reply(503, ""),
        reply(500, &exception(500, "Internal error")),
        reply(200, "<TwilioResponse/>"),
    ])
    .await;
    let exotel = client(&base, TIMEOUT);
    let classes: Vec<ErrorClass> = {
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(exotel.originate(&request()).await.unwrap_err().class());
        }
        out
    };
    assert_eq!(classes[0], ErrorClass::Never);
    assert!(matches!(classes[1], ErrorClass::Later(Some(_))));
    assert_eq!(classes[2], ErrorClass::Later(Some(Duration::from_secs(30))));
    assert_eq!(classes[3], ErrorClass::Later(None));
    assert_eq!(classes[4], ErrorClass::Reconcile);
    // Created but unreadable: which call is unknown.
    assert_eq!(classes[5], ErrorClass::Reconcile);
}

#[tokio::test]
async fn a_lost_reply_is_reconciled_and_a_refused_connection_is_not() {
    let (base, _seen) = serve(vec![Canned::Never]).await;
    let err = client(&base, Duration::from_millis(200))
        .originate(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Unknown(_)), "{err:?}");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&closed, TIMEOUT)
        .originate(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn call_details_get_one_call_or_none() {
    let (base, mut seen) = serve(vec![
        reply(200, &call_json("c/1", "completed", "2026-01-01 10:00:00")),
        reply(
            404,
            r#"{"RestException":{"Status":404,"Message":"Not found"}}"#,
        ),
        reply(502, ""),
    ])
    .await;
    let exotel = client(&base, TIMEOUT);
    let info = exotel.fetch_call("c/1").await.unwrap().unwrap();
    assert_eq!(info.status, CallStatus::Completed);
    let first = seen.recv().await.unwrap();
    assert_eq!(first.method, "GET");
    assert_eq!(first.uri, "/v1/Accounts/odisha1/Calls/c%2F1.json");
    assert_eq!(first.authorization, Some(basic()));
    assert_eq!(first.body, "");
    assert_eq!(exotel.fetch_call("gone").await.unwrap(), None);
    let err = exotel.fetch_call("c1").await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn bulk_details_filter_by_citizen_and_date_and_follow_pages() {
    let page1 = r#"{"Metadata":{"NextPageUri":"/v1/Accounts/odisha1/Calls.json?Before=x"},
        "Calls":[{"Sid":"old","Status":"completed","DateCreated":"2026-01-01 10:59:59"},
                 {"Sid":"new","Status":"queued","DateCreated":"2026-01-01 11:00:00"}]}"#;
    let page2 = r#"{"Metadata":{"NextPageUri":null},
        "Calls":[{"Sid":"undated","Status":"ringing","DateCreated":null}]}"#;
    let (base, mut seen) = serve(vec![reply(200, page1), reply(200, page2)]).await;
    // 2026-01-01 11:00:00.500 IST.
    let since = 1_767_245_400_500;
    let calls = client(&base, TIMEOUT)
        .find_calls(
            &PhoneNumber::parse("+919876543210").unwrap(),
            &PhoneNumber::parse("+916742100100").unwrap(),
            since,
        )
        .await
        .unwrap();
    let sids: Vec<_> = calls.iter().map(|c| c.sid.as_str()).collect();
    assert_eq!(sids, ["new", "undated"]);
    let first = seen.recv().await.unwrap();
    assert_eq!(first.method, "GET");
    let (path, query) = first.uri.split_once('?').unwrap();
    assert_eq!(path, "/v1/Accounts/odisha1/Calls.json");
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(query[0], ("From".into(), "+919876543210".into()));
    assert_eq!(query[1].0, "DateCreated");
    assert!(
        query[1].1.starts_with("gte:2026-01-01 10:59:00;lte:"),
        "{}",
        query[1].1
    );
    assert_eq!(query[2], ("PageSize".into(), "100".into()));
    let second = seen.recv().await.unwrap();
    assert_eq!(second.uri, "/v1/Accounts/odisha1/Calls.json?Before=x");
    assert_eq!(second.authorization, Some(basic()));
}

#[tokio::test]
async fn hangup_is_refused_without_a_request() {
    let (base, mut seen) = serve(vec![]).await;
    let err = client(&base, TIMEOUT).hangup("c1").await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Never);
    assert!(seen.try_recv().is_err());
}

#[tokio::test]
async fn a_reply_over_the_bound_is_not_read_and_classified_as_lost() {
    use crate::provider::MAX_REPLY_BYTES;
    let padded = format!(
        r#"{{"Call":{{"Sid":"s9","Status":"in-progress","DateCreated":"2026-11-30 10:00:00","Pad":"{}"}}}}"#,
        "x".repeat(MAX_REPLY_BYTES)
    );
    let (base, _seen) = serve(vec![reply(200, &padded), reply(200, &padded)]).await;
    let exotel = client(&base, TIMEOUT);
    let err = exotel.originate(&request()).await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Unknown(ref m)
            if m.contains("HTTP 200, reply larger than 1048576 bytes (1 MiB): not read")),
        "a call may have been placed: reconciled, {err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Reconcile);
    let err = exotel.fetch_call("s9").await.unwrap_err();
    assert!(
        matches!(err, ProviderError::Transient(ref m) if m.contains("reply larger than")),
        "a read is retried: {err:?}"
    );
}
