//! Officials' calls end to end: a real redis-server, the daemon's real
//! servers on port 0, the officials' registry, and the provider simulator
//! speaking Twilio's protocol — the official's call, the brief, the `<Dial>`
//! to the citizen with the programme's caller id, the whisper, the dial's
//! `action` with `DialCallStatus`, the disposition gathers. Officials and
//! citizens are scripted personas per number.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::{
    CampaignId, ContactId, Direction, FeedbackRecord, JobId, Official, OfficialFields, OfficialId,
    Outcome, PhoneNumber,
};
use sampark::simulator::{LedgerEntry, Persona, PickUp, Simulator, SimulatorConfig};
use sampark::store::redis::RedisStore;
use sampark::store::{DncRequest, EscalationQuery, JobRef, Quota, Store};
use serde_json::{Value, json};
use support::daemon::{Killable, bind_webhook, dialer_config, start_daemon_on, start_simulator};
use support::eventually;
use support::provider::Provider;
use support::redis_server::RedisServer;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(40);
const PROGRAMME: &str = "+916742100100";
const OFFICIAL: &str = "+919437000001";
const OFFICIAL_2: &str = "+919437000002";
const CITIZEN: &str = "+919800000001";

fn persona(pick_up: PickUp, presses: &[&str], talk_secs: Option<u32>) -> Persona {
    Persona {
        presses: presses.iter().map(|p| p.to_string()).collect(),
        pick_up,
        talk_secs,
        ..Persona::default()
    }
}

fn official(id: &str, phone: &str) -> Official {
    Official::new(&OfficialFields {
        official_id: id.into(),
        name: "ଅନିତା ପଟ୍ଟନାୟକ".into(),
        phone: phone.into(),
        office: "Khordha PS".into(),
        department: "home".into(),
        languages: vec!["en".into()],
    })
    .unwrap()
}

struct Setup {
    daemon: sampark::daemon::Daemon,
    store: Arc<RedisStore>,
    simulator: Simulator,
    sim_cancel: CancellationToken,
    conn: redis::aio::MultiplexedConnection,
    _redis: RedisServer,
}

fn simulator_config(provider: Provider, personas: &[(&str, Persona)]) -> SimulatorConfig {
    provider.simulator(SimulatorConfig {
        seed: 11,
        personas: personas
            .iter()
            .map(|(n, p)| (n.to_string(), p.clone()))
            .collect::<BTreeMap<_, _>>(),
        ..SimulatorConfig::default()
    })
}

impl Setup {
    async fn start(provider: Provider, personas: &[(&str, Persona)], per_day: u32) -> Setup {
        let redis = RedisServer::start();
        let (listener, _) = bind_webhook().await;
        let (simulator, sim_cancel) = start_simulator(simulator_config(provider, personas)).await;
        let sim_base = simulator.base_url();
        let mut dialer = dialer_config(Quota {
            burst: 5,
            period: Duration::from_millis(100),
        });
        dialer.citizen_caps.per_day = per_day;
        let (daemon, store) = start_daemon_on(
            listener,
            &redis.url(),
            &simulator.base_url(),
            dialer,
            move |s| provider.configure(s, &sim_base),
        )
        .await;
        store
            .put_officials(&[official("off-1", OFFICIAL), official("off-2", OFFICIAL_2)])
            .await
            .unwrap();
        let client = redis::Client::open(redis.url()).unwrap();
        let conn = client.get_multiplexed_async_connection().await.unwrap();
        Setup {
            daemon,
            store,
            simulator,
            sim_cancel,
            conn,
            _redis: redis,
        }
    }

    async fn stop(self) {
        self.daemon.shutdown().await;
        self.sim_cancel.cancel();
        self.simulator.wait().await;
    }

    async fn submit(&self, doc: Value) {
        self.store.submit(&doc.to_string()).await.unwrap();
    }

    async fn record(&self, campaign: &str, contact: &str) -> FeedbackRecord {
        record_in(&self.conn, &format!("{campaign}/{contact}")).await
    }
}

async fn record_in(conn: &redis::aio::MultiplexedConnection, id: &str) -> FeedbackRecord {
    eventually(WAIT, &format!("the record of {id}"), || {
        let mut conn = conn.clone();
        async move {
            let entries: redis::streams::StreamRangeReply =
                conn.xrange_all("sampark:feedback").await.unwrap();
            entries
                .ids
                .iter()
                .map(|e| {
                    serde_json::from_str::<FeedbackRecord>(&e.get::<String>("record").unwrap())
                        .unwrap()
                })
                .find(|r| r.record_id == id)
        }
    })
    .await
}

fn campaign(id: &str, contacts: Vec<Value>, extra: Value) -> Value {
    let mut doc = json!({
        "version": 1, "id": id, "name": "officials", "dialplan": "official-call",
        "caller_id": PROGRAMME, "department": "home", "kind": "official",
        "contacts": contacts,
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc
}

fn contact(id: &str, official: &str, phone: &str) -> Value {
    json!({
        "id": id, "phone": phone, "official_id": official, "office": "Khordha PS",
        "service": "FIR registration", "first_name": "Sunita",
        "visit_at": "2026-11-27T10:30:00+05:30", "language": "or",
    })
}

fn bridges(sim: &Simulator) -> Vec<LedgerEntry> {
    sim.ledger()
        .into_iter()
        .filter(|e| matches!(e, LedgerEntry::Bridge { .. }))
        .collect()
}

/// The numbers the simulator was asked to call, masked as its ledger has them.
fn originated(sim: &Simulator) -> Vec<String> {
    sim.ledger()
        .into_iter()
        .filter_map(|e| match e {
            LedgerEntry::Originate { to_masked, .. } => Some(to_masked),
            _ => None,
        })
        .collect()
}

fn masked(phone: &str) -> String {
    PhoneNumber::parse(phone).unwrap().masked()
}

#[tokio::test]
async fn the_official_is_briefed_connected_and_keys_a_disposition() {
    briefed_connected_disposition(Provider::Twilio).await;
}

#[tokio::test]
async fn the_official_is_briefed_connected_and_keys_a_disposition_on_exotel() {
    briefed_connected_disposition(Provider::Exotel).await;
}

async fn briefed_connected_disposition(provider: Provider) {
    let s = Setup::start(
        provider,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["1", "5"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(95))),
        ],
        10,
    )
    .await;
    s.submit(campaign(
        "off-a",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({}),
    ))
    .await;
    let record = s.record("off-a", "c-1").await;
    assert_eq!(record.direction, Direction::Official);
    assert_eq!(record.outcome, Outcome::Completed);
    assert_eq!(record.official_id, "off-1");
    assert_eq!(record.contact_id, "c-1");
    let bridge = record
        .bridge
        .clone()
        .expect("the record has the citizen's leg");
    assert_eq!(
        (bridge.outcome.as_str(), bridge.talk_secs),
        ("completed", 95)
    );
    assert_eq!(bridge.recording, None, "recording is off by default");
    let answers: Vec<(&str, &str)> = record
        .answers
        .iter()
        .map(|a| (a.question.as_str(), a.value.as_str()))
        .collect();
    assert_eq!(answers, vec![("disposition", "satisfied"), ("rating", "5")]);
    // Sampark rang the official, never the citizen directly; the citizen saw
    // the programme's number, not the official's.
    assert_eq!(originated(&s.simulator), vec![masked(OFFICIAL)]);
    let bridges = bridges(&s.simulator);
    let [
        LedgerEntry::Bridge {
            to_masked,
            caller_id,
            status,
            whispered,
            recorded,
            ..
        },
    ] = bridges.as_slice()
    else {
        panic!("{bridges:?}");
    };
    assert_eq!(to_masked, &masked(CITIZEN));
    assert_eq!(caller_id.as_deref(), Some(PROGRAMME));
    assert_eq!(status, "completed");
    assert!(!whispered && !recorded);
    // Neither number is in the record.
    let raw = serde_json::to_string(&record).unwrap();
    for number in [OFFICIAL, CITIZEN] {
        assert!(!raw.contains(&number[3..]), "{raw}");
    }
    s.stop().await;
}

#[tokio::test]
async fn a_grievance_is_escalated_and_a_recorded_call_has_consent_and_a_reference() {
    let s = Setup::start(
        Provider::Twilio,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["2", "1"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(40))),
        ],
        10,
    )
    .await;
    s.submit(campaign(
        "off-rec",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({"recording": true}),
    ))
    .await;
    let record = s.record("off-rec", "c-1").await;
    assert_eq!(record.flags, vec!["grievance".to_owned()]);
    let bridge = record.bridge.clone().unwrap();
    let recording = bridge.recording.expect("a recorded call's reference");
    assert!(recording.contains("/Recordings/RE"), "{recording}");
    let bridges = bridges(&s.simulator);
    assert!(
        matches!(
            bridges.as_slice(),
            [LedgerEntry::Bridge {
                whispered: true,
                recorded: true,
                ..
            }]
        ),
        "the citizen heard the consent notice first: {bridges:?}"
    );
    let escalations = eventually(WAIT, "the grievance's escalation", || async {
        let found = s
            .store
            .escalations(&EscalationQuery::default())
            .await
            .unwrap();
        (!found.is_empty()).then_some(found)
    })
    .await;
    assert_eq!(escalations.len(), 1);
    let e = &escalations[0].escalation;
    assert_eq!(e.record_id, "off-rec/c-1");
    assert_eq!(e.flags, vec!["grievance".to_owned()]);
    assert_eq!(e.direction, Direction::Official);
    s.stop().await;
}

/// Exotel's `<Dial>` cannot play the consent notice to the citizen, so a
/// campaign that asks for recording gets its calls connected unrecorded
/// (docs/exotel.md); the rest of the call is as on Twilio.
#[tokio::test]
async fn on_exotel_a_call_that_needs_consent_is_connected_unrecorded() {
    let s = Setup::start(
        Provider::Exotel,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["2", "1"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(40))),
        ],
        10,
    )
    .await;
    s.submit(campaign(
        "off-rec",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({"recording": true}),
    ))
    .await;
    let record = s.record("off-rec", "c-1").await;
    assert_eq!(record.flags, vec!["grievance".to_owned()]);
    let bridge = record.bridge.clone().unwrap();
    assert_eq!(
        (bridge.outcome.as_str(), bridge.talk_secs),
        ("completed", 40)
    );
    assert_eq!(bridge.recording, None, "no recording without the notice");
    let bridges = bridges(&s.simulator);
    assert!(
        matches!(
            bridges.as_slice(),
            [LedgerEntry::Bridge {
                whispered: false,
                recorded: false,
                ..
            }]
        ),
        "{bridges:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_busy_citizen_is_tried_again_only_when_the_official_asks() {
    busy_citizen(Provider::Twilio).await;
}

#[tokio::test]
async fn a_busy_citizen_is_tried_again_only_when_the_official_asks_on_exotel() {
    busy_citizen(Provider::Exotel).await;
}

async fn busy_citizen(provider: Provider) {
    let s = Setup::start(
        provider,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["2"], None)),
            (OFFICIAL_2, persona(PickUp::Answer, &["1", "1"], None)),
            (CITIZEN, persona(PickUp::Busy, &[], None)),
            ("+919800000002", persona(PickUp::NoAnswer, &[], None)),
        ],
        10,
    )
    .await;
    let retry = json!({"retry": {"max_attempts": 2, "busy": ["1s"], "no_answer": ["1s"]}});
    s.submit(campaign(
        "off-busy",
        vec![
            contact("c-1", "off-1", CITIZEN),
            contact("c-2", "off-2", "+919800000002"),
        ],
        retry,
    ))
    .await;
    // Official 1 heard "not reached" and declined: ended after one call.
    let declined = s.record("off-busy", "c-1").await;
    assert_eq!(declined.outcome, Outcome::Busy);
    assert_eq!(declined.attempts, 1);
    assert_eq!(declined.bridge.unwrap().outcome, "busy");
    // Official 2 asked to try later each time: called again, up to the
    // campaign's attempts.
    let retried = s.record("off-busy", "c-2").await;
    assert_eq!(retried.outcome, Outcome::NoAnswer);
    assert_eq!(retried.attempts, 2);
    assert_eq!(retried.bridge.unwrap().outcome, "no-answer");
    let calls = originated(&s.simulator);
    assert_eq!(calls.iter().filter(|n| **n == masked(OFFICIAL)).count(), 1);
    assert_eq!(
        calls.iter().filter(|n| **n == masked(OFFICIAL_2)).count(),
        2
    );
    assert_eq!(bridges(&s.simulator).len(), 3);
    s.stop().await;
}

#[tokio::test]
async fn an_official_who_does_not_answer_is_retried_and_the_citizen_never_rung() {
    official_no_answer(Provider::Twilio).await;
}

#[tokio::test]
async fn an_official_who_does_not_answer_is_retried_and_the_citizen_never_rung_on_exotel() {
    official_no_answer(Provider::Exotel).await;
}

async fn official_no_answer(provider: Provider) {
    let s = Setup::start(
        provider,
        &[(OFFICIAL, persona(PickUp::NoAnswer, &[], None))],
        10,
    )
    .await;
    s.submit(campaign(
        "off-na",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({"retry": {"max_attempts": 2, "no_answer": ["1s"]}}),
    ))
    .await;
    let record = s.record("off-na", "c-1").await;
    assert_eq!(record.outcome, Outcome::NoAnswer);
    assert_eq!(record.attempts, 2);
    assert_eq!(record.bridge, None);
    assert!(bridges(&s.simulator).is_empty());
    s.stop().await;
}

#[tokio::test]
async fn the_citizens_do_not_call_entry_and_caps_hold_the_officials_leg() {
    dnc_and_caps(Provider::Twilio).await;
}

#[tokio::test]
async fn the_citizens_do_not_call_entry_and_caps_hold_the_officials_leg_on_exotel() {
    dnc_and_caps(Provider::Exotel).await;
}

async fn dnc_and_caps(provider: Provider) {
    let s = Setup::start(
        provider,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["1", "4"], None)),
            (OFFICIAL_2, persona(PickUp::Answer, &["1", "4"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(10))),
        ],
        1,
    )
    .await;
    let dnc = PhoneNumber::parse("+919800000009").unwrap();
    s.store
        .dnc_put(&[DncRequest {
            phone: dnc,
            reason: "asked".into(),
            expires_at_ms: None,
        }])
        .await
        .unwrap();
    s.submit(campaign(
        "off-dnc",
        vec![contact("c-dnc", "off-1", "+919800000009")],
        json!({}),
    ))
    .await;
    let record = s.record("off-dnc", "c-dnc").await;
    assert_eq!(record.outcome, Outcome::OptedOut);
    assert_eq!(record.attempts, 0);
    assert!(
        originated(&s.simulator).is_empty(),
        "the official was not called"
    );
    // One call a day per citizen: the second official's call waits.
    s.submit(campaign(
        "off-cap-1",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({}),
    ))
    .await;
    assert_eq!(
        s.record("off-cap-1", "c-1").await.outcome,
        Outcome::Completed
    );
    s.submit(campaign(
        "off-cap-2",
        vec![contact("c-1", "off-2", CITIZEN)],
        json!({}),
    ))
    .await;
    let job = JobRef::new(
        s.store.shard_of(&OfficialId::parse("off-2").unwrap()),
        JobId::new(
            CampaignId::parse("off-cap-2").unwrap(),
            ContactId::parse("c-1").unwrap(),
        ),
    );
    let held = eventually(WAIT, "the capped job to be held", || async {
        let job = s.store.load_job(&job).await.ok()??;
        job.reason
            .as_deref()
            .is_some_and(|r| r.contains("cap"))
            .then_some(job)
    })
    .await;
    assert_eq!(held.dials, 0);
    assert!(!originated(&s.simulator).contains(&masked(OFFICIAL_2)));
    s.stop().await;
}

#[tokio::test]
async fn a_contact_of_an_official_not_in_the_registry_is_dead_lettered() {
    let s = Setup::start(Provider::Twilio, &[], 10).await;
    s.submit(campaign(
        "off-unknown",
        vec![contact("c-1", "off-nobody", CITIZEN)],
        json!({}),
    ))
    .await;
    let letters = eventually(WAIT, "the dead letter", || async {
        let letters = s.store.dead_letters(10).await.unwrap();
        (!letters.is_empty()).then_some(letters)
    })
    .await;
    assert!(
        letters[0]
            .reason
            .contains("official off-nobody is not in the officials' registry"),
        "{letters:?}"
    );
    assert!(!letters[0].payload.contains(&CITIZEN[3..]), "{letters:?}");
    // A survey plan cannot carry an officials' campaign, nor the other way.
    let mut survey = campaign(
        "off-wrong",
        vec![contact("c-1", "off-1", CITIZEN)],
        json!({}),
    );
    survey["dialplan"] = json!("mo-sarkar-feedback");
    s.submit(survey).await;
    eventually(WAIT, "the document refused", || async {
        let letters = s.store.dead_letters(10).await.unwrap();
        letters
            .iter()
            .any(|l| l.reason.contains("needs a dialplan with [bridge]"))
            .then_some(())
    })
    .await;
    s.stop().await;
}

#[tokio::test]
async fn a_daemon_killed_mid_bridge_bridges_once_and_writes_one_record() {
    killed_mid_bridge(Provider::Twilio).await;
}

#[tokio::test]
async fn a_daemon_killed_mid_bridge_bridges_once_and_writes_one_record_on_exotel() {
    killed_mid_bridge(Provider::Exotel).await;
}

async fn killed_mid_bridge(provider: Provider) {
    let redis = RedisServer::start();
    let mut config = simulator_config(
        provider,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["1", "3"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(20))),
        ],
    );
    // The citizen's phone rings long enough to kill the daemon meanwhile.
    config.ring_delay = (Duration::from_millis(1_500), Duration::from_millis(1_500));
    let (simulator, sim_cancel) = start_simulator(config).await;
    let mut dialer = dialer_config(Quota {
        burst: 5,
        period: Duration::from_millis(100),
    });
    dialer.max_call = Duration::from_secs(3);
    let base = simulator.base_url();
    let sim_base = base.clone();
    let mut first = Killable::start(&redis.url(), &base, dialer.clone(), move |s| {
        provider.configure(s, &sim_base)
    });
    let client = redis::Client::open(redis.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap()
        .with_citizen_key(support::daemon::citizen_key());
    store
        .put_officials(&[official("off-1", OFFICIAL)])
        .await
        .unwrap();
    store
        .submit(
            &campaign(
                "off-kill",
                vec![contact("c-1", "off-1", CITIZEN)],
                json!({}),
            )
            .to_string(),
        )
        .await
        .unwrap();
    let job = JobRef::new(
        store.shard_of(&OfficialId::parse("off-1").unwrap()),
        JobId::new(
            CampaignId::parse("off-kill").unwrap(),
            ContactId::parse("c-1").unwrap(),
        ),
    );
    eventually(
        WAIT,
        "the official to be briefed and the citizen dialled",
        || async {
            let job = store.load_job(&job).await.ok()??;
            (job.ivr_step == 1).then_some(())
        },
    )
    .await;
    first.kill();
    // Another instance takes over: the call is reconciled, not redialled.
    let (listener, _) = bind_webhook().await;
    let (second, _) = start_daemon_on(listener, &redis.url(), &base, dialer, |s| {
        provider.configure(s, &base)
    })
    .await;
    let record = record_in(&conn, "off-kill/c-1").await;
    assert_eq!(record.outcome, Outcome::Partial);
    assert_eq!(record.attempts, 1);
    assert_eq!(
        originated(&simulator).len(),
        1,
        "the official was called once"
    );
    assert_eq!(
        bridges(&simulator).len(),
        1,
        "the citizen was connected once"
    );
    second.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

#[tokio::test]
async fn an_official_asks_through_the_admin_api() {
    asks_through_the_api(Provider::Twilio).await;
}

#[tokio::test]
async fn an_official_asks_through_the_admin_api_on_exotel() {
    asks_through_the_api(Provider::Exotel).await;
}

async fn asks_through_the_api(provider: Provider) {
    let s = Setup::start(
        provider,
        &[
            (OFFICIAL, persona(PickUp::Answer, &["1", "4"], None)),
            (CITIZEN, persona(PickUp::Answer, &[], Some(30))),
        ],
        10,
    )
    .await;
    let admin = s.daemon.admin_addr().unwrap();
    let body = json!({
        "official_id": "off-1", "department": "home",
        "contact": {"id": "req-1", "phone": "9800000001", "office": "Khordha PS",
            "service": "FIR registration", "first_name": "Sunita"},
    });
    let (status, reply) = support::http::post_json(admin, "/admin/official-calls", &body).await;
    assert_eq!(status, 202, "{reply}");
    assert!(reply.contains("official-calls-home"), "{reply}");
    let record = s.record("official-calls-home", "req-1").await;
    assert_eq!(record.direction, Direction::Official);
    assert_eq!(record.outcome, Outcome::Completed);
    // An official who is not registered is refused at once.
    let mut unknown = body.clone();
    unknown["official_id"] = json!("off-nobody");
    let (status, reply) = support::http::post_json(admin, "/admin/official-calls", &unknown).await;
    assert_eq!(status, 422, "{reply}");
    assert!(reply.contains("not in the officials' registry"), "{reply}");
    s.stop().await;
}
