//! Retention, on both backends (a real redis-server, and the memory store
//! with the same setting): an ended contact keeps no phone number, its job
//! is removed once its record was relayed and the retention ran out, live
//! jobs are untouched, and a document replayed afterwards calls nobody
//! again. The retention is made short through the stores' own setting;
//! removal is polled for with a deadline, never timed.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CampaignId, ContactId, JobId, JobState, Outcome, ScoringRules};
use sampark::intake::IntakeRouter;
use sampark::policy::CallingWindow;
use sampark::store::memory::MemoryStore;
use sampark::store::redis::RedisStore;
use sampark::store::{Authorize, DialLimits, Finish, JobRef, Quota, Store};
use sampark::telemetry::Metrics;
use serde_json::json;
use support::eventually;
use support::redis_server::RedisServer;

const RETENTION: Duration = Duration::from_millis(200);
const WAIT: Duration = Duration::from_secs(20);
const HOUR: Duration = Duration::from_secs(3_600);

fn document() -> String {
    let contact = |id: &str, phone: &str, official: &str| {
        json!({"id": id, "phone": phone, "official_id": official, "language": "or",
               "office": "Puri Sadar PS", "service": "Passport verification"})
    };
    json!({
        "version": 1, "id": "kept", "name": "k", "dialplan": "p",
        "caller_id": "+916742000000", "department": "home",
        "contacts": [contact("called", "+919811111111", "off-1"),
                     contact("waiting", "+919822222222", "off-2"),
                     contact("same-number", "+919811111111", "off-3")],
    })
    .to_string()
}

fn router(store: Arc<dyn Store>) -> IntakeRouter {
    IntakeRouter::new(
        store,
        Arc::new(|_: &str| true),
        "retention".into(),
        Duration::from_secs(60),
        Arc::new(Metrics::new()),
        CallingWindow::always(),
    )
}

fn job_ref(store: &Arc<dyn Store>, contact: &str, official: &str) -> JobRef {
    JobRef::new(
        store.shard_of(&sampark::domain::OfficialId::parse(official).unwrap()),
        JobId::new(
            CampaignId::parse("kept").unwrap(),
            ContactId::parse(contact).unwrap(),
        ),
    )
}

async fn relay(store: &Arc<dyn Store>) {
    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 100, &ScoringRules::default())
            .await
            .unwrap();
    }
}

/// Calls `called` and ends it `completed`.
async fn complete(store: &Arc<dyn Store>) {
    let entry = eventually(WAIT, "the contact ready", || {
        let store = store.clone();
        async move {
            store
                .read_ready("dialer", 10, HOUR)
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.job.contact.as_str() == "called")
        }
    })
    .await;
    let open = DialLimits::official(Quota {
        burst: 100,
        period: Duration::from_millis(1),
    });
    let Authorize::Granted { job, .. } = store.authorize(&entry, &open, HOUR).await.unwrap() else {
        panic!("not granted");
    };
    let id = job.job_ref();
    store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap();
    let done = Finish::Terminal {
        outcome: Outcome::Completed,
        reason: None,
    };
    store.finish(&id, 1, None, &done).await.unwrap();
}

async fn retention_removes_ended_jobs_only(store: Arc<dyn Store>) {
    let doc = document();
    let first = router(store.clone()).ingest("1-0", &doc).await.unwrap();
    assert_eq!((first.accepted, first.duplicate_numbers), (3, 1));
    complete(&store).await;
    let (called, waiting, same) = (
        job_ref(&store, "called", "off-1"),
        job_ref(&store, "waiting", "off-2"),
        job_ref(&store, "same-number", "off-3"),
    );
    // Ended: the number is gone at once; the rest stays until relayed.
    let ended = store.load_job(&called).await.unwrap().unwrap();
    assert_eq!(ended.state, JobState::Done(Outcome::Completed));
    assert!(ended.spec.contact.phone.is_erased());
    assert!(
        store
            .load_job(&same)
            .await
            .unwrap()
            .unwrap()
            .spec
            .contact
            .phone
            .is_erased()
    );
    relay(&store).await;
    let records = store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    eventually(WAIT, "the ended jobs removed", || {
        let store = store.clone();
        let (called, same) = (called.clone(), same.clone());
        async move {
            relay(&store).await;
            let gone = store.load_job(&called).await.unwrap().is_none()
                && store.load_job(&same).await.unwrap().is_none();
            gone.then_some(())
        }
    })
    .await;
    // The live job is untouched, number and all.
    let live = store.load_job(&waiting).await.unwrap().unwrap();
    assert_eq!(live.state, JobState::Queued);
    assert_eq!(live.spec.contact.phone.as_str(), "+919822222222");

    // The same document again, after the retention: nobody is called again.
    let again = router(store.clone()).ingest("2-0", &doc).await.unwrap();
    assert_eq!(
        again.accepted, 1,
        "only the duplicate ends again: {again:?}"
    );
    assert_eq!(again.duplicates, 2, "{again:?}");
    assert!(store.load_job(&called).await.unwrap().is_none());
    let status = store
        .campaign_status(&CampaignId::parse("kept").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.counts.get("queued").copied(), Some(1), "{status:?}");
    assert_eq!(status.counts.get("completed").copied(), Some(1));
    let ready = store.read_ready("dialer", 10, HOUR).await.unwrap();
    assert!(
        ready.iter().all(|e| e.job.contact.as_str() != "called"),
        "{ready:?}"
    );
}

#[tokio::test]
async fn redis_removes_ended_jobs_after_the_retention() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url(), "sampark", 4)
        .await
        .unwrap()
        .with_retention(RETENTION);
    retention_removes_ended_jobs_only(Arc::new(store)).await;
}

#[tokio::test]
async fn memory_removes_ended_jobs_after_the_retention() {
    let store = MemoryStore::new(4).with_retention(RETENTION);
    retention_removes_ended_jobs_only(Arc::new(store)).await;
}

/// An outbox entry an earlier version wrote holds the record alone, without
/// the citizen tag beside it: the relay reads the job's tag and still marks
/// the number ended.
#[tokio::test]
async fn redis_marks_the_number_of_an_entry_written_without_its_tag() {
    let server = RedisServer::start();
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(&server.url(), "sampark", 4)
            .await
            .unwrap(),
    );
    router(store.clone())
        .ingest("1-0", &document())
        .await
        .unwrap();
    complete(&store).await;
    let called = job_ref(&store, "called", "off-1");
    let mut conn = redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // The entry as an earlier version wrote it.
    let outbox = format!("sampark:{{s{:02}}}:outbox", called.shard);
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&outbox)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let entry = entries
        .ids
        .iter()
        .find(|e| {
            e.get::<String>("record")
                .is_some_and(|r| r.contains("\"called\""))
        })
        .expect("the record in the outbox");
    assert!(
        entry.contains_key("ctag"),
        "the tag travels with the record"
    );
    let record: String = entry.get("record").unwrap();
    let _: () = redis::pipe()
        .cmd("XDEL")
        .arg(&outbox)
        .arg(&entry.id)
        .cmd("XADD")
        .arg(&outbox)
        .arg("*")
        .arg("record")
        .arg(&record)
        .query_async(&mut conn)
        .await
        .unwrap();
    relay(&store).await;
    assert_eq!(store.read_feedback("0", 10).await.unwrap().len(), 2);
    let buckets: Vec<String> = redis::cmd("KEYS")
        .arg("sampark:campaign:kept:numbers:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut holders = Vec::new();
    for bucket in buckets {
        let held: Vec<String> = redis::cmd("HVALS")
            .arg(&bucket)
            .query_async(&mut conn)
            .await
            .unwrap();
        holders.extend(held);
    }
    assert!(
        holders.iter().any(|h| h == "=called"),
        "the number is marked ended: {holders:?}"
    );
}
