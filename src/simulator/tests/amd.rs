//! Answering machines: a voicemail callee, and the detection an originate
//! asks for with `MachineDetection` — its verdict on the (signed) answer
//! request, the ledger and the call resource.

use super::harness::{Receiver, Sim, eventually, quiet_config, start};
use crate::simulator::{LedgerEntry, PressKind, SimulatorConfig};

const VOICEMAIL: &str = "+919876543210";
const PERSON: &str = "+919876543211";

/// Two questions; the answer document hangs up on a detected machine, as
/// an application using detection would.
const ANSWER: &str = r#"<Response><Gather action="/q1" numDigits="1" timeout="5" actionOnEmptyResult="true">
<!-- sampark:choices=12 --><Say>Were you treated well?</Say></Gather></Response>"#;
const Q1: &str = r#"<Response><Gather action="/q2" numDigits="1" timeout="5" actionOnEmptyResult="true">
<!-- sampark:choices=12 --><Say>Were you asked for money?</Say></Gather></Response>"#;
const BYE: &str = "<Response><Hangup/></Response>";

async fn app() -> Receiver {
    Receiver::start(|hit| match hit.path.as_str() {
        "/answer"
            if hit
                .params
                .get("AnsweredBy")
                .is_some_and(|by| by.starts_with("machine")) =>
        {
            (200, BYE.into())
        }
        "/answer" => (200, ANSWER.into()),
        "/q1" => (200, Q1.into()),
        _ => (200, BYE.into()),
    })
    .await
}

fn config() -> SimulatorConfig {
    SimulatorConfig {
        voicemail_numbers: vec![VOICEMAIL.into()],
        ..quiet_config()
    }
}

/// Calls `to` (with `detection`, if any) and waits for the call's end.
async fn call(s: &Sim, app: &Receiver, to: &str, detection: Option<&str>) -> String {
    let (answer, status) = (app.url("/answer"), app.url("/status"));
    let mut form = vec![
        ("To", to),
        ("Url", answer.as_str()),
        ("StatusCallback", status.as_str()),
    ];
    if let Some(mode) = detection {
        form.push(("MachineDetection", mode));
    }
    let sid = s.originate(&form).await;
    eventually("the call ended", || {
        s.sim
            .ledger()
            .iter()
            .any(|e| matches!(e, LedgerEntry::End { call_sid, .. } if *call_sid == sid))
            .then_some(())
    })
    .await;
    sid
}

fn machine_entry(s: &Sim, sid: &str) -> Option<Option<String>> {
    s.sim.ledger().into_iter().find_map(|e| match e {
        LedgerEntry::Machine {
            call_sid,
            answered_by,
            ..
        } if call_sid == sid => Some(answered_by),
        _ => None,
    })
}

fn presses(s: &Sim, sid: &str) -> Vec<PressKind> {
    s.sim
        .ledger()
        .into_iter()
        .filter_map(|e| match e {
            LedgerEntry::Press { call_sid, kind, .. } if call_sid == sid => Some(kind),
            _ => None,
        })
        .collect()
}

fn originate_detection(s: &Sim, sid: &str) -> Option<String> {
    s.sim.ledger().into_iter().find_map(|e| match e {
        LedgerEntry::Originate {
            call_sid,
            machine_detection,
            ..
        } if call_sid == sid => machine_detection,
        _ => None,
    })
}

#[tokio::test]
async fn detection_reports_a_machine_on_the_signed_answer_request() {
    let app = app().await;
    let s = start(config()).await;
    for (mode, verdict, took) in [
        ("Enable", "machine_start", "4000"),
        ("DetectMessageEnd", "machine_end_beep", "12000"),
    ] {
        let sid = call(&s, &app, VOICEMAIL, Some(mode)).await;
        let hits = app.hits_for(&sid);
        let answer: Vec<_> = hits.iter().filter(|h| h.path == "/answer").collect();
        assert_eq!(answer.len(), 1, "{hits:?}");
        assert!(answer[0].signature_ok, "{:?}", answer[0]);
        assert_eq!(answer[0].params["AnsweredBy"], verdict);
        assert_eq!(answer[0].params["MachineDetectionDuration"], took);
        // Hung up on at once: nothing was asked, nothing pressed.
        assert!(hits.iter().all(|h| h.path != "/q1"), "{hits:?}");
        assert!(presses(&s, &sid).is_empty());
        assert_eq!(machine_entry(&s, &sid), Some(Some(verdict.to_owned())));
        assert_eq!(originate_detection(&s, &sid).as_deref(), Some(mode));
        let status = hits.iter().find(|h| h.path == "/status").unwrap();
        assert_eq!(status.params["CallStatus"], "completed");
        let (_, resource) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
        assert_eq!(resource["answered_by"], verdict);
    }
    s.stop().await;
}

#[tokio::test]
async fn a_person_is_reported_human_and_surveyed() {
    let app = app().await;
    let s = start(config()).await;
    let sid = call(&s, &app, PERSON, Some("Enable")).await;
    let hits = app.hits_for(&sid);
    let answer = hits.iter().find(|h| h.path == "/answer").unwrap();
    assert_eq!(answer.params["AnsweredBy"], "human");
    // Only the first request carries the verdict.
    let q1 = hits.iter().find(|h| h.path == "/q1").unwrap();
    assert!(!q1.params.contains_key("AnsweredBy"), "{q1:?}");
    assert_eq!(presses(&s, &sid), [PressKind::Valid, PressKind::Valid]);
    assert_eq!(machine_entry(&s, &sid), None);
    let (_, resource) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
    assert_eq!(resource["answered_by"], "human");
    s.stop().await;
}

#[tokio::test]
async fn without_detection_the_machine_plays_to_nobody() {
    let app = app().await;
    let s = start(config()).await;
    let sid = call(&s, &app, VOICEMAIL, None).await;
    let hits = app.hits_for(&sid);
    assert!(hits.iter().all(|h| !h.params.contains_key("AnsweredBy")));
    // The survey ran; the machine let every Gather time out.
    assert_eq!(presses(&s, &sid), [PressKind::Silent, PressKind::Silent]);
    assert!(hits.iter().any(|h| h.path == "/q2"), "{hits:?}");
    assert_eq!(machine_entry(&s, &sid), Some(None));
    assert_eq!(originate_detection(&s, &sid), None);
    let (_, resource) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
    assert!(resource["answered_by"].is_null());
    s.stop().await;
}

#[tokio::test]
async fn the_voicemail_rate_draws_machines_for_any_number() {
    let app = app().await;
    let s = start(SimulatorConfig {
        answer_rate: 0.0,
        voicemail_rate: 1.0,
        ..quiet_config()
    })
    .await;
    let sid = call(&s, &app, PERSON, Some("Enable")).await;
    assert_eq!(
        machine_entry(&s, &sid),
        Some(Some("machine_start".to_owned()))
    );
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_detection_mode_is_refused() {
    let s = start(config()).await;
    let (status, body) = s
        .api(
            "POST",
            "Calls.json",
            &[
                ("To", VOICEMAIL),
                ("From", "+916742000000"),
                ("Url", "http://127.0.0.1:9/answer"),
                ("MachineDetection", "enable"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 21263);
    assert!(
        body["message"].as_str().unwrap().contains("Enable"),
        "{body}"
    );
    assert!(s.sim.ledger().is_empty());
    s.stop().await;
}
