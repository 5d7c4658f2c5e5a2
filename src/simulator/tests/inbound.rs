//! Inbound calls: a citizen calls the programme's number, the Voice URL is
//! fetched with Twilio's inbound parameters, a persona answers the Gathers,
//! one terminal status reaches the number's status URL.

use std::time::Duration;

use http::StatusCode;

use super::harness::{Hit, Receiver, SID, TOKEN, eventually, quiet_config, start};
use crate::simulator::{
    AfterScript, Direction, LedgerEntry, Persona, PressKind, SimulatorConfig, SimulatorError,
};

const PROGRAMME: &str = "+916742100100";
const CITIZEN: &str = "+919876543210";

const VOICE: &str = r#"<Response><Gather action="/q1" numDigits="1">
<!-- sampark:choices=12 opt_out=9 --><Say>Press one or two</Say></Gather></Response>"#;
const Q1: &str = r#"<Response><Gather action="q2" numDigits="1">
<!-- sampark:choices=123 --><Say>Rate the office</Say></Gather><Hangup/></Response>"#;
const Q2: &str = "<Response><Say>Thank you</Say><Hangup/></Response>";

async fn survey_app() -> Receiver {
    Receiver::start(|hit| match hit.path.as_str() {
        "/voice" => (200, VOICE.into()),
        "/q1" => (200, Q1.into()),
        "/q2" => (200, Q2.into()),
        // The same question for ever: the call lasts until hung up.
        "/loop" => (
            200,
            r#"<Response><Gather numDigits="1"/></Response>"#.into(),
        ),
        "/down" => (503, String::new()),
        _ => (200, String::new()),
    })
    .await
}

fn inbound_config(app: &Receiver, voice: &str) -> SimulatorConfig {
    SimulatorConfig {
        inbound_voice_url: Some(app.url(voice)),
        inbound_status_url: Some(app.url("/status")),
        ..quiet_config()
    }
}

fn statuses(app: &Receiver, sid: &str) -> Vec<Hit> {
    app.hits_for(sid)
        .into_iter()
        .filter(|h| h.path == "/status")
        .collect()
}

async fn first_status(app: &Receiver, sid: &str) -> Hit {
    eventually("the status callback", || {
        statuses(app, sid).into_iter().next()
    })
    .await
}

fn presses(ledger: &[LedgerEntry], sid: &str) -> Vec<(u32, String, PressKind)> {
    ledger
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::Press {
                call_sid,
                gather,
                digits,
                kind,
                ..
            } if call_sid == sid => Some((*gather, digits.clone(), *kind)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_persona_call_is_signed_inbound_and_ends_with_one_completed_status() {
    let app = survey_app().await;
    let s = start(inbound_config(&app, "/voice")).await;
    let persona = Persona {
        presses: vec!["2".into(), "7".into()],
        then: AfterScript::HangUp,
        ..Persona::default()
    };
    let sid = s.sim.place_inbound(Some(CITIZEN), Some(persona)).unwrap();
    first_status(&app, &sid).await;
    let (_, call) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
    let ledger = s.sim.ledger();
    // `stop` drains every call task: no second status can follow.
    s.stop().await;

    // Every request carries an `X-Twilio-Signature` that
    // `provider::twilio::signature::verify` accepts (checked by the receiver).
    let hits = app.hits_for(&sid);
    assert!(hits.iter().all(|h| h.signature_ok), "{hits:?}");
    let paths: Vec<_> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(paths, ["/voice", "/q1", "/q2", "/status"]);
    assert_eq!(hits[0].method, "POST");
    for (key, value) in [
        ("AccountSid", SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", sid.as_str()),
        ("CallStatus", "ringing"),
        ("Called", PROGRAMME),
        ("To", PROGRAMME),
        ("Caller", CITIZEN),
        ("From", CITIZEN),
        ("Direction", "inbound"),
    ] {
        let got = hits[0].params.get(key).map(String::as_str);
        assert_eq!(got, Some(value), "{key}");
    }
    for (hit, digits) in [(&hits[1], "2"), (&hits[2], "7")] {
        assert_eq!(hit.params["Digits"], digits);
        assert_eq!(hit.params["Direction"], "inbound");
        assert_eq!(hit.params["CallStatus"], "in-progress");
    }
    let done = &hits[3].params;
    for (key, value) in [
        ("CallStatus", "completed"),
        ("Direction", "inbound"),
        ("From", CITIZEN),
        ("To", PROGRAMME),
        ("AccountSid", SID),
    ] {
        assert_eq!(done[key], value, "{key}");
    }
    let secs: u64 = done["CallDuration"].parse().unwrap();
    assert!(secs > 0);

    assert_eq!(call["direction"], "inbound");
    assert_eq!(call["from"], CITIZEN);
    assert_eq!(call["to"], PROGRAMME);
    assert_eq!(call["status"], "completed");
    assert_eq!(call["duration"], secs.to_string());

    let mine: Vec<_> = ledger.iter().filter(|e| e.call_sid() == sid).collect();
    assert!(mine.iter().all(|e| e.direction() == Direction::Inbound));
    assert!(
        matches!(mine[0], LedgerEntry::Incoming { from_masked, .. } if from_masked == "+91******3210")
    );
    assert_eq!(
        presses(&ledger, &sid),
        [
            (0, "2".into(), PressKind::Valid),
            (1, "7".into(), PressKind::Invalid)
        ]
    );
    assert!(matches!(mine.last(), Some(LedgerEntry::End { status, .. }) if status == "completed"));
}

#[tokio::test]
async fn the_control_route_answers_201_400_401_409() {
    let app = survey_app().await;
    let s = start(quiet_config()).await;
    let auth = Some((SID, TOKEN));
    let (status, body) = s.post_json("/sim/inbound", "{}", auth).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("voice URL"),
        "{body}"
    );
    s.stop().await;

    let s = start(inbound_config(&app, "/voice")).await;
    let (status, _) = s.post_json("/sim/inbound", "{}", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s.post_json("/sim/inbound", "{}", Some((SID, "x"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for bad in [
        "not json",
        r#"{"from": "+91123"}"#,
        r#"{"from": 919876543210}"#,
        r#"{"persona": {"presses": ["one"]}}"#,
        r#"{"persona": {"then": "sing"}}"#,
        r#"{"caller": "+919876543210"}"#,
    ] {
        let (status, body) = s.post_json("/sim/inbound", bad, auth).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(s.sim.ledger().is_empty(), "nothing was placed");
    let good = r#"{"from": "+919876543210", "persona": {"presses": ["1"], "then": "hangup"}}"#;
    let (status, placed) = s.post_json("/sim/inbound", good, auth).await;
    assert_eq!(status, StatusCode::CREATED, "{placed}");
    let sid = placed["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("CA") && sid.len() == 34);
    assert_eq!(
        (placed["from"].as_str(), placed["to"].as_str()),
        (Some(CITIZEN), Some(PROGRAMME))
    );
    let (status, drawn) = s.post_json("/sim/inbound", "", auth).await;
    assert_eq!(status, StatusCode::CREATED, "an empty body draws a caller");
    assert!(drawn["from"].as_str().unwrap().starts_with("+91"));

    let (_, list) = s.api("GET", "Calls.json?From=%2B919876543210", &[]).await;
    let calls = list["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{list}");
    assert_eq!(calls[0]["sid"], sid.as_str());
    assert_eq!(calls[0]["direction"], "inbound");
    assert_eq!(calls[0]["to"], PROGRAMME);
    let done = first_status(&app, &sid).await;
    assert_eq!(done.params["CallStatus"], "completed");
    let (status, _) = s.request("GET", "/sim/inbound", &[], auth).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    s.stop().await;
}

#[tokio::test]
async fn place_inbound_reports_what_is_wrong() {
    let app = survey_app().await;
    let s = start(quiet_config()).await;
    let result = s.sim.place_inbound(Some(CITIZEN), None);
    assert!(
        matches!(result, Err(SimulatorError::NoInboundVoiceUrl)),
        "{result:?}"
    );
    s.stop().await;
    let s = start(inbound_config(&app, "/voice")).await;
    let result = s.sim.place_inbound(Some("919876543210"), None);
    assert!(
        matches!(result, Err(SimulatorError::InvalidCaller(_))),
        "{result:?}"
    );
    let persona = Persona {
        presses: vec!["1".into(), "press".into()],
        ..Persona::default()
    };
    let result = s.sim.place_inbound(None, Some(persona));
    assert!(
        matches!(result, Err(SimulatorError::InvalidPersona(_))),
        "{result:?}"
    );
    assert_eq!(s.sim.active_calls(), 0);
    s.stop().await;
}

#[tokio::test]
async fn automatic_inbound_calls_arrive_at_the_rate() {
    let app = survey_app().await;
    let s = start(SimulatorConfig {
        // A call every 10 ms on average.
        inbound_rate_per_minute: 6000.0,
        inbound_callers: vec!["+919812345678".into()],
        ..inbound_config(&app, "/voice")
    })
    .await;
    let voice = eventually("an automatic inbound call", || {
        app.hits().into_iter().find(|h| h.path == "/voice")
    })
    .await;
    assert_eq!(voice.params["Direction"], "inbound");
    assert_eq!(voice.params["From"], "+919812345678");
    assert_eq!(voice.params["To"], PROGRAMME);
    assert!(voice.signature_ok);
    eventually("an automatic call in the ledger", || {
        s.sim
            .ledger()
            .iter()
            .any(|e| matches!(e, LedgerEntry::Incoming { .. }))
            .then_some(())
    })
    .await;
    s.stop().await;
}

#[tokio::test]
async fn a_voice_url_answering_503_fails_the_call() {
    let app = survey_app().await;
    let s = start(inbound_config(&app, "/down")).await;
    let sid = s.sim.place_inbound(None, None).unwrap();
    let done = first_status(&app, &sid).await;
    assert_eq!(done.params["CallStatus"], "failed");
    assert_eq!(done.params["Direction"], "inbound");
    assert_eq!(done.params["CallDuration"], "0");
    assert!(done.signature_ok);
    let (_, call) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
    assert_eq!(call["status"], "failed");
    let ended = s
        .sim
        .ledger()
        .into_iter()
        .find(|e| matches!(e, LedgerEntry::End { .. }));
    assert!(
        matches!(&ended, Some(LedgerEntry::End { status, direction: Direction::Inbound, .. }) if status == "failed"),
        "{ended:?}"
    );
    assert!(presses(&s.sim.ledger(), &sid).is_empty());
    s.stop().await;
}

#[tokio::test]
async fn inbound_calls_go_over_max_concurrent_and_hang_up_over_rest() {
    let app = survey_app().await;
    let s = start(SimulatorConfig {
        max_concurrent: 1,
        think_delay: (Duration::from_millis(50), Duration::from_millis(50)),
        ..inbound_config(&app, "/loop")
    })
    .await;
    let first = s.sim.place_inbound(Some(CITIZEN), None).unwrap();
    let second = s.sim.place_inbound(None, None).unwrap();
    assert_eq!(s.sim.active_calls(), 2, "a citizen's call is never refused");
    for sid in [&first, &second] {
        eventually("the call converses", || {
            (app.hits_for(sid).len() > 1).then_some(())
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
    }
    for sid in [&first, &second] {
        let done = first_status(&app, sid).await;
        assert_eq!(done.params["CallStatus"], "completed");
    }
    assert_eq!(s.sim.active_calls(), 0);
    s.stop().await;
    for sid in [&first, &second] {
        assert_eq!(statuses(&app, sid).len(), 1, "one terminal status");
    }
}
