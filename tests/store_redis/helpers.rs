//! Fixtures shared by the Redis backend tests.

pub use std::num::NonZeroU32;
pub use std::time::Duration;

pub use governor::clock::{Clock, FakeRelativeClock, Reference};
pub use governor::{Quota as GQuota, RateLimiter};
pub use sampark::domain::{
    Answer, CallStatus, CampaignHeader, CampaignId, Contact, ContactId, Direction, FeedbackRecord,
    JobId, JobSpec, JobState, OfficialId, Outcome, PhoneNumber,
};
pub use sampark::store::gcra::Gcra;
pub use sampark::store::redis::RedisStore;
pub use sampark::store::{
    Authorize, DeadLetter, DialLimits, Finish, IvrUpdate, Job, JobRef, Limit, PutOutcome, Quota,
    ReadyEntry, SaveIvr, Store, StoreError, Transition,
};

pub use crate::support::redis_server::RedisServer;

pub const LEASE: Duration = Duration::from_secs(60);
pub const RECLAIM: Duration = Duration::from_secs(60);
pub const OPEN: Quota = Quota {
    burst: 1000,
    period: Duration::from_millis(1),
};

pub async fn setup() -> (RedisServer, RedisStore) {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), "sampark", 4)
        .await
        .unwrap();
    (server, store)
}

pub async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

pub fn header(id: &str) -> CampaignHeader {
    CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        kind: sampark::domain::CampaignKind::Survey,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: CampaignId::parse(id).unwrap(),
        name: "Police feedback".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    }
}

pub fn spec(contact: &str, official: &str) -> JobSpec {
    JobSpec::new(
        &header("police-1"),
        Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse(contact).unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: Some("or".into()),
            official_id: OfficialId::parse(official).unwrap(),
            office: "Dhenkanal Town PS".into(),
            service: "FIR registration".into(),
        },
    )
}

pub fn answer(question: &str, flag: Option<&str>) -> Answer {
    Answer {
        question: question.into(),
        digits: "1".into(),
        value: "yes".into(),
        label: "Yes".into(),
        flag: flag.map(str::to_owned),
        at_ms: 0,
    }
}

/// Enqueues a contact and reads its ready entry.
pub async fn ready(store: &RedisStore, contact: &str, official: &str) -> ReadyEntry {
    store.put_campaign(&header("police-1")).await.unwrap();
    assert_eq!(
        store.enqueue(&spec(contact, official)).await.unwrap(),
        PutOutcome::Created
    );
    let entries = store.read_ready("d1", 10, RECLAIM).await.unwrap();
    entries
        .into_iter()
        .find(|e| e.job.contact.as_str() == contact)
        .expect("the new job is on the ready stream")
}

/// Enqueues a contact of an official whose earlier jobs may be held and
/// reads its ready entry: the official is taken out of its shard's
/// schedule first (its held queue left as it is), so that the new job is
/// made ready rather than queued behind the others. For tests of the
/// decision itself, which need a fresh entry of the same official each time.
pub async fn ready_despite_backlog(
    server: &RedisServer,
    store: &RedisStore,
    contact: &str,
    official: &str,
) -> ReadyEntry {
    let official_id = OfficialId::parse(official).unwrap();
    let shard = store.shard_of(&official_id);
    let sched = sampark::store::keys::Keys::new("sampark").schedule(shard);
    redis::cmd("ZREM")
        .arg(sched)
        .arg(official)
        .exec_async(&mut raw(server).await)
        .await
        .unwrap();
    ready(store, contact, official).await
}

/// Enqueues a contact and authorises its first attempt.
pub async fn dialing(store: &RedisStore, contact: &str) -> Job {
    let entry = ready(store, contact, "off-17").await;
    match store
        .authorize(&entry, &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap()
    {
        Authorize::Granted { job, .. } => *job,
        other => panic!("expected Granted, got {other:?}"),
    }
}

pub async fn state(store: &RedisStore, id: &JobRef) -> JobState {
    store.load_job(id).await.unwrap().unwrap().state
}

pub fn update(attempt: u32, expected_step: u32, answers: Vec<Answer>) -> IvrUpdate {
    IvrUpdate {
        attempt,
        expected_step,
        session: format!("{{\"node\":{expected_step}}}"),
        new_answers: answers,
        response: format!("<Response>{expected_step}</Response>"),
        attribution: None,
        bridge: None,
    }
}
