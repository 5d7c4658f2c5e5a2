//! The webhook server's contract with the provider, request by request:
//! signatures, TwiML per IVR step, duplicates, stale requests, limits, and
//! the status callback that concludes the attempt.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sampark::calls::{CallCore, RetryPolicy};
use sampark::domain::{
    CampaignHeader, CampaignId, Contact, ContactId, JobId, JobSpec, JobState, OfficialId, Outcome,
    PhoneNumber,
};
use sampark::provider::twilio::TwilioControl;
use sampark::store::keys::shard_of;
use sampark::store::memory::MemoryStore;
use sampark::store::{Authorize, DialLimits, JobRef, Quota, Store};
use sampark::telemetry::Metrics;
use sampark::webhook::{CallWebhooks, HttpServer};
use support::daemon::{dialplans, http_config};
use support::http::{post_form, raw};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "webhook-test-token";
/// The store the harness uses has this many shards.
const SHARDS: u16 = 4;

/// The shard of the test job (its official's), as the dialer puts it in URLs.
fn shard() -> u16 {
    shard_of(&OfficialId::parse("off-1").unwrap(), SHARDS)
}

fn answer() -> String {
    format!("/twilio/answer?job=camp%2Fc-1&shard={}&attempt=1", shard())
}

fn status_url() -> String {
    format!("/twilio/status?job=camp%2Fc-1&shard={}&attempt=1", shard())
}

fn gather(step: u32) -> String {
    format!(
        "/twilio/gather?job=camp%2Fc-1&shard={}&attempt=1&step={step}",
        shard()
    )
}

struct Harness {
    store: Arc<dyn Store>,
    addr: std::net::SocketAddr,
    cancel: CancellationToken,
}

/// A job in `dialing` (attempt 1) and the webhook server on port 0.
async fn harness() -> Harness {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(SHARDS));
    let header = CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        kind: sampark::domain::CampaignKind::Survey,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: CampaignId::parse("camp").unwrap(),
        name: "webhook test".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    };
    let contact = Contact {
        visit_at_ms: None,
        first_name: None,
        id: ContactId::parse("c-1").unwrap(),
        phone: PhoneNumber::parse("+919876543210").unwrap(),
        language: Some("en".into()),
        official_id: OfficialId::parse("off-1").unwrap(),
        office: "Dhenkanal Town PS".into(),
        service: "FIR registration".into(),
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
    let public_url = format!("http://{addr}");
    let metrics = Arc::new(Metrics::new());
    let core = CallCore::new(
        store.clone(),
        Arc::new(TwilioControl::new(TOKEN, &public_url, true)),
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
        pending: Arc::new(sampark::calls::PendingStatuses::new(100)),
        instance: "webhook-test".into(),
    };
    let mut config = http_config();
    config.body_limit = 4 * 1024;
    let cancel = CancellationToken::new();
    tokio::spawn(
        HttpServer::new("webhook", listener, config, Arc::new(routes)).run(cancel.clone()),
    );
    Harness {
        store,
        addr,
        cancel,
    }
}

/// The job as stored now.
async fn stored(h: &Harness) -> sampark::store::Job {
    let id = JobRef::new(shard(), JobId::parse("camp/c-1").unwrap());
    h.store
        .load_job(&id)
        .await
        .unwrap()
        .expect("the job exists")
}

/// The citizen presses `digits` at IVR step `step`: (status, TwiML).
async fn press(h: &Harness, step: u32, digits: &'static str) -> (u16, String) {
    post_form(
        h.addr,
        &gather(step),
        &call_params(&[("Digits", digits)]),
        Some(TOKEN),
    )
    .await
}

fn call_params(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut p = vec![
        ("CallSid", "CA1"),
        ("AccountSid", "ACx"),
        ("From", "+916742000000"),
        ("To", "+919876543210"),
        ("CallStatus", "in-progress"),
    ];
    p.extend_from_slice(extra);
    p
}

#[tokio::test]
async fn a_survey_runs_step_by_step_and_duplicates_replay_the_same_twiml() {
    let h = harness().await;
    let (status, first) = post_form(h.addr, &answer(), &call_params(&[]), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(
        first.contains("<Gather") && first.contains("step=1"),
        "{first}"
    );
    assert!(
        first.contains("Dhenkanal Town PS"),
        "placeholders are filled: {first}"
    );
    // The provider asks again: same TwiML, nothing re-run.
    assert_eq!(
        post_form(h.addr, &answer(), &call_params(&[]), Some(TOKEN)).await,
        (200, first.clone())
    );

    let (_, q2) = press(&h, 1, "1").await;
    assert!(q2.contains("step=2"), "{q2}");
    assert_eq!(press(&h, 1, "1").await.1, q2, "duplicate gather replays");
    // An invalid key reprompts the same question without recording an answer.
    let (_, again) = press(&h, 2, "7").await;
    assert!(again.contains("step=3"), "{again}");
    let (_, q3) = press(&h, 3, "1").await;
    let (_, end) = press(&h, 4, "5").await;
    assert!(q3.contains("<Gather"), "{q3}");
    assert!(end.contains("<Hangup"), "the survey ends: {end}");
    // A gather for a step long gone gets a hang-up, not a second answer.
    let (_, stale) = press(&h, 1, "2").await;
    assert!(
        stale.contains("<Hangup") && !stale.contains("<Gather"),
        "{stale}"
    );

    let job = stored(&h).await;
    let answers: Vec<_> = job
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(
        answers,
        [
            ("treated_well", "yes"),
            ("asked_money", "yes"),
            ("rating", "5")
        ]
    );

    // The final status concludes the attempt exactly once.
    let done = call_params(&[("CallStatus", "completed"), ("CallDuration", "40")]);
    let done: Vec<_> = done
        .into_iter()
        .filter(|(k, v)| *k != "CallStatus" || *v == "completed")
        .collect();
    assert_eq!(
        post_form(h.addr, &status_url(), &done, Some(TOKEN)).await.0,
        204
    );
    assert_eq!(
        post_form(h.addr, &status_url(), &done, Some(TOKEN)).await.0,
        204,
        "duplicates are 2xx no-ops"
    );
    for shard in 0..h.store.shards() {
        h.store
            .relay_feedback(shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    let records = h.store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0].1;
    assert_eq!(record.outcome, Outcome::Completed);
    assert_eq!(record.flags, ["bribe_asked"]);
    assert_eq!(record.attempts, 1);
    assert!(
        !serde_json::to_string(record)
            .unwrap()
            .contains("9876543210"),
        "no phone in the record"
    );
    h.cancel.cancel();
}

#[tokio::test]
async fn forged_unsigned_oversized_and_malformed_requests_are_refused() {
    let h = harness().await;
    assert_eq!(
        post_form(h.addr, &answer(), &call_params(&[]), Some("wrong-token"))
            .await
            .0,
        403
    );
    assert_eq!(
        post_form(h.addr, &answer(), &call_params(&[]), None)
            .await
            .0,
        403
    );
    let big: &'static str = Box::leak("x".repeat(10 * 1024).into_boxed_str());
    let (status, _) = post_form(
        h.addr,
        &answer(),
        &call_params(&[("Padding", big)]),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 413);
    // Within the body limit but over the bounds on parameters, signed: 400
    // naming the bound, before anything reads it.
    let many: Vec<(&str, &str)> = call_params(&[])
        .into_iter()
        .chain(std::iter::repeat_n(("Pad", "1"), 200))
        .collect();
    let (status, body) = post_form(h.addr, &answer(), &many, Some(TOKEN)).await;
    assert_eq!(
        (status, body.trim()),
        (400, "the webhook has more than 128 parameters")
    );
    // (A value over its 4,096 bytes cannot pass this server's 4 KiB body
    // limit; `provider::form`'s tests and the fuzz run cover it.)
    let (status, body) = post_form(
        h.addr,
        "/twilio/answer?attempt=1",
        &call_params(&[]),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = post_form(
        h.addr,
        &status_url(),
        &[("CallSid", "CA1"), ("CallStatus", "exploded")],
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = raw(
        h.addr,
        &format!(
            "GET /nowhere HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            h.addr
        ),
    )
    .await;
    assert_eq!(status, 404);
    // Nothing above changed the job.
    let job = stored(&h).await;
    assert_eq!(
        (job.state, job.ivr_step, job.status_rank),
        (JobState::Dialing, 0, 0)
    );
    h.cancel.cancel();
}

#[tokio::test]
async fn stale_attempts_and_foreign_calls_change_nothing() {
    let h = harness().await;
    let (_, body) = post_form(
        h.addr,
        &format!("/twilio/answer?job=camp%2Fc-1&shard={}&attempt=2", shard()),
        &call_params(&[]),
        Some(TOKEN),
    )
    .await;
    assert!(
        body.contains("<Hangup") && !body.contains("<Gather"),
        "another attempt hangs up: {body}"
    );
    // The attempt's call is CA1; a completed status for another call id does not end it.
    post_form(
        h.addr,
        &status_url(),
        &[("CallSid", "CA1"), ("CallStatus", "ringing")],
        Some(TOKEN),
    )
    .await;
    let (status, _) = post_form(
        h.addr,
        &status_url(),
        &[("CallSid", "CA2"), ("CallStatus", "completed")],
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, 204);
    let job = stored(&h).await;
    assert_eq!(job.state, JobState::InCall);
    assert_eq!(job.call_sid.as_deref(), Some("CA1"));
    // Busy on the real call: a retry is scheduled (attempts remain).
    post_form(
        h.addr,
        &status_url(),
        &[("CallSid", "CA1"), ("CallStatus", "busy")],
        Some(TOKEN),
    )
    .await;
    let job = stored(&h).await;
    assert_eq!(job.state, JobState::RetryWait);
    h.cancel.cancel();
}
