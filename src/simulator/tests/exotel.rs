//! Exotel's REST API as the simulator serves it (`Wire::Exotel`): auth with
//! the API key and token, `Calls/connect` validation and `RestException`s,
//! the `{"Call": …}` resource, call details and bulk call details.

use http::StatusCode;

use super::harness::{TOKEN, quiet_config, start};
use crate::simulator::{SimulatorConfig, Wire};

const ACCOUNT: &str = "odisha1";
const KEY: &str = "sim-key";

fn exotel() -> SimulatorConfig {
    SimulatorConfig {
        wire: Wire::Exotel,
        account_sid: ACCOUNT.into(),
        api_key: KEY.into(),
        ..quiet_config()
    }
}

fn path(tail: &str) -> String {
    format!("/v1/Accounts/{ACCOUNT}/{tail}")
}

const URL: (&str, &str) = ("Url", "http://127.0.0.1:9/exotel/answer?sig=x");

#[tokio::test]
async fn auth_account_and_errors_are_exotels() {
    let s = start(exotel()).await;
    let calls = path("Calls.json");
    let (status, body) = s.request("GET", &calls, &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["RestException"]["Status"], 401, "{body}");
    // Twilio's user (the account sid) is not Exotel's (the API key).
    let (status, _) = s.request("GET", &calls, &[], Some((ACCOUNT, TOKEN))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = s
        .request(
            "GET",
            "/v1/Accounts/other/Calls.json",
            &[],
            Some((KEY, TOKEN)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["RestException"]["Message"].is_string(), "{body}");
    s.stop().await;
}

#[tokio::test]
async fn connect_is_validated_and_answers_a_call_resource() {
    let s = start(exotel()).await;
    let connect = path("Calls/connect.json");
    let caller = ("CallerId", "06742100100");
    let bad: [&[(&str, &str)]; 6] = [
        &[caller, URL],
        &[("From", "+91987"), caller, URL],
        &[("From", "+919876543210"), URL],
        &[("From", "+919876543210"), caller, ("Url", "/relative")],
        &[
            ("From", "+919876543210"),
            ("To", "+919800000000"),
            caller,
            URL,
        ],
        &[
            ("From", "+919876543210"),
            caller,
            URL,
            ("StatusCallbackEvents[0]", "ringing"),
        ],
    ];
    for form in bad {
        let (status, body) = s.request("POST", &connect, form, Some((KEY, TOKEN))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert_eq!(body["RestException"]["Status"], 400, "{body}");
    }
    let form = [
        ("From", "+919876543210"),
        caller,
        URL,
        ("CallType", "trans"),
        ("TimeOut", "30"),
        ("StatusCallbackEvents[0]", "terminal"),
    ];
    let (status, body) = s.request("POST", &connect, &form, Some((KEY, TOKEN))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call = &body["Call"];
    let sid = call["Sid"].as_str().unwrap().to_owned();
    assert_eq!(call["From"], "09876543210");
    assert_eq!(call["To"], "06742100100");
    assert_eq!(call["Direction"], "outbound-api");
    assert!(call["DateCreated"].as_str().unwrap().len() == 19, "{call}");

    let (status, body) = s
        .request(
            "GET",
            &path(&format!("Calls/{sid}.json")),
            &[],
            Some((KEY, TOKEN)),
        )
        .await;
    assert_eq!(
        (status, body["Call"]["Sid"].as_str()),
        (StatusCode::OK, Some(sid.as_str()))
    );

    let query = "Calls.json?From=%2B919876543210&DateCreated=gte:2000-01-01+00:00:00;lte:2999-01-01+00:00:00";
    let (status, body) = s
        .request("GET", &path(query), &[], Some((KEY, TOKEN)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Calls"][0]["Sid"].as_str(), Some(sid.as_str()));
    assert_eq!(body["Metadata"]["NextPageUri"], serde_json::Value::Null);
    let none = "Calls.json?From=%2B919800000000";
    let (_, body) = s.request("GET", &path(none), &[], Some((KEY, TOKEN))).await;
    assert_eq!(body["Calls"].as_array().map(Vec::len), Some(0));
    let (status, _) = s
        .request(
            "GET",
            &path("Calls.json?DateCreated=yesterday"),
            &[],
            Some((KEY, TOKEN)),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    s.stop().await;
}
