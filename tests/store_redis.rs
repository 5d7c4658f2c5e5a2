//! The Redis backend against a real redis-server: every transition's happy
//! path and fences, the feedback record, outages, and the GCRA oracle.

mod support;

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, FakeRelativeClock, Reference};
use governor::{Quota as GQuota, RateLimiter};
use sampark::domain::{
    Answer, CallStatus, CampaignHeader, CampaignId, Contact, ContactId, FeedbackRecord, JobId,
    JobSpec, JobState, OfficialId, Outcome, PhoneNumber,
};
use sampark::store::gcra::Gcra;
use sampark::store::redis::RedisStore;
use sampark::store::{
    Authorize, CitizenCheck, DeadLetter, Finish, IvrUpdate, Job, PutOutcome, Quota, ReadyEntry,
    SaveIvr, Store, StoreError, Transition,
};
use support::redis_server::RedisServer;

const LEASE: Duration = Duration::from_secs(60);
const RECLAIM: Duration = Duration::from_secs(60);
const OPEN: Quota = Quota {
    burst: 1000,
    period: Duration::from_millis(1),
};

async fn setup() -> (RedisServer, RedisStore) {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), "sampark", 4)
        .await
        .unwrap();
    (server, store)
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn header(id: &str) -> CampaignHeader {
    CampaignHeader {
        id: CampaignId::parse(id).unwrap(),
        name: "Police feedback".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    }
}

fn spec(contact: &str, official: &str) -> JobSpec {
    JobSpec::new(
        &header("police-1"),
        Contact {
            id: ContactId::parse(contact).unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: Some("or".into()),
            official_id: OfficialId::parse(official).unwrap(),
            office: "Dhenkanal Town PS".into(),
            service: "FIR registration".into(),
        },
    )
}

fn answer(question: &str, flag: Option<&str>) -> Answer {
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
async fn ready(store: &RedisStore, contact: &str, official: &str) -> ReadyEntry {
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

/// Enqueues a contact and authorises its first attempt.
async fn dialing(store: &RedisStore, contact: &str) -> Job {
    let entry = ready(store, contact, "off-17").await;
    match store.authorize(&entry, OPEN, LEASE).await.unwrap() {
        Authorize::Granted { job, .. } => *job,
        other => panic!("expected Granted, got {other:?}"),
    }
}

async fn state(store: &RedisStore, id: &JobId) -> JobState {
    store.load_job(id).await.unwrap().unwrap().state
}

#[tokio::test]
async fn intake_reads_reclaims_and_acks() {
    let (server, store) = setup().await;
    let id = store.submit("{\"doc\":1}").await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg("sampark:campaigns")
        .arg("*")
        .arg("other")
        .arg("x")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    let got = store
        .read_intake("a", 10, Duration::from_millis(50), RECLAIM)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].payload.as_deref(), Ok("{\"doc\":1}"));
    assert_eq!(
        got[1].payload,
        Err("entry has no `campaign` field".to_owned())
    );
    // Nothing new for b, and a's entries are not idle long enough to reclaim.
    let none = store
        .read_intake("b", 10, Duration::from_millis(50), RECLAIM)
        .await
        .unwrap();
    assert!(none.is_empty());
    store.ack_intake(&got[1].id).await.unwrap();
    let reclaimed = store
        .read_intake("b", 10, Duration::from_millis(50), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, id);
    store.ack_intake(&id).await.unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg("sampark:campaigns")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    assert_eq!(len, 0, "acknowledged entries are deleted");
}

#[tokio::test]
async fn blocking_intake_read_wakes_on_submit() {
    let (_server, store) = setup().await;
    let store = std::sync::Arc::new(store);
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .read_intake("a", 1, Duration::from_secs(5), RECLAIM)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The blocked read must not stall other commands.
    let now = tokio::time::timeout(Duration::from_secs(1), store.now_ms()).await;
    assert!(now.unwrap().unwrap() > 0);
    store.submit("doc").await.unwrap();
    let got = reader.await.unwrap().unwrap();
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn dead_letters_are_the_latest_oldest_first() {
    let (_server, store) = setup().await;
    for i in 0..3 {
        let letter = DeadLetter {
            source: format!("s{i}"),
            reason: "bad".into(),
            payload: "{}".into(),
        };
        store.dead_letter(&letter).await.unwrap();
    }
    let got = store.dead_letters(2).await.unwrap();
    let sources: Vec<_> = got.iter().map(|l| l.source.as_str()).collect();
    assert_eq!(sources, ["s1", "s2"]);
}

#[tokio::test]
async fn campaigns_and_jobs_are_idempotent_and_counted() {
    let (_server, store) = setup().await;
    let h = header("police-1");
    assert!(store.campaign_status(&h.id).await.unwrap().is_none());
    assert_eq!(store.put_campaign(&h).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.put_campaign(&h).await.unwrap(), PutOutcome::Unchanged);
    let other = CampaignHeader {
        name: "changed".into(),
        ..h.clone()
    };
    assert_eq!(
        store.put_campaign(&other).await.unwrap(),
        PutOutcome::Conflict
    );

    let s = spec("c-1", "off-17");
    assert_eq!(store.enqueue(&s).await.unwrap(), PutOutcome::Created);
    assert_eq!(store.enqueue(&s).await.unwrap(), PutOutcome::Unchanged);
    let mut changed = s.clone();
    changed.contact.office = "elsewhere".into();
    assert_eq!(store.enqueue(&changed).await.unwrap(), PutOutcome::Conflict);
    store.enqueue(&spec("c-2", "off-99")).await.unwrap();

    let status = store.campaign_status(&h.id).await.unwrap().unwrap();
    assert_eq!(status.header, h);
    assert_eq!(status.counts.get("queued"), Some(&2));
    assert_eq!(status.total(), 2);

    let job = store.load_job(&s.job_id()).await.unwrap().unwrap();
    assert_eq!(job.spec, s);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.attempt, job.dials, job.ivr_step), (0, 0, 0));
    assert!(job.answers.is_empty());
    let unknown = JobId::parse("police-1/nobody").unwrap();
    assert!(store.load_job(&unknown).await.unwrap().is_none());
    // One ready entry per created job, however often it was enqueued.
    assert_eq!(store.read_ready("d", 10, RECLAIM).await.unwrap().len(), 2);
}

#[tokio::test]
async fn authorize_grants_once_and_counts() {
    let (_server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    let Authorize::Granted { job, now_ms } = store.authorize(&entry, OPEN, LEASE).await.unwrap()
    else {
        panic!("expected Granted");
    };
    assert_eq!(job.state, JobState::Dialing);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.dial_started_at_ms, Some(now_ms));
    // Replaying the same entry (lost reply) changes nothing.
    assert_eq!(
        store.authorize(&entry, OPEN, LEASE).await.unwrap(),
        Authorize::Stale
    );
    assert_eq!(
        store.load_job(&entry.job).await.unwrap().unwrap().attempt,
        1
    );
    let status = store
        .campaign_status(&entry.job.campaign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.counts.get("dialing"), Some(&1));
    assert_eq!(status.counts.get("queued"), None);
    // The entry is gone: nothing to read or reclaim.
    assert!(
        store
            .read_ready("d2", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn over_quota_jobs_wait_for_the_exact_allow_time() {
    let (_server, store) = setup().await;
    let quota = Quota {
        burst: 1,
        period: Duration::from_secs(10),
    };
    let first = ready(&store, "c-1", "off-17").await;
    let second = ready(&store, "c-2", "off-17").await;
    let Authorize::Granted { now_ms, .. } = store.authorize(&first, quota, LEASE).await.unwrap()
    else {
        panic!("expected Granted");
    };
    let Authorize::RateLimited { allow_at_ms } =
        store.authorize(&second, quota, LEASE).await.unwrap()
    else {
        panic!("expected RateLimited");
    };
    assert!((now_ms + 9_990..=now_ms + 10_001).contains(&allow_at_ms));
    let job = store.load_job(&second.job).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.reason.as_deref(), Some("rate limited"));
    assert_eq!(store.promote_due(second.shard, 10).await.unwrap(), 0);
    // Another official is not limited by off-17's quota.
    let other = ready(&store, "c-3", "off-18").await;
    assert!(matches!(
        store.authorize(&other, quota, LEASE).await.unwrap(),
        Authorize::Granted { .. }
    ));
}

#[tokio::test]
async fn defer_then_promote_back_to_ready() {
    let (_server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    let now = store.now_ms().await.unwrap();
    assert_eq!(
        store.defer(&entry, now - 1, "outside hours").await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.defer(&entry, now - 1, "again").await.unwrap(),
        Transition::Applied,
        "still queued, so a replay defers again harmlessly"
    );
    let job = store.load_job(&entry.job).await.unwrap().unwrap();
    assert_eq!(job.reason.as_deref(), Some("again"));
    assert_eq!(store.promote_due(entry.shard, 10).await.unwrap(), 1);
    assert_eq!(store.promote_due(entry.shard, 10).await.unwrap(), 0);
    let again = store.read_ready("d1", 10, RECLAIM).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job, entry.job);
    // Deferring a job that is no longer queued is stale.
    store.authorize(&again[0], OPEN, LEASE).await.unwrap();
    assert_eq!(
        store.defer(&again[0], now, "late").await.unwrap(),
        Transition::Stale
    );
}

#[tokio::test]
async fn unreadable_ready_entries_are_dropped() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    for fields in [
        &["job", "police-1/c-1"][..],
        &["job", "no-slash", "official", "o"],
    ] {
        let _: String = redis::cmd("XADD")
            .arg("sampark:{s00}:ready")
            .arg("*")
            .arg(fields)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert!(store.read_ready("d", 10, RECLAIM).await.unwrap().is_empty());
    let len: usize = redis::cmd("XLEN")
        .arg("sampark:{s00}:ready")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 0);
}

#[tokio::test]
async fn citizen_checks_cap_and_opt_out() {
    let (_server, store) = setup().await;
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    assert_eq!(
        store.citizen_check(&phone, 20260101, 2).await.unwrap(),
        CitizenCheck::Allowed
    );
    assert_eq!(
        store.citizen_check(&phone, 20260101, 2).await.unwrap(),
        CitizenCheck::Allowed
    );
    assert_eq!(
        store.citizen_check(&phone, 20260101, 2).await.unwrap(),
        CitizenCheck::CapReached
    );
    assert_eq!(
        store.citizen_check(&phone, 20260102, 2).await.unwrap(),
        CitizenCheck::Allowed
    );
    store.record_opt_out(&phone).await.unwrap();
    assert_eq!(
        store.citizen_check(&phone, 20260103, 2).await.unwrap(),
        CitizenCheck::OptedOut
    );
}

#[tokio::test]
async fn mark_originated_is_fenced_and_replayable() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let id = &job.id;
    assert_eq!(
        store.mark_originated(id, 2, "CA1", LEASE).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.mark_originated(id, 1, "CA1", LEASE).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.mark_originated(id, 1, "CA1", LEASE).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.mark_originated(id, 1, "CA2", LEASE).await.unwrap(),
        Transition::Stale
    );
    let job = store.load_job(id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::InCall);
    assert_eq!(job.call_sid.as_deref(), Some("CA1"));
    assert_eq!(job.dials, 1, "the replay did not count a second call");
    assert!(job.first_dialled_at_ms.is_some());
    let unknown = JobId::parse("police-1/nobody").unwrap();
    assert_eq!(
        store
            .mark_originated(&unknown, 1, "CA1", LEASE)
            .await
            .unwrap(),
        Transition::Stale
    );
}

#[tokio::test]
async fn requeue_only_when_nothing_was_placed() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    assert_eq!(
        store
            .requeue(&job.id, 1, Duration::ZERO, "busy line")
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store
            .requeue(&job.id, 1, Duration::ZERO, "busy line")
            .await
            .unwrap(),
        Transition::Stale
    );
    assert_eq!(state(&store, &job.id).await, JobState::Queued);
    assert!(store.due_in_flight(job.shard, 10).await.unwrap().is_empty());
    assert_eq!(store.promote_due(job.shard, 10).await.unwrap(), 1);
    let entry = store.read_ready("d1", 10, RECLAIM).await.unwrap().remove(0);
    let Authorize::Granted { job, .. } = store.authorize(&entry, OPEN, LEASE).await.unwrap() else {
        panic!("expected Granted");
    };
    assert_eq!(job.attempt, 2);
    store
        .mark_originated(&job.id, 2, "CA1", LEASE)
        .await
        .unwrap();
    assert_eq!(
        store
            .requeue(&job.id, 2, Duration::ZERO, "x")
            .await
            .unwrap(),
        Transition::Stale,
        "a placed call is never requeued"
    );
}

#[tokio::test]
async fn statuses_are_ranked_and_fenced() {
    let (_server, store) = setup().await;
    let unknown = JobId::parse("police-1/nobody").unwrap();
    let none = store
        .apply_status(&unknown, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(none.job.is_none() && !none.advanced);

    let job = dialing(&store, "c-1").await;
    let id = &job.id;
    // The callback beat the originate reply: the call is adopted.
    let r = store
        .apply_status(id, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(r.advanced);
    let snap = r.job.unwrap();
    assert_eq!(snap.state, JobState::InCall);
    assert_eq!(snap.call_sid.as_deref(), Some("CA1"));
    assert_eq!((snap.dials, snap.status_rank), (1, 3));
    assert_eq!(snap.call_status, Some(CallStatus::Ringing));
    assert_eq!(
        store.mark_originated(id, 1, "CA1", LEASE).await.unwrap(),
        Transition::Applied
    );
    let dup = store
        .apply_status(id, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(!dup.advanced);
    assert!(
        store
            .apply_status(id, 1, "CA1", CallStatus::InProgress)
            .await
            .unwrap()
            .advanced
    );
    let back = store
        .apply_status(id, 1, "CA1", CallStatus::Initiated)
        .await
        .unwrap();
    assert!(!back.advanced);
    assert_eq!(back.job.unwrap().call_status, Some(CallStatus::InProgress));
    let stale = store
        .apply_status(id, 0, "CA1", CallStatus::Completed)
        .await
        .unwrap();
    assert!(!stale.advanced && stale.job.is_some());
    let foreign = store
        .apply_status(id, 1, "CA9", CallStatus::Completed)
        .await
        .unwrap();
    assert!(!foreign.advanced);
    assert_eq!(store.load_job(id).await.unwrap().unwrap().dials, 1);
}

fn update(attempt: u32, expected_step: u32, answers: Vec<Answer>) -> IvrUpdate {
    IvrUpdate {
        attempt,
        expected_step,
        session: format!("{{\"node\":{expected_step}}}"),
        new_answers: answers,
        response: format!("<Response>{expected_step}</Response>"),
    }
}

#[tokio::test]
async fn ivr_steps_are_fenced_and_duplicates_replayed() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let id = &job.id;
    store.mark_originated(id, 1, "CA1", LEASE).await.unwrap();
    assert_eq!(
        store.save_ivr(id, &update(1, 0, vec![])).await.unwrap(),
        SaveIvr::Saved { step: 1 }
    );
    assert_eq!(
        store.save_ivr(id, &update(1, 0, vec![])).await.unwrap(),
        SaveIvr::Duplicate {
            response: Some("<Response>0</Response>".into())
        }
    );
    let two = vec![answer("q1", Some("bribe_asked")), answer("q2", None)];
    assert_eq!(
        store.save_ivr(id, &update(1, 1, two)).await.unwrap(),
        SaveIvr::Saved { step: 2 }
    );
    assert_eq!(
        store.save_ivr(id, &update(1, 0, vec![])).await.unwrap(),
        SaveIvr::Stale
    );
    assert_eq!(
        store.save_ivr(id, &update(2, 2, vec![])).await.unwrap(),
        SaveIvr::Stale
    );
    assert_eq!(
        store
            .save_ivr(id, &update(1, 2, vec![answer("q3", None)]))
            .await
            .unwrap(),
        SaveIvr::Saved { step: 3 }
    );
    let now = store.now_ms().await.unwrap();
    let job = store.load_job(id).await.unwrap().unwrap();
    assert_eq!(job.ivr_step, 3);
    assert_eq!(job.ivr.as_deref(), Some("{\"node\":2}"));
    let questions: Vec<_> = job.answers.iter().map(|a| a.question.as_str()).collect();
    assert_eq!(questions, ["q1", "q2", "q3"]);
    assert!(
        job.answers
            .iter()
            .all(|a| a.at_ms > now - 10_000 && a.at_ms <= now)
    );
    assert_eq!(job.answers[0].flag.as_deref(), Some("bribe_asked"));
}

#[tokio::test]
async fn terminal_finish_writes_one_record_relayed_downstream() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let id = &job.id;
    store.mark_originated(id, 1, "CA1", LEASE).await.unwrap();
    let answers = vec![
        answer("q1", Some("bribe_asked")),
        answer("q2", Some("rude")),
        answer("q3", Some("bribe_asked")),
    ];
    store.save_ivr(id, &update(1, 0, answers)).await.unwrap();
    let done = Finish::Terminal {
        outcome: Outcome::Completed,
        reason: None,
    };
    assert_eq!(
        store.finish(id, 1, Some(0), &done).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.finish(id, 1, Some(1), &done).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.finish(id, 1, Some(1), &done).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(state(&store, id).await, JobState::Done(Outcome::Completed));

    assert_eq!(store.relay_feedback(job.shard, 10).await.unwrap(), 1);
    assert_eq!(store.relay_feedback(job.shard, 10).await.unwrap(), 0);
    let records = store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let (entry_id, record) = &records[0];
    let stored = store.load_job(id).await.unwrap().unwrap();
    let expected = FeedbackRecord {
        version: 1,
        record_id: "police-1/c-1".into(),
        campaign_id: "police-1".into(),
        contact_id: "c-1".into(),
        official_id: "off-17".into(),
        department: "home".into(),
        office: "Dhenkanal Town PS".into(),
        service: "FIR registration".into(),
        outcome: Outcome::Completed,
        reason: None,
        attempts: 1,
        answers: stored.answers.clone(),
        flags: vec!["bribe_asked".into(), "rude".into()],
        queued_at_ms: stored.queued_at_ms,
        first_dialled_at_ms: stored.first_dialled_at_ms,
        finished_at_ms: record.finished_at_ms,
    };
    assert_eq!(record, &expected);
    assert!(record.finished_at_ms >= stored.queued_at_ms);
    assert!(store.read_feedback(entry_id, 10).await.unwrap().is_empty());
    let status = store.campaign_status(&id.campaign).await.unwrap().unwrap();
    assert_eq!(status.finished(), 1);
    assert!(store.due_in_flight(job.shard, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_record_without_answers_or_dials_is_valid() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let failed = Finish::Terminal {
        outcome: Outcome::Failed,
        reason: Some("invalid \"number\" / rejected".into()),
    };
    store.finish(&job.id, 1, None, &failed).await.unwrap();
    store.relay_feedback(job.shard, 10).await.unwrap();
    let (_, record) = store.read_feedback("0", 10).await.unwrap().remove(0);
    assert_eq!(
        record.reason.as_deref(),
        Some("invalid \"number\" / rejected")
    );
    assert_eq!(record.attempts, 0);
    assert!(record.answers.is_empty() && record.flags.is_empty());
    assert_eq!(record.first_dialled_at_ms, None);
}

#[tokio::test]
async fn retry_goes_through_the_delayed_set_to_a_new_attempt() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    store
        .mark_originated(&job.id, 1, "CA1", LEASE)
        .await
        .unwrap();
    let retry = Finish::Retry {
        delay: Duration::ZERO,
        reason: "no answer".into(),
    };
    assert_eq!(
        store.finish(&job.id, 0, None, &retry).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.finish(&job.id, 1, None, &retry).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.finish(&job.id, 1, None, &retry).await.unwrap(),
        Transition::Stale
    );
    let waiting = store.load_job(&job.id).await.unwrap().unwrap();
    assert_eq!(waiting.state, JobState::RetryWait);
    assert_eq!(waiting.reason.as_deref(), Some("no answer"));
    assert!(store.due_in_flight(job.shard, 10).await.unwrap().is_empty());
    assert_eq!(store.promote_due(job.shard, 10).await.unwrap(), 1);
    assert_eq!(state(&store, &job.id).await, JobState::Queued);
    let status = store
        .campaign_status(&job.id.campaign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.counts.get("queued"), Some(&1));
    assert_eq!(status.total(), 1);
    let entry = store.read_ready("d1", 10, RECLAIM).await.unwrap().remove(0);
    let Authorize::Granted { job: again, .. } = store.authorize(&entry, OPEN, LEASE).await.unwrap()
    else {
        panic!("expected Granted");
    };
    assert_eq!((again.attempt, again.dials), (2, 1));
    assert_eq!(again.call_sid, None);
    assert_eq!(again.call_status, None);
}

#[tokio::test]
async fn in_flight_deadlines_and_leases() {
    let (_server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    store.authorize(&entry, OPEN, Duration::ZERO).await.unwrap();
    let due = store.due_in_flight(entry.shard, 10).await.unwrap();
    assert_eq!(due, vec![(entry.job.clone(), 1)]);
    assert_eq!(
        store.extend_lease(&entry.job, 2, LEASE).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.extend_lease(&entry.job, 1, LEASE).await.unwrap(),
        Transition::Applied
    );
    assert!(
        store
            .due_in_flight(entry.shard, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .mark_originated(&entry.job, 1, "CA1", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(store.due_in_flight(entry.shard, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn redis_down_is_unavailable_and_recovers() {
    let (mut server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    server.kill();
    let err = store.now_ms().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.authorize(&entry, OPEN, LEASE).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    server.restart();
    support::eventually(Duration::from_secs(10), "store reconnects", || async {
        store.now_ms().await.ok()
    })
    .await;
    // Data survived (AOF) and scripts are reloaded on demand.
    assert!(matches!(
        store.authorize(&entry, OPEN, LEASE).await.unwrap(),
        Authorize::Granted { .. }
    ));
}

#[tokio::test]
async fn lost_consumer_groups_are_recreated() {
    let (server, store) = setup().await;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut raw(&server).await)
        .await
        .unwrap();
    // The ready stream is recreated by XADD without a group; nothing is lost.
    let entry = ready(&store, "c-1", "off-17").await;
    assert_eq!(entry.job.contact.as_str(), "c-1");
    store.submit("doc").await.unwrap();
    let got = store
        .read_intake("a", 10, Duration::from_millis(10), RECLAIM)
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
}

/// The Lua GCRA must decide exactly like `governor` and `Gcra::check` for the
/// same arrival times (the Redis clock the script saw).
#[tokio::test]
async fn lua_gcra_agrees_with_governor() {
    let (_server, store) = setup().await;
    let period = Duration::from_millis(40);
    let burst = 3;
    let quota = Quota { burst, period };
    let mut trace = Vec::new();
    for i in 0..60u64 {
        let entry = ready(&store, &format!("c-{i}"), "off-17").await;
        let (verdict, now_us) = store.authorize_traced(&entry, quota, LEASE).await.unwrap();
        let granted = match verdict {
            Authorize::Granted { .. } => true,
            Authorize::RateLimited { .. } => false,
            Authorize::Stale => panic!("fresh entry reported stale"),
        };
        trace.push((now_us, granted));
        tokio::time::sleep(Duration::from_millis((i * 7) % 23)).await;
    }
    assert!(trace.iter().any(|t| t.1) && trace.iter().any(|t| !t.1));

    let gcra = Gcra::new(quota);
    let clock = FakeRelativeClock::default();
    let limiter = RateLimiter::direct_with_clock(
        GQuota::with_period(period)
            .unwrap()
            .allow_burst(NonZeroU32::new(burst).unwrap()),
        clock.clone(),
    );
    let start = clock.now();
    let t0 = trace[0].0;
    let mut tat = None;
    for &(now_us, lua) in &trace {
        let offset = Duration::from_micros((now_us - t0) as u64);
        let elapsed = Duration::from_nanos(clock.now().duration_since(start).as_u64());
        clock.advance(offset - elapsed);
        let ours = gcra.check(tat, now_us);
        if let Ok(t) = ours {
            tat = Some(t);
        }
        assert_eq!(ours.is_ok(), lua, "Gcra::check at {now_us}us");
        assert_eq!(limiter.check().is_ok(), lua, "governor at {now_us}us");
    }
}
