//! Answering-machine detection end to end: a real redis-server, the
//! daemon's real servers on port 0, the Twilio adapter talking to the
//! provider simulator over HTTP. The simulator's voicemail numbers are
//! always picked up by an answering machine.
//!
//! With `machine_detection` on, the originate asks for `MachineDetection`,
//! the answer webhook says `AnsweredBy=machine_start`, the daemon hangs up
//! without the survey and retries on the campaign's `machine` ladder, and
//! once attempts run out the contact ends `machine` with its record. With it
//! off, the same kind of callee is surveyed as before: the machine presses
//! nothing and the contact ends `partial`. People are surveyed either way.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sampark::calls::{CallCore, PendingStatuses, RetryPolicy};
use sampark::dialplan::CallContext;
use sampark::domain::{
    CampaignHeader, CampaignId, Contact, ContactId, FeedbackRecord, JobId, JobSpec, JobState,
    OfficialId, Outcome, PhoneNumber,
};
use sampark::provider::twilio::TwilioControl;
use sampark::simulator::{LedgerEntry, PressKind, SimulatorConfig};
use sampark::store::keys::shard_of;
use sampark::store::redis::RedisStore;
use sampark::store::{Authorize, DialLimits, JobRef, Quota, Store};
use sampark::telemetry::Metrics;
use sampark::webhook::{CallWebhooks, HttpServer};
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, dialer_config, dialplans, every_call_answered, http_config,
    start_daemon, start_simulator,
};
use support::eventually;
use support::evidence::Evidence;
use support::http::post_form;
use support::invariants::{
    assert_no_violations, check_answers_match_presses, check_attempts_match_calls,
    check_no_originate_after_finish, check_no_phone_numbers, check_nothing_left,
    check_one_record_per_contact, check_originates_unique,
};
use support::log_capture::LogCapture;
use support::placed_calls::{PlacedCall, dialplan_replay, placed_calls};
use support::redis_server::RedisServer;
use tokio::net::TcpListener;

/// Answering machines, one per campaign (the citizen cap is per number).
const MACHINE_ON: &str = "+919437000001";
const MACHINE_OFF: &str = "+919437000002";
const PERSON_ON: &str = "+919437000003";
const PERSON_OFF: &str = "+919437000004";
/// The `machine` ladder's one wait; the daemon's own backoff in these tests
/// is 200 ms then 400 ms, so a gap this long between calls is the ladder's.
const MACHINE_WAIT_MS: i64 = 1_000;

fn campaign(id: &str, contacts: &[(&str, &str)], amd: bool) -> String {
    let contacts: Vec<_> = contacts
        .iter()
        .map(|(contact, phone)| {
            json!({"id": contact, "phone": phone, "language": "en", "official_id": "off-1",
                   "office": "Cuttack Sadar PS", "service": "FIR registration"})
        })
        .collect();
    let mut doc = json!({
        "version": 1, "id": id, "name": "AMD", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home", "contacts": contacts,
    });
    if amd {
        doc["machine_detection"] = json!(true);
        doc["retry"] = json!({"max_attempts": 3, "machine": ["1s"]});
    }
    doc.to_string()
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    support::http::raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await
}

fn record<'a>(records: &'a [FeedbackRecord], campaign: &str, contact: &str) -> &'a FeedbackRecord {
    let found: Vec<_> = records
        .iter()
        .filter(|r| r.campaign_id == campaign && r.contact_id == contact)
        .collect();
    assert_eq!(found.len(), 1, "{campaign}/{contact}: {records:?}");
    found[0]
}

/// The calls placed for one contact, in order.
fn calls_for<'a>(calls: &'a [PlacedCall], campaign: &str, contact: &str) -> Vec<&'a PlacedCall> {
    let job = format!("{campaign}/{contact}");
    calls.iter().filter(|c| c.job.to_string() == job).collect()
}

/// What the ledger says about one call: the originate's `MachineDetection`
/// and, when a machine picked up, the `AnsweredBy` it was reported with.
struct CallFacts {
    detection: Option<String>,
    machine: Option<Option<String>>,
}

fn facts(ledger: &[LedgerEntry], sid: &str) -> CallFacts {
    let mut facts = CallFacts {
        detection: None,
        machine: None,
    };
    for entry in ledger.iter().filter(|e| e.call_sid() == sid) {
        match entry {
            LedgerEntry::Originate {
                machine_detection, ..
            } => facts.detection = machine_detection.clone(),
            LedgerEntry::Machine { answered_by, .. } => facts.machine = Some(answered_by.clone()),
            _ => {}
        }
    }
    facts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_machine_is_retried_on_its_ladder_with_detection_and_surveyed_without() {
    let logs = LogCapture::global();
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        seed: 7,
        voicemail_numbers: vec![MACHINE_ON.into(), MACHINE_OFF.into()],
        ..every_call_answered()
    })
    .await;
    let quota = Quota {
        burst: 10,
        period: Duration::from_millis(10),
    };
    let (daemon, store) =
        start_daemon(&redis.url(), &simulator.base_url(), dialer_config(quota)).await;
    store
        .submit(&campaign(
            "amd-on",
            &[("machine", MACHINE_ON), ("person", PERSON_ON)],
            true,
        ))
        .await
        .unwrap();
    store
        .submit(&campaign(
            "amd-off",
            &[("machine", MACHINE_OFF), ("person", PERSON_OFF)],
            false,
        ))
        .await
        .unwrap();
    let finished = |id: &'static str| {
        let store = store.clone();
        async move {
            let id = CampaignId::parse(id).unwrap();
            let status = store.campaign_status(&id).await.ok()??;
            (status.finished() == 2).then_some(status)
        }
    };
    let on = eventually(Duration::from_secs(60), "amd-on finished", || {
        finished("amd-on")
    })
    .await;
    eventually(Duration::from_secs(60), "amd-off finished", || {
        finished("amd-off")
    })
    .await;
    assert_eq!(
        on.counts.get("machine").copied(),
        Some(1),
        "{:?}",
        on.counts
    );
    let admin = daemon.admin_addr().unwrap();
    eventually(Duration::from_secs(10), "every record relayed", || async {
        let evidence = Evidence::gather(&redis.url(), Vec::new(), None).await;
        (evidence.records.len() == 4).then_some(())
    })
    .await;
    let (code, metrics) = get(admin, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains("\nsampark_outcomes_total{outcome=\"machine\"} 1\n"),
        "{metrics}"
    );
    daemon.shutdown().await;
    sim_cancel.cancel();
    let ledger = simulator.ledger();
    simulator.wait().await;
    let evidence = Evidence::gather(&redis.url(), ledger.clone(), Some(logs.text())).await;
    let records = &evidence.records;
    let (calls, bad) = placed_calls(&ledger);
    assert!(bad.is_empty(), "{bad:?}");

    // AMD on, a machine: three calls, each asked for detection, each
    // answered by the machine and hung up on before any prompt.
    let machine = record(records, "amd-on", "machine");
    assert_eq!(machine.outcome, Outcome::Machine);
    assert_eq!(machine.attempts, 3);
    assert_eq!(
        machine.reason.as_deref(),
        Some("an answering machine answered")
    );
    assert!(machine.answers.is_empty());
    let tries = calls_for(&calls, "amd-on", "machine");
    assert_eq!(
        tries.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for call in &tries {
        let facts = facts(&ledger, &call.call_sid);
        assert_eq!(facts.detection.as_deref(), Some("Enable"));
        assert_eq!(facts.machine, Some(Some("machine_start".to_owned())));
        assert!(call.presses.is_empty(), "no prompt reached the machine");
    }
    // Each retry waited the campaign's `machine` ladder (±10%), not the
    // daemon's 200/400 ms backoff.
    for pair in tries.windows(2) {
        let gap = pair[1].at_ms - pair[0].at_ms;
        assert!(gap >= MACHINE_WAIT_MS * 9 / 10, "retried after {gap} ms");
    }

    // AMD on, a person: surveyed once, completed.
    let person = record(records, "amd-on", "person");
    assert_eq!((person.outcome, person.attempts), (Outcome::Completed, 1));
    let tries = calls_for(&calls, "amd-on", "person");
    assert_eq!(tries.len(), 1);
    let facts_on = facts(&ledger, &tries[0].call_sid);
    assert_eq!(facts_on.detection.as_deref(), Some("Enable"));
    assert_eq!(facts_on.machine, None);

    // AMD off, a machine: as before detection existed — surveyed, every
    // prompt timed out, recorded `partial` after one call.
    let unheard = record(records, "amd-off", "machine");
    assert_eq!((unheard.outcome, unheard.attempts), (Outcome::Partial, 1));
    assert!(unheard.answers.is_empty());
    let tries = calls_for(&calls, "amd-off", "machine");
    assert_eq!(tries.len(), 1);
    let facts_off = facts(&ledger, &tries[0].call_sid);
    assert_eq!(facts_off.detection, None);
    assert_eq!(facts_off.machine, Some(None));
    assert!(!tries[0].presses.is_empty());
    assert!(
        tries[0]
            .presses
            .iter()
            .all(|p| p.kind == PressKind::Silent && p.digits.is_empty())
    );
    let person = record(records, "amd-off", "person");
    assert_eq!((person.outcome, person.attempts), (Outcome::Completed, 1));
    let tries = calls_for(&calls, "amd-off", "person");
    assert_eq!(facts(&ledger, &tries[0].call_sid).detection, None);

    // And the invariants every campaign keeps.
    let plans = dialplans();
    let plan = plans.get("mo-sarkar-feedback").unwrap();
    let replay = dialplan_replay(&plan, |r| CallContext {
        language: Some("en".into()),
        office: r.office.clone(),
        service: r.service.clone(),
    });
    let contacts = ["machine".to_owned(), "person".to_owned()];
    let phones: Vec<String> = [MACHINE_ON, MACHINE_OFF, PERSON_ON, PERSON_OFF]
        .map(String::from)
        .to_vec();
    let mut violations = Vec::new();
    for id in ["amd-on", "amd-off"] {
        violations.extend(check_one_record_per_contact(records, id, &contacts));
    }
    violations.extend(check_originates_unique(&ledger));
    violations.extend(check_no_originate_after_finish(records, &ledger));
    violations.extend(check_attempts_match_calls(records, &ledger));
    violations.extend(check_answers_match_presses(records, &ledger, &replay));
    violations.extend(check_nothing_left(&evidence.leftovers));
    violations.extend(check_no_phone_numbers(
        evidence.logs.as_deref().unwrap_or_default(),
        &phones,
    ));
    assert_no_violations(&violations);
    let by_outcome: HashMap<Outcome, usize> = records.iter().fold(HashMap::new(), |mut m, r| {
        *m.entry(r.outcome).or_default() += 1;
        m
    });
    eprintln!("outcomes: {by_outcome:?}");
}

/// The redirect URL (path and query) of a hold's TwiML.
fn redirect_target(twiml: &str, addr: SocketAddr) -> String {
    let start = twiml.find("<Redirect").expect("a redirect");
    let url = &twiml[twiml[start..].find('>').unwrap() + start + 1..];
    let url = &url[..url.find("</Redirect>").unwrap()];
    url.replace("&amp;", "&")
        .strip_prefix(&format!("http://{addr}"))
        .expect("the redirect goes back to us")
        .to_owned()
}

/// Redis goes away just as a machine picks up: the answer webhook holds the
/// call, and the redirect that asks again (which, like Twilio's, repeats no
/// `AnsweredBy`) still carries the verdict, so the machine is hung up on
/// rather than surveyed once Redis is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_verdict_survives_a_hold_while_redis_is_down() {
    let mut redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let header = CampaignHeader {
        sample_max_per_office_per_day: None,
        calling_window: None,
        priority: Default::default(),
        retry: None,
        machine_detection: true,
        kind: sampark::domain::CampaignKind::Survey,
        sample_rate: None,
        freshness: Default::default(),
        id: CampaignId::parse("amd-hold").unwrap(),
        name: "hold".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    };
    let official = OfficialId::parse("off-1").unwrap();
    let contact = Contact {
        visit_at_ms: None,
        first_name: None,
        id: ContactId::parse("c-1").unwrap(),
        phone: PhoneNumber::parse(MACHINE_ON).unwrap(),
        language: Some("en".into()),
        official_id: official.clone(),
        office: "Puri Sadar PS".into(),
        service: "Passport verification".into(),
    };
    store.put_campaign(&header).await.unwrap();
    store
        .enqueue(&JobSpec::new(&header, contact))
        .await
        .unwrap();
    let entries = eventually(Duration::from_secs(10), "the job ready", || async {
        let e = store
            .read_ready("t", 10, Duration::from_secs(60))
            .await
            .ok()?;
        (!e.is_empty()).then_some(e)
    })
    .await;
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
    let shard = shard_of(&official, 16);
    let job = JobRef::new(shard, JobId::parse("amd-hold/c-1").unwrap());
    store
        .mark_originated(&job, 1, "CA1", Duration::from_secs(60))
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let public_url = format!("http://{addr}");
    let metrics = Arc::new(Metrics::new());
    let core = CallCore::new(
        store.clone(),
        Arc::new(TwilioControl::new(AUTH_TOKEN, &public_url, true)),
        dialplans(),
        &public_url,
        RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_secs(60)],
        },
        metrics.clone(),
    );
    let routes = CallWebhooks {
        core: Arc::new(core),
        metrics,
        pending: Arc::new(PendingStatuses::new(100)),
        instance: "amd-hold".into(),
    };
    let cancel = tokio_util::sync::CancellationToken::new();
    tokio::spawn(
        HttpServer::new("webhook", listener, http_config(), Arc::new(routes)).run(cancel.clone()),
    );
    let params = |extra: &[(&'static str, &'static str)]| {
        let mut p = vec![
            ("CallSid", "CA1"),
            ("AccountSid", ACCOUNT_SID),
            ("From", "+916742000000"),
            ("To", MACHINE_ON),
            ("CallStatus", "in-progress"),
        ];
        p.extend_from_slice(extra);
        p
    };

    redis.kill();
    let answer = format!("/twilio/answer?job=amd-hold%2Fc-1&shard={shard}&attempt=1");
    let detected = params(&[
        ("AnsweredBy", "machine_start"),
        ("MachineDetectionDuration", "4000"),
    ]);
    let (status, held) = post_form(addr, &answer, &detected, Some(AUTH_TOKEN)).await;
    assert_eq!(status, 200, "{held}");
    assert!(held.contains("<Pause"), "held while Redis is down: {held}");
    let again = redirect_target(&held, addr);
    assert!(again.contains("answered_by=machine"), "{again}");

    redis.restart();
    let (status, reply) = eventually(Duration::from_secs(20), "Redis back", || {
        let (again, params) = (again.clone(), params(&[]));
        async move {
            let (status, body) = post_form(addr, &again, &params, Some(AUTH_TOKEN)).await;
            (!body.contains("<Pause")).then_some((status, body))
        }
    })
    .await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("<Hangup"), "{reply}");
    assert!(
        !reply.contains("<Gather"),
        "no survey for a machine: {reply}"
    );
    let saved = store.load_job(&job).await.unwrap().unwrap();
    assert_eq!(saved.ivr.as_deref(), Some(r#"{"answered_by":"machine"}"#));
    // A repeated answer webhook replays the hang-up.
    let (_, replay) = post_form(addr, &answer, &params(&[]), Some(AUTH_TOKEN)).await;
    assert_eq!(replay, reply);

    let status_url = format!("/twilio/status?job=amd-hold%2Fc-1&shard={shard}&attempt=1");
    let mut done: Vec<_> = params(&[("CallDuration", "5")])
        .into_iter()
        .filter(|(k, _)| *k != "CallStatus")
        .collect();
    done.push(("CallStatus", "completed"));
    let (code, body) = post_form(addr, &status_url, &done, Some(AUTH_TOKEN)).await;
    assert!((200..300).contains(&code), "{code} {body}");
    let after = store.load_job(&job).await.unwrap().unwrap();
    assert_eq!(
        (after.state, after.reason.as_deref()),
        (JobState::RetryWait, Some("an answering machine answered"))
    );
    cancel.cancel();
}
