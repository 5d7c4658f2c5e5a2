//! REST API behaviour: auth, validation, limits, lookups, hang-up.

use std::time::Duration;

use http::StatusCode;

use super::harness::{Receiver, SID, TOKEN, eventually, quiet_config, start};
use crate::simulator::{LedgerEntry, SimulatorConfig};

fn slow_ring() -> SimulatorConfig {
    SimulatorConfig {
        ring_delay: (Duration::from_secs(30), Duration::from_secs(30)),
        ..quiet_config()
    }
}

#[tokio::test]
async fn auth_and_account_are_checked() {
    let s = start(quiet_config()).await;
    let path = format!("/2010-04-01/Accounts/{SID}/Calls.json");
    let (status, body) = s.request("GET", &path, &[], None).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::UNAUTHORIZED, Some(20003))
    );
    let (status, _) = s.request("GET", &path, &[], Some((SID, "wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = "/2010-04-01/Accounts/ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Calls.json";
    let (status, body) = s.request("GET", other, &[], Some((SID, TOKEN))).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(20404))
    );
    let (status, body) = s
        .api("GET", "Calls/CA00000000000000000000000000000000.json", &[])
        .await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::NOT_FOUND, Some(20404))
    );
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20404"
    );
    s.stop().await;
}

#[tokio::test]
async fn originate_parameters_are_validated() {
    let s = start(quiet_config()).await;
    let url = ("Url", "http://127.0.0.1:9/answer");
    let cases: [(&[(&str, &str)], u64); 5] = [
        (&[("From", "+916742000000"), url], 21201),
        (
            &[("To", "+91987654321"), ("From", "+916742000000"), url],
            21211,
        ),
        (&[("To", "+919876543210"), url], 21603),
        (&[("To", "+919876543210"), ("From", "+916742000000")], 21205),
        (
            &[
                ("To", "+919876543210"),
                ("From", "+916742000000"),
                ("Url", "ftp://x/y"),
            ],
            21205,
        ),
    ];
    for (form, code) in cases {
        let (status, body) = s.api("POST", "Calls.json", form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert_eq!(body["code"].as_u64(), Some(code), "{form:?}: {body}");
        assert_eq!(body["status"].as_u64(), Some(400));
    }
    let (_, body) = s
        .api(
            "POST",
            "Calls.json",
            &[("To", "+91987654321"), ("From", "+916742000000"), url],
        )
        .await;
    assert_eq!(
        body["message"],
        "The 'To' number +91987654321 is not a valid phone number."
    );
    let (status, body) = s
        .api(
            "POST",
            "Calls.json",
            &[
                ("To", "+919876543210"),
                ("From", "+916742000000"),
                url,
                ("StatusCallbackEvent", "exploded"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(s.sim.ledger().is_empty(), "nothing was originated");
    s.stop().await;
}

#[tokio::test]
async fn concurrency_cap_gives_429_20429() {
    let s = start(SimulatorConfig {
        max_concurrent: 1,
        ..slow_ring()
    })
    .await;
    let app = Receiver::start(|_| (200, String::new())).await;
    let answer = app.url("/answer");
    let sid = s.originate(&[("Url", &answer)]).await;
    assert_eq!(s.sim.active_calls(), 1);
    let form = [
        ("To", "+919876543211"),
        ("From", "+916742000000"),
        ("Url", answer.as_str()),
    ];
    let (status, body) = s.api("POST", "Calls.json", &form).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some(20429))
    );
    // Hanging up the ringing call cancels it and frees the slot.
    let (status, body) = s
        .api(
            "POST",
            &format!("Calls/{sid}.json"),
            &[("Status", "completed")],
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("canceled"))
    );
    assert_eq!(s.sim.active_calls(), 0);
    let (status, _) = s.api("POST", "Calls.json", &form).await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop().await;
}

#[tokio::test]
async fn calls_per_second_cap_gives_429() {
    let s = start(SimulatorConfig {
        calls_per_second: Some(1),
        ..slow_ring()
    })
    .await;
    s.originate(&[("Url", "http://127.0.0.1:9/a")]).await;
    let form = [
        ("To", "+919876543210"),
        ("From", "+916742000000"),
        ("Url", "http://127.0.0.1:9/a"),
    ];
    let (status, body) = s.api("POST", "Calls.json", &form).await;
    assert_eq!(
        (status, body["code"].as_u64()),
        (StatusCode::TOO_MANY_REQUESTS, Some(20429))
    );
    s.stop().await;
}

#[tokio::test]
async fn created_call_is_a_twilio_resource_and_listable() {
    let s = start(slow_ring()).await;
    let sid = s.originate(&[("Url", "http://127.0.0.1:9/a")]).await;
    let (status, call) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sid.starts_with("CA") && sid.len() == 34);
    assert_eq!(call["account_sid"], SID);
    assert_eq!(call["direction"], "outbound-api");
    assert_eq!(call["api_version"], "2010-04-01");
    assert!(call["date_created"].as_str().unwrap().ends_with(" +0000"));
    let other = s
        .originate(&[("Url", "http://127.0.0.1:9/a"), ("To", "+14155550100")])
        .await;
    let (_, list) = s
        .api(
            "GET",
            "Calls.json?To=%2B919876543210&StartTime%3E=2000-01-01",
            &[],
        )
        .await;
    let sids: Vec<_> = list["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sid"].clone())
        .collect();
    assert_eq!(sids, vec![serde_json::json!(sid)], "{list}");
    assert_eq!(
        (list["page"].as_u64(), list["page_size"].as_u64()),
        (Some(0), Some(50))
    );
    let (_, list) = s
        .api("GET", "Calls.json?StartTime%3C=2000-01-01", &[])
        .await;
    assert!(list["calls"].as_array().unwrap().is_empty());
    let (_, list) = s.api("GET", "Calls.json?PageSize=1", &[]).await;
    assert_eq!(list["calls"][0]["sid"], other.as_str(), "newest first");
    assert!(list["next_page_uri"].is_string());
    let (status, _) = s.api("GET", "Calls.json?StartTime%3E=yesterday", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test]
async fn hanging_up_an_answered_call_sends_the_terminal_callback() {
    // The application asks the same question over and over.
    let app = Receiver::start(|hit| match hit.path.as_str() {
        "/answer" => (
            200,
            r#"<Response><Gather numDigits="1"/></Response>"#.into(),
        ),
        _ => (200, String::new()),
    })
    .await;
    let s = start(SimulatorConfig {
        think_delay: (Duration::from_millis(50), Duration::from_millis(50)),
        ..quiet_config()
    })
    .await;
    let sid = s
        .originate(&[
            ("Url", &app.url("/answer")),
            ("StatusCallback", &app.url("/status")),
        ])
        .await;
    eventually("the call is answered", || {
        (app.hits_for(&sid).len() > 1).then_some(())
    })
    .await;
    let (status, body) = s
        .api(
            "POST",
            &format!("Calls/{sid}.json"),
            &[("Status", "completed")],
        )
        .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("completed"))
    );
    let done = eventually("the terminal callback", || {
        app.hits_for(&sid)
            .into_iter()
            .find(|h| h.path == "/status" && h.params["CallStatus"] == "completed")
    })
    .await;
    assert!(done.signature_ok);
    let ended = eventually("the ledger end", || {
        s.sim
            .ledger()
            .into_iter()
            .find(|e| matches!(e, LedgerEntry::End { .. }))
    })
    .await;
    assert!(matches!(ended, LedgerEntry::End { status, .. } if status == "completed"));
    s.stop().await;
}

#[tokio::test]
async fn shutdown_stops_ringing_calls_without_callbacks() {
    let app = Receiver::start(|_| (200, String::new())).await;
    let s = start(slow_ring()).await;
    let sid = s
        .originate(&[
            ("Url", &app.url("/answer")),
            ("StatusCallback", &app.url("/status")),
        ])
        .await;
    assert_eq!(s.sim.active_calls(), 1);
    // `stop` cancels and waits (with a deadline) for the call task to drain.
    s.stop().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(app.hits_for(&sid).is_empty(), "no callback after shutdown");
}
