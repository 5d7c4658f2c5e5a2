//! End to end: a real redis-server (or with `SAMPARK_TEST_REDIS=cluster` a
//! local Redis Cluster, `support/test_redis.rs`), the daemon's real servers
//! on port 0, a provider adapter talking to the provider simulator over
//! HTTP — every scenario on both adapters (Twilio and Exotel).

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use redis::AsyncCommands;
use sampark::dialplan::{CallContext, Event, start, step};
use sampark::domain::{FeedbackRecord, JobId};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::{Value, json};
use support::daemon::{dialer_config, dialplans, start_simulator};
use support::eventually;
use support::provider::Provider;
use support::test_redis::{TestConn, TestRedis};

const CONTACTS: usize = 500;
const OFFICIALS: usize = 5;
const BURST: u32 = 2;
const PERIOD: Duration = Duration::from_millis(100);
/// Latency between the store authorising a dial and the simulator logging
/// the originate; the GCRA bound is checked on the simulator's timestamps,
/// so it allows this much compression of any window (generous, for loaded
/// CI machines: the exact Lua arithmetic is checked against `governor` in
/// tests/store_redis.rs; this checks the limiter is applied fleet-wide).
const JITTER_MS: i64 = 400;

struct ContactInfo {
    official: String,
    language: String,
    office: String,
    service: String,
}

fn campaign(id: &str, n: usize) -> (Value, HashMap<String, ContactInfo>) {
    let languages = ["or", "hi", "en"];
    let mut contacts = Vec::new();
    let mut info = HashMap::new();
    for i in 0..n {
        let official = format!("off-{}", i % OFFICIALS);
        let language = languages[i % 3].to_owned();
        let office = format!("Office {}", i % OFFICIALS);
        contacts.push(json!({
            "id": format!("c-{i:04}"),
            "phone": format!("+9198{:08}", 10_000_000 + i),
            "language": language,
            "official_id": official,
            "office": office,
            "service": "FIR registration",
        }));
        info.insert(
            format!("c-{i:04}"),
            ContactInfo {
                official,
                language,
                office,
                service: "FIR registration".into(),
            },
        );
    }
    // Invalid contacts travel in the same document; they must be dead-lettered
    // without losing the valid ones.
    contacts.push(json!({"id": "bad-phone", "phone": "+91123", "official_id": "off-0", "office": "x", "service": "y"}));
    contacts.push(
        json!({"id": "no-official", "phone": "+919812345678", "office": "x", "service": "y"}),
    );
    let doc = json!({
        "version": 1, "id": id, "name": "e2e", "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home", "contacts": contacts,
    });
    (doc, info)
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn feedback(conn: &mut TestConn) -> Vec<FeedbackRecord> {
    let entries: redis::streams::StreamRangeReply =
        conn.xrange_all("sampark:feedback").await.unwrap();
    entries
        .ids
        .iter()
        .map(|e| {
            let raw: String = e.get("record").expect("record field");
            serde_json::from_str(&raw).expect("record parses")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn campaign_runs_end_to_end_against_redis_and_the_simulator() {
    campaign_end_to_end(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn campaign_runs_end_to_end_on_exotel() {
    campaign_end_to_end(Provider::Exotel).await;
}

async fn campaign_end_to_end(provider: Provider) {
    let redis = TestRedis::start();
    let (simulator, sim_cancel) = start_simulator(provider.simulator(SimulatorConfig {
        seed: 42,
        answer_rate: 0.6,
        busy_rate: 0.15,
        no_answer_rate: 0.15,
        failed_rate: 0.1,
        invalid_key_rate: 0.1,
        silent_rate: 0.05,
        opt_out_rate: 0.02,
        hangup_rate: 0.04,
        ..SimulatorConfig::default()
    }))
    .await;
    let quota = Quota {
        burst: BURST,
        period: PERIOD,
    };
    let (daemon, store) = redis
        .start_daemon(provider, &simulator.base_url(), dialer_config(quota))
        .await;
    let mut conn = redis.connection().await;

    // A malformed document first: it must be dead-lettered while the daemon keeps going.
    store
        .submit("{\"version\": 1, \"id\": \"broken\", \"contacts\": [")
        .await
        .unwrap();
    store
        .submit(&json!({"version": 1, "id": "nodp", "name": "n", "dialplan": "no-such-plan", "caller_id": "+916742000000", "department": "d", "contacts": []}).to_string())
        .await
        .unwrap();
    let (doc, contacts) = campaign("e2e-main", CONTACTS);
    store.submit(&doc.to_string()).await.unwrap();

    // A forged webhook is refused.
    let webhook = daemon.webhook_addr();
    let forged = provider.forged_status(webhook, "e2e-main/c-0000").await;
    assert_eq!(forged, 403, "a webhook with a bad signature must get 403");

    eventually(
        Duration::from_secs(240),
        "a feedback record for every contact",
        || {
            let mut conn = conn.clone();
            async move {
                let records = feedback(&mut conn).await;
                (records.len() >= CONTACTS).then_some(())
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let records = feedback(&mut conn).await;

    // G1/G3: exactly one record per contact.
    let mut by_contact: HashMap<&str, &FeedbackRecord> = HashMap::new();
    for r in &records {
        assert!(
            by_contact.insert(&r.contact_id, r).is_none(),
            "two records for {}",
            r.contact_id
        );
        assert_eq!(r.record_id, format!("e2e-main/{}", r.contact_id));
    }
    assert_eq!(records.len(), CONTACTS);
    for id in contacts.keys() {
        assert!(by_contact.contains_key(id.as_str()), "no record for {id}");
    }

    let ledger = simulator.ledger();
    check_originates_unique_and_rate_bound(&ledger, &contacts);
    check_answers_match_presses(&ledger, &by_contact, &contacts);

    let outcomes: BTreeMap<String, usize> = records.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.outcome.to_string()).or_insert(0) += 1;
        m
    });
    assert!(
        outcomes.get("completed").copied().unwrap_or(0) > 50,
        "outcomes: {outcomes:?}"
    );
    assert!(
        outcomes.keys().any(|k| k != "completed"),
        "a mix of outcomes: {outcomes:?}"
    );

    // Dead letters: the broken document, the unknown dialplan, two bad contacts.
    let letters = store.dead_letters(100).await.unwrap();
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("not valid JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("no-such-plan")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("bad-phone") || r.contains("`phone`")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("official_id")),
        "{reasons:?}"
    );
    assert!(
        !letters.iter().any(|l| l.payload.contains("9812345678")),
        "dead-lettered contacts are masked"
    );

    let id = sampark::domain::CampaignId::parse("e2e-main").unwrap();
    let status = store
        .campaign_status(&id)
        .await
        .unwrap()
        .expect("campaign status");
    assert_eq!(status.total(), CONTACTS as u64);
    assert_eq!(status.finished(), CONTACTS as u64);

    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    drop(redis);
}

fn check_originates_unique_and_rate_bound(
    ledger: &[LedgerEntry],
    contacts: &HashMap<String, ContactInfo>,
) {
    let mut seen = HashSet::new();
    let mut starts: HashMap<String, Vec<i64>> = HashMap::new();
    for entry in ledger {
        if let LedgerEntry::Originate { url, at_ms, .. } = entry {
            let job = JobId::parse(&query_param(url, "job").expect("job in url")).unwrap();
            let attempt: u32 = query_param(url, "attempt")
                .expect("attempt")
                .parse()
                .unwrap();
            assert!(
                seen.insert((job.clone(), attempt)),
                "{job} attempt {attempt} originated twice (G2)"
            );
            let official = &contacts[job.contact.as_str()].official;
            starts.entry(official.clone()).or_default().push(*at_ms);
        }
    }
    let period_ms = PERIOD.as_millis() as i64;
    for (official, mut times) in starts {
        times.sort_unstable();
        for i in 0..times.len() {
            for j in i..times.len() {
                let window = times[j] - times[i] + JITTER_MS;
                let allowed = i64::from(BURST) + window / period_ms;
                let count = (j - i + 1) as i64;
                assert!(
                    count <= allowed,
                    "{official}: {count} dial starts within {}ms exceeds burst {BURST} + t/T = {allowed}",
                    times[j] - times[i]
                );
            }
        }
    }
}

fn check_answers_match_presses(
    ledger: &[LedgerEntry],
    records: &HashMap<&str, &FeedbackRecord>,
    contacts: &HashMap<String, ContactInfo>,
) {
    let plans = dialplans();
    let plan = plans.get("mo-sarkar-feedback").unwrap();
    let mut call_job: HashMap<String, JobId> = HashMap::new();
    let mut presses: HashMap<String, Vec<String>> = HashMap::new();
    for entry in ledger {
        match entry {
            LedgerEntry::Originate { call_sid, url, .. } => {
                call_job.insert(
                    call_sid.clone(),
                    JobId::parse(&query_param(url, "job").unwrap()).unwrap(),
                );
            }
            LedgerEntry::Press {
                call_sid, digits, ..
            } => {
                presses
                    .entry(call_sid.clone())
                    .or_default()
                    .push(digits.clone());
            }
            _ => {}
        }
    }
    let mut checked = 0;
    let mut expected_by_contact: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for (sid, keys) in &presses {
        let job = &call_job[sid];
        let info = &contacts[job.contact.as_str()];
        let ctx = CallContext {
            language: Some(info.language.clone()),
            office: info.office.clone(),
            service: info.service.clone(),
        };
        let mut out = start(&plan, &ctx);
        let mut answers: Vec<_> = out.new_answers.clone();
        for k in keys {
            out = step(&plan, &out.session, &Event::Digits(k.clone()));
            answers.extend(out.new_answers.clone());
        }
        expected_by_contact
            .entry(job.contact.to_string())
            .or_default()
            .extend(answers.into_iter().map(|a| (a.question, a.digits, a.value)));
    }
    for (contact, record) in records {
        let got: Vec<_> = record
            .answers
            .iter()
            .map(|a| (a.question.clone(), a.digits.clone(), a.value.clone()))
            .collect();
        let expected = expected_by_contact.remove(*contact).unwrap_or_default();
        assert_eq!(
            got, expected,
            "answers of {contact} differ from what the simulator pressed"
        );
        checked += usize::from(!got.is_empty());
    }
    assert!(checked > 50, "only {checked} contacts had answers");
}

/// A campaign whose own window is closed keeps its contacts waiting for its
/// exact next opening, on Redis, while a campaign without a window (the
/// daemon's, open at all hours here) is dialled to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_window_holds_its_contacts_while_another_campaign_dials() {
    campaign_window(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_campaign_window_holds_its_contacts_on_exotel() {
    campaign_window(Provider::Exotel).await;
}

async fn campaign_window(provider: Provider) {
    use sampark::domain::{CampaignId, ContactId, JobState, OfficialId};
    use sampark::policy::CallingWindow;
    use sampark::store::JobRef;

    let redis = TestRedis::start();
    let (simulator, sim_cancel) = start_simulator(provider.simulator(SimulatorConfig {
        seed: 11,
        ..SimulatorConfig::default()
    }))
    .await;
    let quota = Quota {
        burst: 10,
        period: Duration::from_millis(10),
    };
    let (daemon, store) = redis
        .start_daemon(provider, &simulator.base_url(), dialer_config(quota))
        .await;

    // One minute a day, ten hours from now (UTC): closed for this test.
    let now_min = store.now_ms().await.unwrap() / 60_000 % 1440;
    let start = (now_min + 600) % 1439;
    let hhmm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    let window = json!({"zone": "UTC", "ranges": [format!("{}-{}", hhmm(start), hhmm(start + 1))]});
    let doc = |id: &str, phones: &str, window: Option<&Value>| {
        let contacts: Vec<Value> = (0..3)
            .map(|i| {
                json!({"id": format!("k{i}"), "phone": format!("+91{phones}{i}"),
                       "official_id": format!("off-{i}"), "office": "Puri Sadar PS",
                       "service": "Passport verification"})
            })
            .collect();
        let mut doc = json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
            "caller_id": "+916742000000", "department": "home", "contacts": contacts});
        if let Some(window) = window {
            doc["calling_window"] = window.clone();
        }
        doc.to_string()
    };
    store
        .submit(&doc("held-w", "987651000", Some(&window)))
        .await
        .unwrap();
    store
        .submit(&doc("open-window", "987652000", None))
        .await
        .unwrap();

    let open = CampaignId::parse("open-window").unwrap();
    eventually(
        Duration::from_secs(60),
        "the open campaign to finish",
        || {
            let (store, open) = (store.clone(), open.clone());
            async move {
                let status = store.campaign_status(&open).await.unwrap()?;
                (status.finished() == 3).then_some(())
            }
        },
    )
    .await;

    let held = CampaignId::parse("held-w").unwrap();
    let status = store.campaign_status(&held).await.unwrap().unwrap();
    assert_eq!(status.counts.get("queued"), Some(&3), "{:?}", status.counts);
    let expected: CallingWindow = serde_json::from_value(window).unwrap();
    let opening = expected.next_open(store.now_ms().await.unwrap());
    assert!(opening.is_some());
    eventually(Duration::from_secs(10), "all three parked", || {
        let (store, held) = (store.clone(), held.clone());
        async move {
            let mut parked = 0;
            for i in 0..3 {
                let official = OfficialId::parse(&format!("off-{i}")).unwrap();
                let id = JobId::new(held.clone(), ContactId::parse(&format!("k{i}")).unwrap());
                let job = store
                    .load_job(&JobRef::new(store.shard_of(&official), id))
                    .await
                    .unwrap()?;
                assert_eq!(job.attempt, 0, "never granted, never dialled");
                assert_eq!(job.state, JobState::Queued);
                parked += usize::from(job.reason.as_deref() == Some("outside calling hours"));
            }
            (parked == 3).then_some(())
        }
    })
    .await;
    // `campaign status` says why they wait and until when: the exact opening.
    let waiting = store.waiting(&held).await.unwrap();
    assert_eq!(waiting.next_due_ms(), opening, "the exact opening");
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    assert_eq!(waiting.reasons[0].reason, "outside calling hours");
    assert_eq!(waiting.reasons[0].contacts, 3);
    assert_eq!(Some(waiting.reasons[0].last_due_ms), opening);

    daemon.shutdown().await;
    sim_cancel.cancel();
}
