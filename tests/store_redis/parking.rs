//! The park lists' layout (`Keys::park_list`): contacts parked at ingest
//! outside their window are one list per (shard, campaign, opening) with
//! one delayed-set member; an id left in a list whose job moved on is
//! skipped; a contact an earlier version parked as its own delayed-set
//! member is still promoted, reported and cancelled.

use sampark::store::{CampaignAction, NewJob};

use super::helpers::*;

const CAMPAIGN: &str = "police-1";

fn delayed(shard: u16) -> String {
    format!("sampark:{{s{shard:02}}}:delayed")
}

fn list(shard: u16, opens: i64) -> String {
    format!("sampark:{{s{shard:02}}}:parkq:{CAMPAIGN}:{opens}")
}

fn job_id(contact: &str) -> JobId {
    JobId::new(
        CampaignId::parse(CAMPAIGN).unwrap(),
        ContactId::parse(contact).unwrap(),
    )
}

/// Enqueues `contacts` of official `off-17`, parked until `opens`: their
/// shard.
async fn park(store: &RedisStore, contacts: &[&str], opens: i64) -> u16 {
    store.put_campaign(&header(CAMPAIGN)).await.unwrap();
    let specs: Vec<JobSpec> = contacts.iter().map(|c| spec(c, "off-17")).collect();
    let jobs: Vec<NewJob> = specs
        .iter()
        .map(|spec| NewJob {
            spec,
            opens_at_ms: Some(opens),
        })
        .collect();
    let outcomes = store.enqueue_batch(&jobs).await.unwrap();
    assert!(outcomes.iter().all(|o| *o == PutOutcome::Created));
    store.shard_of(&OfficialId::parse("off-17").unwrap())
}

async fn wait_until(store: &RedisStore, ms: i64) {
    while store.now_ms().await.unwrap() < ms {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn reason(store: &RedisStore, shard: u16, contact: &str) -> Option<String> {
    let job = JobRef::new(shard, job_id(contact));
    store.load_job(&job).await.unwrap().unwrap().reason
}

#[tokio::test]
async fn parked_contacts_share_one_list_and_a_stale_id_is_skipped() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    // A job that ended before its id was left in the list (and one whose
    // job is gone) must not be made ready again.
    let ended = dialing(&store, "c-done").await;
    store
        .finish(
            &ended.job_ref(),
            ended.attempt,
            None,
            &Finish::Terminal {
                outcome: Outcome::Completed,
                reason: None,
            },
        )
        .await
        .unwrap();
    let opens = store.now_ms().await.unwrap() + 400;
    let shard = park(&store, &["c-0", "c-1", "c-2"], opens).await;
    assert_eq!(ended.shard, shard);
    park(&store, &["c-3", "c-4"], opens).await;

    let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(delayed(shard))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        members,
        [(format!("{CAMPAIGN}/:{opens}"), opens as f64)],
        "one member for the list"
    );
    let ids: Vec<String> = redis::cmd("LRANGE")
        .arg(list(shard, opens))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let expected: Vec<String> = (0..5).map(|i| format!("{CAMPAIGN}/c-{i}")).collect();
    assert_eq!(ids, expected);
    assert_eq!(
        reason(&store, shard, "c-3").await.as_deref(),
        Some("outside calling hours")
    );

    let _: () = redis::cmd("LPUSH")
        .arg(list(shard, opens))
        .arg(format!("{CAMPAIGN}/c-gone"))
        .arg(ended.id.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    wait_until(&store, opens).await;
    let first = store.promote(shard, 4).await.unwrap();
    assert_eq!(first.promoted, 2, "two stale ids, then c-0 and c-1");
    assert!(first.next_due_ms.is_some_and(|due| due <= first.now_ms));
    let rest = store.promote(shard, 4).await.unwrap();
    assert_eq!((rest.promoted, rest.next_due_ms), (3, None));
    let entries = store.read_ready("d1", 100, RECLAIM).await.unwrap();
    let mut contacts: Vec<String> = entries.iter().map(|e| e.job.contact.to_string()).collect();
    contacts.sort();
    assert_eq!(contacts, ["c-0", "c-1", "c-2", "c-3", "c-4"]);
    let left: bool = redis::cmd("EXISTS")
        .arg(list(shard, opens))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!left, "the emptied list is gone");
    assert_eq!(
        state(&store, &ended.job_ref()).await,
        JobState::Done(Outcome::Completed)
    );
    assert_eq!(reason(&store, shard, "c-3").await, None, "ready now");
}

/// Moves a listed contact to the layout an earlier version wrote: its own
/// member in the delayed set, scored at the opening.
async fn as_earlier_version(conn: &mut redis::aio::MultiplexedConnection, shard: u16, opens: i64) {
    let ids: Vec<String> = redis::cmd("LRANGE")
        .arg(list(shard, opens))
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .unwrap();
    let mut pipe = redis::pipe();
    pipe.del(list(shard, opens))
        .zrem(delayed(shard), format!("{CAMPAIGN}/:{opens}"));
    for id in &ids {
        pipe.zadd(delayed(shard), id, opens);
    }
    let _: () = pipe.query_async(conn).await.unwrap();
}

#[tokio::test]
async fn contacts_an_earlier_version_parked_are_still_promoted_reported_and_cancelled() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let opens = store.now_ms().await.unwrap() + 400;
    let shard = park(&store, &["c-old"], opens).await;
    as_earlier_version(&mut conn, shard, opens).await;
    park(&store, &["c-new"], opens).await;
    assert_eq!(
        reason(&store, shard, "c-old").await.as_deref(),
        Some("outside calling hours")
    );
    let waiting = store
        .waiting(&CampaignId::parse(CAMPAIGN).unwrap())
        .await
        .unwrap();
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    assert_eq!(
        (waiting.reasons[0].contacts, waiting.reasons[0].first_due_ms),
        (2, opens)
    );
    wait_until(&store, opens).await;
    let pass = store.promote(shard, 10).await.unwrap();
    assert_eq!((pass.promoted, pass.next_due_ms), (2, None));
    assert_eq!(store.read_ready("d1", 10, RECLAIM).await.unwrap().len(), 2);

    // Cancelled: an earlier version's member and a list alike.
    let later = store.now_ms().await.unwrap() + 3_600_000;
    park(&store, &["c-5", "c-6"], later).await;
    as_earlier_version(&mut conn, shard, later).await;
    park(&store, &["c-7", "c-8"], later).await;
    store
        .control_campaign(
            &CampaignId::parse(CAMPAIGN).unwrap(),
            CampaignAction::Cancel { hangup: false },
        )
        .await
        .unwrap();
    for contact in ["c-5", "c-6", "c-7", "c-8"] {
        let job = JobRef::new(shard, job_id(contact));
        assert_eq!(
            state(&store, &job).await,
            JobState::Done(Outcome::Cancelled),
            "{contact}"
        );
    }
    let left: usize = redis::cmd("ZCARD")
        .arg(delayed(shard))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
