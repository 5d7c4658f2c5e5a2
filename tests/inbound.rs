//! Inbound calls end to end: a real redis-server, the daemon's real servers
//! on port 0, and the provider simulator placing calls to the programme's
//! number (the Twilio protocol: a signed Voice webhook, Gathers, a status
//! callback). Visits are remembered through real intake; calling hours are
//! closed so no outbound call disturbs the inbound ones.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::calls::inbound_job;
use sampark::dialer::DialerConfig;
use sampark::domain::{
    CampaignId, ContactId, FeedbackRecord, JobId, JobState, OfficialId, Outcome, PhoneNumber,
};
use sampark::policy::{CallingWindow, WindowSpec};
use sampark::simulator::{AfterScript, Persona, Simulator, SimulatorConfig};
use sampark::store::redis::RedisStore;
use sampark::store::{Admission, JobRef, Quota, Store};
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, bind_webhook, dialer_config, start_daemon_on, start_simulator,
};
use support::eventually;
use support::http::post_form;
use support::provider::Provider;
use support::redis_server::RedisServer;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(30);

/// A one-minute window ten hours from now: nothing outbound dials during
/// the test, yet queued jobs are real (deferred to the window).
fn closed_hours() -> CallingWindow {
    let now_min = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 60
        % 1440;
    let start = (now_min + 600) % 1439;
    let range = format!(
        "{:02}:{:02}-{:02}:{:02}",
        start / 60,
        start % 60,
        (start + 1) / 60,
        (start + 1) % 60
    );
    let spec = WindowSpec {
        zone: "UTC".into(),
        ranges: vec![range],
        ..WindowSpec::default()
    };
    CallingWindow::from_spec(&spec).unwrap()
}

fn dialer() -> DialerConfig {
    let mut config = dialer_config(Quota {
        burst: 5,
        period: Duration::from_millis(100),
    });
    config.hours = closed_hours();
    config
}

struct Setup {
    daemon: sampark::daemon::Daemon,
    store: Arc<RedisStore>,
    simulator: Simulator,
    sim_cancel: CancellationToken,
    conn: redis::aio::MultiplexedConnection,
    _redis: RedisServer,
}

impl Setup {
    async fn start(provider: Provider, max_concurrent: u32) -> Setup {
        let redis = RedisServer::start();
        let (listener, public_url) = bind_webhook().await;
        let (voice, status) = provider.inbound_urls(&public_url);
        let (simulator, sim_cancel) = start_simulator(provider.simulator(SimulatorConfig {
            seed: 7,
            inbound_voice_url: Some(voice),
            inbound_status_url: Some(status),
            ..SimulatorConfig::default()
        }))
        .await;
        let sim_base = simulator.base_url();
        let (daemon, store) = start_daemon_on(
            listener,
            &redis.url(),
            &simulator.base_url(),
            dialer(),
            move |s| {
                provider.configure(s, &sim_base);
                s.inbound.max_concurrent = max_concurrent;
            },
        )
        .await;
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

    /// Submits a campaign through intake and waits until it is ingested.
    async fn submit(&self, id: &str, contacts: serde_json::Value) {
        let n = contacts.as_array().unwrap().len() as u64;
        let doc = json!({
            "version": 1, "id": id, "name": "visits", "dialplan": "mo-sarkar-feedback",
            "caller_id": "+916742000000", "department": "home", "contacts": contacts,
        });
        self.store.submit(&doc.to_string()).await.unwrap();
        let campaign = CampaignId::parse(id).unwrap();
        eventually(WAIT, "the campaign to be ingested", || async {
            let status = self.store.campaign_status(&campaign).await.ok()??;
            (status.total() == n).then_some(())
        })
        .await;
    }

    /// The feedback record of inbound call `sid`, once relayed.
    async fn record_of(&mut self, sid: &str) -> FeedbackRecord {
        let id = format!("inbound/{sid}");
        let conn = &mut self.conn;
        eventually(WAIT, &format!("the record of {sid}"), || {
            let mut conn = conn.clone();
            let id = id.clone();
            async move {
                records(&mut conn)
                    .await
                    .into_iter()
                    .find(|r| r.record_id == id)
            }
        })
        .await
    }
}

async fn records(conn: &mut redis::aio::MultiplexedConnection) -> Vec<FeedbackRecord> {
    let entries: redis::streams::StreamRangeReply =
        conn.xrange_all("sampark:feedback").await.unwrap();
    entries
        .ids
        .iter()
        .map(|e| serde_json::from_str(&e.get::<String>("record").unwrap()).unwrap())
        .collect()
}

fn contact(id: &str, phone: &str, official: &str, office: &str) -> serde_json::Value {
    json!({
        "id": id, "phone": phone, "language": "en", "official_id": official,
        "office": office, "service": "FIR registration",
    })
}

fn persona(presses: &[&str]) -> Persona {
    Persona {
        presses: presses.iter().map(|p| (*p).to_owned()).collect(),
        then: AfterScript::HangUp,
        ..Persona::default()
    }
}

fn answers(record: &FeedbackRecord) -> HashMap<String, String> {
    record
        .answers
        .iter()
        .map(|a| (a.question.clone(), a.value.clone()))
        .collect()
}

const ONE_VISIT: &str = "+919810000001";
const TWO_VISITS: &str = "+919810000002";
const NO_VISIT: &str = "+919810000003";
const REFUSES: &str = "+919810000004";
const CALL_ME: &str = "+919810000005";
const OPTS_OUT: &str = "+919810000006";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_are_attributed_surveyed_and_called_back() {
    attributed_surveyed_called_back(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn callers_are_attributed_surveyed_and_called_back_on_exotel() {
    attributed_surveyed_called_back(Provider::Exotel).await;
}

async fn attributed_surveyed_called_back(provider: Provider) {
    let mut s = Setup::start(provider, 50).await;
    s.submit(
        "police-nov",
        json!([
            contact("c-1", ONE_VISIT, "off-1", "Cuttack Sadar PS"),
            contact("c-2a", TWO_VISITS, "off-2", "Puri Town PS"),
            contact("c-4", REFUSES, "off-4", "Balasore PS"),
            contact("c-5", CALL_ME, "off-5", "Khurda PS"),
            contact("c-6", OPTS_OUT, "off-6", "Berhampur PS"),
        ]),
    )
    .await;
    s.submit(
        "health-nov",
        json!([contact("h-2b", TWO_VISITS, "doc-9", "Capital Hospital")]),
    )
    .await;

    // Confirm the visit, then: treated well, no money asked, rating 4, no call-back.
    let attributed = s
        .simulator
        .place_inbound(Some(ONE_VISIT), Some(persona(&["1", "1", "2", "4", "2"])))
        .unwrap();
    // Two visits: pick the second offered (the older), then the survey.
    let ambiguous = s
        .simulator
        .place_inbound(Some(TWO_VISITS), Some(persona(&["2", "2", "1", "1", "2"])))
        .unwrap();
    // No visit: language menu (3 = English), department 3 (revenue), survey.
    let unknown = s
        .simulator
        .place_inbound(
            Some(NO_VISIT),
            Some(persona(&["3", "3", "1", "2", "5", "2"])),
        )
        .unwrap();
    // "Not that visit": English, department 1 (police), survey.
    let refused = s
        .simulator
        .place_inbound(
            Some(REFUSES),
            Some(persona(&["2", "3", "1", "1", "2", "3", "2"])),
        )
        .unwrap();
    // Confirms, and asks to be called back.
    let call_me = s
        .simulator
        .place_inbound(Some(CALL_ME), Some(persona(&["1", "2", "1", "1", "1"])))
        .unwrap();
    // Opts out at the very first prompt.
    let opts_out = s
        .simulator
        .place_inbound(Some(OPTS_OUT), Some(persona(&["9"])))
        .unwrap();

    let r = s.record_of(&attributed).await;
    assert_eq!(r.direction, sampark::domain::Direction::Inbound);
    assert!(r.attributed);
    assert_eq!(
        (r.campaign_id.as_str(), r.contact_id.as_str()),
        ("police-nov", "c-1")
    );
    assert_eq!(
        (
            r.official_id.as_str(),
            r.office.as_str(),
            r.department.as_str()
        ),
        ("off-1", "Cuttack Sadar PS", "home")
    );
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(r.attempts, 1);
    let a = answers(&r);
    assert!(!a.contains_key("department"), "a confirmed visit skips it");
    assert_eq!(a["treated_well"], "yes");
    assert_eq!(a["asked_money"], "no");
    assert_eq!(a["rating"], "4");

    // Visits are offered newest first; option 2 is the older one.
    let offered = s
        .store
        .recent_visits(
            &PhoneNumber::parse(TWO_VISITS).unwrap(),
            Duration::from_secs(3600),
            8,
        )
        .await
        .unwrap();
    assert_eq!(offered.len(), 2);
    let r = s.record_of(&ambiguous).await;
    assert!(r.attributed);
    assert_eq!(r.official_id, offered[1].official_id);
    assert_eq!(r.campaign_id, offered[1].campaign_id);
    assert_eq!(r.flags, vec!["mistreated", "bribe_asked", "low_rating"]);

    let r = s.record_of(&unknown).await;
    assert!(!r.attributed);
    assert_eq!(r.department, "revenue");
    assert_eq!(
        (
            r.official_id.as_str(),
            r.office.as_str(),
            r.campaign_id.as_str()
        ),
        ("", "", "inbound")
    );
    assert_eq!(r.outcome, Outcome::Completed);
    assert_eq!(answers(&r)["rating"], "5");

    let r = s.record_of(&refused).await;
    assert!(!r.attributed, "the caller said it was not that visit");
    assert_eq!(r.department, "home");
    assert_eq!(r.official_id, "");
    assert_eq!(r.outcome, Outcome::Completed);

    let r = s.record_of(&call_me).await;
    assert!(r.flags.contains(&"callback_requested".to_owned()));
    // The call-back is an outbound job for the same citizen, about the same
    // official, queued under the normal limits (calling hours are closed, so
    // it waits).
    let callback = JobRef::new(
        s.store.shard_of(&OfficialId::parse("off-5").unwrap()),
        JobId::new(
            CampaignId::parse("inbound-callbacks").unwrap(),
            ContactId::parse(&format!("cb-{call_me}")).unwrap(),
        ),
    );
    let job = s
        .store
        .load_job(&callback)
        .await
        .unwrap()
        .expect("call-back job");
    assert_eq!(job.spec.contact.phone.as_str(), CALL_ME);
    assert_eq!(job.spec.contact.office, "Khurda PS");
    assert_eq!(job.spec.department, "home");
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.dials, 0);
    let status = s
        .store
        .campaign_status(&CampaignId::parse("inbound-callbacks").unwrap())
        .await
        .unwrap()
        .expect("call-back campaign");
    assert_eq!(status.total(), 1);

    let r = s.record_of(&opts_out).await;
    assert_eq!(r.outcome, Outcome::OptedOut);
    assert!(r.answers.is_empty());
    // The wish is kept for every campaign, under the number's keyed tag.
    let phone = PhoneNumber::parse(OPTS_OUT).unwrap();
    let keys =
        sampark::store::keys::Keys::new("sampark").with_citizen_key(support::daemon::citizen_key());
    let marker: bool = s
        .conn
        .clone()
        .exists(keys.opt_out(&keys.citizen_tag(&phone)))
        .await
        .unwrap();
    assert!(marker, "the opt-out marker is written");

    // Every inbound call released its slot; no outbound call was placed.
    let live: u64 = s.conn.zcard("sampark:inbound:live").await.unwrap();
    assert_eq!(live, 0);
    assert!(
        s.simulator
            .ledger()
            .iter()
            .all(|e| !matches!(e, sampark::simulator::LedgerEntry::Originate { .. })),
        "calling hours are closed"
    );
    // No phone number appears in a record.
    let raw: Vec<FeedbackRecord> = records(&mut s.conn).await;
    let text = serde_json::to_string(&raw).unwrap();
    for phone in [ONE_VISIT, TWO_VISITS, NO_VISIT, REFUSES, CALL_ME, OPTS_OUT] {
        assert!(!text.contains(&phone[3..]), "{phone} leaked into a record");
    }
    s.stop().await;
}

/// The Voice webhook's parameters of an inbound call, as Twilio sends them.
fn voice(sid: &str, from: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CallSid", sid.to_owned()),
        ("AccountSid", ACCOUNT_SID.to_owned()),
        ("From", from.to_owned()),
        ("To", "+916742100100".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("CallStatus", "ringing".to_owned()),
    ]
}

async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    params: &[(&'static str, String)],
    token: &str,
) -> (u16, String) {
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post_form(addr, path, &borrowed, Some(token)).await
}

/// The gather URL in a TwiML reply, as a path and query on our server.
fn gather_path(twiml: &str) -> String {
    let start = twiml.find("action=\"").expect("a gather") + 8;
    let url = &twiml[start..start + twiml[start..].find('"').unwrap()];
    let url = url.replace("&amp;", "&");
    let path = url.split_once("//").unwrap().1;
    path[path.find('/').unwrap()..].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_duplicate_and_flooding_inbound_calls() {
    let mut s = Setup::start(Provider::Twilio, 2).await;
    let addr = s.daemon.webhook_addr();
    s.submit(
        "police-nov",
        json!([contact("c-1", ONE_VISIT, "off-1", "Cuttack Sadar PS")]),
    )
    .await;

    // Forged: 403, nothing created.
    let (code, _) = post(
        addr,
        "/twilio/inbound",
        &voice("CAforged", ONE_VISIT),
        "wrong",
    )
    .await;
    assert_eq!(code, 403);
    let forged = inbound_job("CAforged", 16).unwrap();
    assert!(s.store.load_job(&forged).await.unwrap().is_none());

    // Duplicated webhooks at every step: the same replies, one record.
    let sid = "CAdup0000000000000000000000000001";
    let first = post(addr, "/twilio/inbound", &voice(sid, ONE_VISIT), AUTH_TOKEN).await;
    let again = post(addr, "/twilio/inbound", &voice(sid, ONE_VISIT), AUTH_TOKEN).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first, again);
    assert!(first.1.contains("Cuttack Sadar PS"), "{}", first.1);
    let mut reply = first.1;
    for key in ["1", "1", "2", "3", "2"] {
        let path = gather_path(&reply);
        let params = vec![("CallSid", sid.to_owned()), ("Digits", key.to_owned())];
        let once = post(addr, &path, &params, AUTH_TOKEN).await;
        let twice = post(addr, &path, &params, AUTH_TOKEN).await;
        assert_eq!(once.0, 200);
        assert_eq!(once, twice, "a duplicate gather replays the reply");
        reply = once.1;
    }
    assert!(reply.contains("<Hangup"), "{reply}");
    let status = vec![
        ("CallSid", sid.to_owned()),
        ("CallStatus", "completed".to_owned()),
    ];
    for _ in 0..3 {
        let (code, _) = post(addr, "/twilio/inbound/status", &status, AUTH_TOKEN).await;
        assert_eq!(code, 204);
    }
    let r = s.record_of(sid).await;
    assert_eq!((r.outcome, r.attributed), (Outcome::Completed, true));
    assert_eq!(answers(&r)["rating"], "3");
    // A late duplicate of the Voice webhook after the end only hangs up.
    let (code, late) = post(addr, "/twilio/inbound", &voice(sid, ONE_VISIT), AUTH_TOKEN).await;
    assert_eq!(code, 200);
    assert!(
        late.contains("<Hangup") && !late.contains("<Gather"),
        "{late}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = records(&mut s.conn).await;
    assert_eq!(all.iter().filter(|r| r.record_id.ends_with(sid)).count(), 1);

    // A flood: two calls already live fleet-wide (the cap), so the next
    // callers hear the busy message (in the plan's default language, Odia:
    // its recording), politely, with 200.
    for held in ["CAheld1", "CAheld2"] {
        let admitted = s
            .store
            .admit_inbound(held, 2, Duration::from_secs(600))
            .await
            .unwrap();
        assert_eq!(admitted, Admission::Admitted);
    }
    for i in 0..5 {
        let sid = format!("CAflood{i}");
        let (code, body) = post(addr, "/twilio/inbound", &voice(&sid, NO_VISIT), AUTH_TOKEN).await;
        assert_eq!(code, 200, "never a 5xx: {body}");
        assert!(body.contains("inbound-busy.mp3"), "{body}");
        assert!(
            body.contains("<Hangup") && !body.contains("<Gather"),
            "{body}"
        );
        let job = inbound_job(&sid, 16).unwrap();
        assert!(s.store.load_job(&job).await.unwrap().is_none());
    }
    // The simulator's callers get the same.
    let turned_away = s.simulator.place_inbound(Some(NO_VISIT), None).unwrap();
    eventually(WAIT, "the turned-away call to end", || async {
        s.simulator
            .ledger()
            .iter()
            .any(|e| {
                e.call_sid() == turned_away
                    && matches!(e, sampark::simulator::LedgerEntry::End { .. })
            })
            .then_some(())
    })
    .await;
    assert!(
        !s.simulator
            .ledger()
            .iter()
            .any(|e| e.call_sid() == turned_away
                && matches!(e, sampark::simulator::LedgerEntry::Press { .. })),
        "a turned-away caller is asked nothing"
    );
    s.store.release_inbound("CAheld1").await.unwrap();
    let (code, body) = post(
        addr,
        "/twilio/inbound",
        &voice("CAafter", NO_VISIT),
        AUTH_TOKEN,
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        body.contains("<Gather"),
        "a freed slot takes the next caller: {body}"
    );
    s.stop().await;
}
