//! The provider seam, proven by a second provider: the daemon, a real
//! redis-server and the store-backed campaign scenario of `e2e.rs` (at small
//! scale), with the Twilio adapter replaced by "Acme" (`second_provider/acme.rs`),
//! whose webhooks, signatures, markup and call records share nothing with
//! Twilio's. Nothing under `src/` knows Acme exists: the daemon takes it as
//! the `ProviderPair` in its parts.

mod support;

// A test crate root resolves `mod x;` next to itself, so name the path.
#[path = "second_provider/acme.rs"]
mod acme;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use acme::{Carrier, CarrierCall, Persona, post_json, sign};
use redis::AsyncCommands;
use sampark::daemon::{Daemon, DaemonParts, Listeners, ServerTls};
use sampark::dialer::DialerConfig;
use sampark::dialplan::{CallContext, Event, start, step};
use sampark::domain::{CallStatus, CampaignId, FeedbackRecord, JobId, JobState, Outcome};
use sampark::store::redis::RedisStore;
use sampark::store::{JobRef, Quota, Store};
use serde_json::{Value, json};
use support::daemon::{dialer_config, dialplans, settings};
use support::eventually;
use support::redis_server::RedisServer;
use tokio::net::TcpListener;

const SECRET: &str = "acme-shared-secret";
const DIALPLAN: &str = "mo-sarkar-feedback";
const LANGUAGES: [Option<&str>; 4] = [Some("en"), Some("hi"), Some("or"), None];
const DEADLINE: Duration = Duration::from_secs(60);

/// A daemon whose provider is Acme, over its own redis-server.
struct Harness {
    daemon: Daemon,
    store: Arc<RedisStore>,
    carrier: Arc<Carrier>,
    feedback: redis::aio::MultiplexedConnection,
    _redis: RedisServer,
}

async fn start_with(personas: HashMap<String, Persona>) -> Harness {
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    // The settings can only name Twilio; its pair is swapped for Acme's, as
    // a `provider.kind` arm in `build_provider` would build it.
    let mut parts = DaemonParts::from_settings(
        &settings("http://127.0.0.1:9", &public_url),
        store.clone(),
        dialplans(),
        Listeners {
            webhook: listener,
            admin: None,
        },
        ServerTls::default(),
    )
    .unwrap();
    let carrier = Carrier::new(SECRET, personas);
    parts.provider = carrier.pair();
    parts.dialer = test_dialer();
    let daemon = Daemon::start(parts).unwrap();
    let client = redis::Client::open(redis.url()).unwrap();
    let feedback = client.get_multiplexed_async_connection().await.unwrap();
    Harness {
        daemon,
        store,
        carrier,
        feedback,
        _redis: redis,
    }
}

/// The shared test-speed dialer, with a quota no official reaches here.
fn test_dialer() -> DialerConfig {
    dialer_config(Quota {
        burst: 20,
        period: Duration::from_millis(10),
    })
}

fn phone(i: usize) -> String {
    format!("+9198{:08}", 20_000_000 + i)
}

fn contact_id(i: usize) -> String {
    format!("c-{i:02}")
}

fn campaign(id: &str, contacts: usize) -> Value {
    let contacts: Vec<Value> = (0..contacts)
        .map(|i| {
            let mut c = json!({
                "id": contact_id(i), "phone": phone(i), "official_id": format!("off-{}", i % 3),
                "office": format!("Office {}", i % 3), "service": "FIR registration",
            });
            if let Some(language) = LANGUAGES[i % LANGUAGES.len()] {
                c["language"] = json!(language);
            }
            c
        })
        .collect();
    json!({
        "version": 1, "id": id, "name": "acme", "dialplan": DIALPLAN,
        "caller_id": "+916742000000", "department": "home", "contacts": contacts,
    })
}

impl Harness {
    async fn records(&self) -> Vec<FeedbackRecord> {
        let mut conn = self.feedback.clone();
        let entries: redis::streams::StreamRangeReply =
            conn.xrange_all("sampark:feedback").await.unwrap();
        let record = |e: &redis::streams::StreamId| {
            let raw: String = e.get("record").expect("record field");
            serde_json::from_str(&raw).expect("record parses")
        };
        entries.ids.iter().map(record).collect()
    }

    /// Waits until every contact of `campaign` has finished and `n` records are out.
    async fn finished(&self, campaign: &str, n: usize) -> Vec<FeedbackRecord> {
        let id = &CampaignId::parse(campaign).unwrap();
        eventually(
            DEADLINE,
            "every contact finished and recorded",
            move || async move {
                let failures = self.carrier.failures();
                assert!(failures.is_empty(), "the carrier failed: {failures:?}");
                let status = self.store.campaign_status(id).await.unwrap()?;
                let records = self.records().await;
                (status.finished() == status.total() && records.len() >= n).then_some(records)
            },
        )
        .await
    }

    fn calls_to(&self, i: usize) -> Vec<CarrierCall> {
        let to = phone(i);
        self.carrier
            .calls()
            .into_iter()
            .filter(|c| c.to == to)
            .collect()
    }
}

fn query(url: &str, key: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no `{key}` in {url}"))
}

fn path_of(url: &str) -> String {
    let uri: http::Uri = url.parse().unwrap();
    uri.path_and_query().unwrap().to_string()
}

/// The answers the dialplan engine records for contact `i` pressing `presses`.
fn replay(i: usize, presses: &[String]) -> Vec<(String, String, String)> {
    let plan = dialplans().get(DIALPLAN).unwrap();
    let ctx = CallContext {
        language: LANGUAGES[i % LANGUAGES.len()].map(str::to_owned),
        office: format!("Office {}", i % 3),
        service: "FIR registration".into(),
    };
    let mut out = start(&plan, &ctx);
    let mut answers = out.new_answers.clone();
    for key in presses {
        out = step(&plan, &out.session, &Event::Digits(key.clone()));
        answers.extend(out.new_answers.clone());
    }
    answers
        .into_iter()
        .map(|a| (a.question, a.digits, a.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_runs_end_to_end_over_a_second_provider() {
    const ANSWERING: usize = 10;
    let silent = ANSWERING; // the last contact never picks up
    let mut personas: HashMap<String, Persona> = (0..ANSWERING)
        .map(|i| (phone(i), Persona::Answers(i)))
        .collect();
    personas.insert(phone(silent), Persona::NeverAnswers);
    let h = start_with(personas).await;
    let doc = campaign("acme-main", ANSWERING + 1);
    h.store.submit(&doc.to_string()).await.unwrap();

    let records = h.finished("acme-main", ANSWERING + 1).await;
    assert_eq!(records.len(), ANSWERING + 1, "one record per contact");
    let by_contact: HashMap<&str, &FeedbackRecord> =
        records.iter().map(|r| (r.contact_id.as_str(), r)).collect();
    assert_eq!(by_contact.len(), records.len(), "no contact recorded twice");

    for i in 0..ANSWERING {
        let record = by_contact[contact_id(i).as_str()];
        assert_eq!(record.record_id, format!("acme-main/{}", contact_id(i)));
        assert_eq!(record.outcome, Outcome::Completed, "{}", contact_id(i));
        assert_eq!(record.attempts, 1);
        let calls = h.calls_to(i);
        assert_eq!(calls.len(), 1, "one call to {}", contact_id(i));
        assert_eq!(calls[0].status, CallStatus::Completed);
        let got: Vec<_> = record
            .answers
            .iter()
            .map(|a| (a.question.clone(), a.digits.clone(), a.value.clone()))
            .collect();
        assert_eq!(got.len(), 3, "three questions answered: {got:?}");
        assert_eq!(
            got,
            replay(i, &calls[0].presses),
            "answers of {}",
            contact_id(i)
        );
    }
    let pressed: HashSet<Vec<String>> = (0..ANSWERING)
        .map(|i| h.calls_to(i)[0].presses.clone())
        .collect();
    assert!(
        pressed.len() > 3,
        "personas pressed different keys: {pressed:?}"
    );

    let record = by_contact[contact_id(silent).as_str()];
    let max_attempts = test_dialer().retry.max_attempts;
    assert_eq!(record.outcome, Outcome::NoAnswer);
    assert_eq!(record.attempts, max_attempts);
    assert!(record.answers.is_empty());
    let calls = h.calls_to(silent);
    let attempts: Vec<String> = calls
        .iter()
        .map(|c| query(&c.answer_url, "attempt"))
        .collect();
    let expected: Vec<String> = (1..=max_attempts).map(|a| a.to_string()).collect();
    assert_eq!(attempts, expected, "one call per attempt, in order");
    assert!(calls.iter().all(|c| c.status == CallStatus::NoAnswer));

    let status = h
        .store
        .campaign_status(&CampaignId::parse("acme-main").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.total(), (ANSWERING + 1) as u64);
    assert_eq!(status.finished(), status.total());
    h.daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_bad_acme_signature_gets_403_and_changes_nothing() {
    let h = start_with(HashMap::from([(phone(0), Persona::Holds)])).await;
    h.store
        .submit(&campaign("acme-forged", 1).to_string())
        .await
        .unwrap();

    // The call rings and the daemon has applied `ringing`; the phone holds.
    let held = &h;
    let (call, job_ref) = eventually(
        DEADLINE,
        "the call ringing in the store",
        move || async move {
            let call = held.calls_to(0).pop()?;
            let job = JobId::parse(&query(&call.status_url, "job")).unwrap();
            let job_ref = JobRef::new(query(&call.status_url, "shard").parse().unwrap(), job);
            let job = held.store.load_job(&job_ref).await.unwrap()?;
            let ringing =
                job.state == JobState::InCall && job.call_status == Some(CallStatus::Ringing);
            ringing.then_some((call, job_ref))
        },
    )
    .await;
    let before = h.store.load_job(&job_ref).await.unwrap();

    let (status_path, answer_path) = (path_of(&call.status_url), path_of(&call.answer_url));
    let ended = json!({"call": call.sid, "event": "ended", "result": "completed"}).to_string();
    let busy = json!({"call": call.sid, "event": "ended", "result": "busy"}).to_string();
    let answered = json!({"call": call.sid, "event": "answered"}).to_string();
    let forgeries = [
        (
            "wrong secret",
            &status_path,
            &ended,
            Some(sign("not-the-secret", &status_path, ended.as_bytes())),
        ),
        ("no signature", &status_path, &ended, None),
        (
            "body altered after signing",
            &status_path,
            &busy,
            Some(sign(SECRET, &status_path, ended.as_bytes())),
        ),
        (
            "signed for another URL",
            &answer_path,
            &answered,
            Some(sign(SECRET, &status_path, answered.as_bytes())),
        ),
    ];
    for (what, path, body, signature) in forgeries {
        let (code, _) = post_json(h.daemon.webhook_addr(), path, body, signature.as_deref()).await;
        assert_eq!(code, 403, "{what}");
    }
    assert_eq!(
        h.store.load_job(&job_ref).await.unwrap(),
        before,
        "the job is untouched"
    );
    assert!(h.records().await.is_empty(), "no feedback was recorded");

    // The same URLs, signed by the carrier, still carry the call to its end.
    h.carrier.release();
    let records = h.finished("acme-forged", 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::Completed);
    assert_eq!(records[0].attempts, 1);
    h.daemon.shutdown().await;
}
