//! Whole calls: status callbacks, a two-question flow whose presses must
//! arrive at the action URLs exactly as the ledger says, TwiML edge cases.

use std::collections::HashMap;
use std::time::Duration;

use super::harness::{Receiver, Sim, eventually, quiet_config, start};
use crate::simulator::{Direction, LedgerEntry, PressKind, SimulatorConfig};

const ANSWER: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say>Welcome</Say>
<Gather action="/q1" numDigits="1" timeout="5" actionOnEmptyResult="true">
<!-- sampark:choices=12 opt_out=9 --><Say>Were you treated well?</Say></Gather></Response>"#;
const Q1: &str = r#"<Response><Gather action="q2?x=1" numDigits="1">
<!-- sampark:choices=123 --><Say>Rate the office</Say></Gather><Say>No input</Say><Hangup/></Response>"#;
const Q2: &str = "<Response><Say>Thank you</Say><Hangup/></Response>";

async fn survey_app() -> Receiver {
    Receiver::start(|hit| match hit.path.as_str() {
        "/answer" => (200, ANSWER.into()),
        "/q1" => (200, Q1.into()),
        "/q2" => (200, Q2.into()),
        _ => (200, String::new()),
    })
    .await
}

fn mixed_citizens(seed: u64) -> SimulatorConfig {
    SimulatorConfig {
        seed,
        invalid_key_rate: 0.25,
        silent_rate: 0.25,
        opt_out_rate: 0.15,
        ..quiet_config()
    }
}

/// Places `n` calls one after another and waits until all have ended.
async fn run_calls(s: &Sim, app: &Receiver, n: usize) -> Vec<String> {
    let (answer, status) = (app.url("/answer"), app.url("/status"));
    let mut sids = Vec::new();
    for _ in 0..n {
        let form = [
            ("Url", answer.as_str()),
            ("StatusCallback", status.as_str()),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
        ];
        sids.push(s.originate(&form).await);
    }
    eventually("every call ended", || {
        let ends = s
            .sim
            .ledger()
            .iter()
            .filter(|e| matches!(e, LedgerEntry::End { .. }))
            .count();
        (ends == n).then_some(())
    })
    .await;
    sids
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
async fn two_question_flow_matches_the_ledger() {
    let app = survey_app().await;
    let s = start(mixed_citizens(11)).await;
    let sids = run_calls(&s, &app, 12).await;
    let ledger = s.sim.ledger();
    let mut kinds = HashMap::new();
    for sid in &sids {
        let hits = app.hits_for(sid);
        assert!(
            hits.iter().all(|h| h.signature_ok),
            "bad signature in {hits:?}"
        );
        let at = |path: &str| {
            hits.iter()
                .filter(|h| h.path == path)
                .cloned()
                .collect::<Vec<_>>()
        };
        let p = presses(&ledger, sid);
        assert_eq!(p[0].0, 0);
        let (_, digits0, kind0) = &p[0];
        *kinds.entry(*kind0).or_insert(0) += 1;
        match kind0 {
            PressKind::Valid => assert!("12".contains(digits0.as_str()) && digits0.len() == 1),
            PressKind::Invalid => assert!(!"129#".contains(digits0.as_str())),
            PressKind::OptOut => assert_eq!(digits0, "9"),
            PressKind::Silent => assert_eq!(digits0, ""),
        }
        // actionOnEmptyResult="true": the action is requested even for
        // silence, without a Digits parameter.
        let q1 = at("/q1");
        assert_eq!(q1.len(), 1, "{hits:?}");
        assert_eq!(
            q1[0].params.get("Digits").cloned().unwrap_or_default(),
            *digits0
        );
        assert_eq!(q1[0].params["CallStatus"], "in-progress");
        let (gather1, digits1, _) = &p[1];
        assert_eq!(*gather1, 1);
        let q2 = at("/q2");
        if digits1.is_empty() {
            assert!(
                q2.is_empty(),
                "silence without actionOnEmptyResult falls through"
            );
        } else {
            assert_eq!(q2.len(), 1);
            assert_eq!(q2[0].target, "/q2?x=1", "relative action resolved");
            assert_eq!(&q2[0].params["Digits"], digits1);
        }
        let status = at("/status");
        let seen: Vec<_> = status
            .iter()
            .map(|h| {
                (
                    h.params["SequenceNumber"].clone(),
                    h.params["CallStatus"].clone(),
                )
            })
            .collect();
        let expected: Vec<_> = ["initiated", "ringing", "in-progress", "completed"]
            .iter()
            .enumerate()
            .map(|(i, s)| (i.to_string(), (*s).to_owned()))
            .collect();
        assert_eq!(seen, expected);
        let done = &status[3].params;
        assert_eq!(done["CallbackSource"], "call-progress-events");
        let secs: u64 = done["CallDuration"].parse().unwrap();
        assert!(secs > 0);
        let (_, call) = s.api("GET", &format!("Calls/{sid}.json"), &[]).await;
        assert_eq!(call["status"], "completed");
        assert_eq!(call["duration"], secs.to_string());
    }
    assert!(kinds.len() >= 3, "the knobs produced a mix: {kinds:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_seed_makes_runs_repeat() {
    let app = survey_app().await;
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = start(mixed_citizens(5)).await;
        let sids = run_calls(&s, &app, 6).await;
        let ledger = s.sim.ledger();
        runs.push(
            sids.iter()
                .map(|sid| presses(&ledger, sid))
                .collect::<Vec<_>>(),
        );
        s.stop().await;
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test]
async fn redirect_hangup_and_inline_twiml() {
    let app = Receiver::start(|hit| match hit.path.as_str() {
        "/r1" => (
            200,
            r#"<Response><Redirect method="GET">r2?step=2</Redirect></Response>"#.into(),
        ),
        "/r2" => (200, "<Response><Hangup/><Gather/></Response>".into()),
        _ => (200, String::new()),
    })
    .await;
    let s = start(quiet_config()).await;
    let inline = format!(
        "<Response><Say>Hi</Say><Redirect>{}</Redirect></Response>",
        app.url("/r1")
    );
    let sid = s.originate(&[("Twiml", &inline)]).await;
    eventually("the call ended", || {
        s.sim
            .ledger()
            .iter()
            .any(|e| matches!(e, LedgerEntry::End { .. }))
            .then_some(())
    })
    .await;
    let hits = app.hits_for(&sid);
    let targets: Vec<_> = hits
        .iter()
        .map(|h| (h.method.as_str(), h.path.as_str()))
        .collect();
    assert_eq!(targets, [("POST", "/r1"), ("GET", "/r2")]);
    assert!(hits.iter().all(|h| h.signature_ok));
    assert_eq!(hits[1].params["step"], "2");
    assert!(
        presses(&s.sim.ledger(), &sid).is_empty(),
        "nothing runs after <Hangup>"
    );
    s.stop().await;
}

#[tokio::test]
async fn application_errors_end_the_call_completed() {
    let app = Receiver::start(|hit| match hit.path.as_str() {
        "/html" => (200, "<html><body>oops</body></html>".into()),
        "/broken" => (200, "<Response><Gather>".into()),
        "/crash" => (500, "<Response><Gather/></Response>".into()),
        _ => (200, String::new()),
    })
    .await;
    let s = start(quiet_config()).await;
    for path in ["/html", "/broken", "/crash"] {
        s.originate(&[
            ("Url", &app.url(path)),
            ("StatusCallback", &app.url("/status")),
        ])
        .await;
    }
    eventually("three ends", || {
        (app.hits().iter().filter(|h| h.path == "/status").count() == 3).then_some(())
    })
    .await;
    for entry in s.sim.ledger() {
        match entry {
            LedgerEntry::End { status, .. } => assert_eq!(status, "completed"),
            LedgerEntry::Press { .. }
            | LedgerEntry::Hangup { .. }
            | LedgerEntry::Machine { .. }
            | LedgerEntry::Bridge { .. } => {
                panic!("{entry:?}")
            }
            LedgerEntry::Originate { .. } | LedgerEntry::Incoming { .. } => {}
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn citizen_hangup_and_busy_fate() {
    let app = survey_app().await;
    let s = start(SimulatorConfig {
        hangup_rate: 1.0,
        ..quiet_config()
    })
    .await;
    let sid = s.originate(&[("Url", &app.url("/answer"))]).await;
    eventually("hangup", || {
        s.sim
            .ledger()
            .iter()
            .any(|e| matches!(e, LedgerEntry::End { .. }))
            .then_some(())
    })
    .await;
    let ledger = s.sim.ledger();
    assert!(ledger.contains(&LedgerEntry::Hangup {
        call_sid: sid.clone(),
        gather: 0,
        direction: Direction::Outbound,
    }));
    assert!(app.hits_for(&sid).iter().all(|h| h.path == "/answer"));
    s.stop().await;

    let s = start(SimulatorConfig {
        answer_rate: 0.0,
        busy_rate: 1.0,
        ..quiet_config()
    })
    .await;
    let sid = s
        .originate(&[
            ("Url", &app.url("/answer")),
            ("StatusCallback", &app.url("/status")),
        ])
        .await;
    let done = eventually("busy callback", || {
        app.hits_for(&sid).into_iter().find(|h| h.path == "/status")
    })
    .await;
    assert_eq!(done.params["CallStatus"], "busy");
    assert_eq!(done.params["CallDuration"], "0");
    assert_eq!(
        done.params["SequenceNumber"], "0",
        "only the terminal event was asked for"
    );
    assert!(
        app.hits_for(&sid).iter().all(|h| h.path == "/status"),
        "never answered"
    );
    s.stop().await;
}

#[tokio::test]
async fn status_callbacks_are_retried_after_5xx() {
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = std::sync::Arc::clone(&failures);
    let app = Receiver::start(move |hit| match hit.path.as_str() {
        "/status" if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 => {
            (503, String::new())
        }
        "/answer" => (200, "<Response><Hangup/></Response>".into()),
        _ => (200, String::new()),
    })
    .await;
    let s = start(SimulatorConfig {
        status_retries: 3,
        ..quiet_config()
    })
    .await;
    let sid = s
        .originate(&[
            ("Url", &app.url("/answer")),
            ("StatusCallback", &app.url("/status")),
        ])
        .await;
    let attempts = eventually("three attempts", || {
        let n = app
            .hits_for(&sid)
            .iter()
            .filter(|h| h.path == "/status")
            .count();
        (n == 3).then_some(n)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = app
        .hits_for(&sid)
        .iter()
        .filter(|h| h.path == "/status")
        .count();
    assert_eq!((attempts, after), (3, 3), "no retry after a 2xx");
    s.stop().await;
}
