//! Intake, campaigns, enqueue, the ready stream, authorisation, deferral and citizen checks.

use super::helpers::*;

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
    let refused = got[1].payload.clone().unwrap_err();
    assert!(
        refused
            .reason
            .starts_with("intake entry has no `campaign` field (its fields: `other`)"),
        "{}",
        refused.reason
    );
    assert_eq!(refused.excerpt, [("other".to_owned(), "x".to_owned())]);
    // `a` reading again gets back what it has not acknowledged: the reply
    // of its last read may never have reached it.
    let again = store
        .read_intake("a", 10, Duration::from_millis(50), RECLAIM)
        .await
        .unwrap();
    let ids = |entries: &[sampark::store::IntakeEntry]| {
        entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&again), ids(&got));
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

    let job = store
        .load_job(&store.job_ref_of(&s))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*job.spec, s);
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.attempt, job.dials, job.ivr_step), (0, 0, 0));
    assert!(job.answers.is_empty());
    let unknown = JobRef::new(0, JobId::parse("police-1/nobody").unwrap());
    assert!(store.load_job(&unknown).await.unwrap().is_none());
    // A reference naming the wrong shard finds nothing either.
    let elsewhere = JobRef::new((store.job_ref_of(&s).shard + 1) % 4, s.job_id());
    assert!(store.load_job(&elsewhere).await.unwrap().is_none());
    // One ready entry per created job, however often it was enqueued.
    assert_eq!(store.read_ready("d", 10, RECLAIM).await.unwrap().len(), 2);
}

#[tokio::test]
async fn authorize_grants_once_and_counts() {
    let (_server, store) = setup().await;
    let entry = ready(&store, "c-1", "off-17").await;
    let Authorize::Granted { job, now_ms } = store
        .authorize(&entry, &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap()
    else {
        panic!("expected Granted");
    };
    assert_eq!(job.state, JobState::Dialing);
    assert_eq!(job.attempt, 1);
    assert_eq!(job.dial_started_at_ms, Some(now_ms));
    // Replaying the same entry (lost reply) changes nothing.
    assert_eq!(
        store
            .authorize(&entry, &DialLimits::official(OPEN), LEASE)
            .await
            .unwrap(),
        Authorize::Stale
    );
    assert_eq!(
        store
            .load_job(&entry.job_ref())
            .await
            .unwrap()
            .unwrap()
            .attempt,
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
    let Authorize::Granted { now_ms, .. } = store
        .authorize(&first, &DialLimits::official(quota), LEASE)
        .await
        .unwrap()
    else {
        panic!("expected Granted");
    };
    // Queued once c-1 is decided, so made ready (not held behind it).
    let second = ready(&store, "c-2", "off-17").await;
    let Authorize::Deferred {
        until_ms: allow_at_ms,
        limit: Limit::Official,
    } = store
        .authorize(&second, &DialLimits::official(quota), LEASE)
        .await
        .unwrap()
    else {
        panic!("expected RateLimited");
    };
    assert!((now_ms + 9_990..=now_ms + 10_001).contains(&allow_at_ms));
    let job = store.load_job(&second.job_ref()).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.reason.as_deref(), Some("rate limited"));
    assert_eq!(store.promote_due(second.shard, 10).await.unwrap(), 0);
    // Another official is not limited by off-17's quota.
    let other = ready(&store, "c-3", "off-18").await;
    assert!(matches!(
        store
            .authorize(&other, &DialLimits::official(quota), LEASE)
            .await
            .unwrap(),
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
    let job = store.load_job(&entry.job_ref()).await.unwrap().unwrap();
    assert_eq!(job.reason.as_deref(), Some("again"));
    assert_eq!(store.promote_due(entry.shard, 10).await.unwrap(), 1);
    assert_eq!(store.promote_due(entry.shard, 10).await.unwrap(), 0);
    let again = store.read_ready("d1", 10, RECLAIM).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job, entry.job);
    // Deferring a job that is no longer queued is stale.
    store
        .authorize(&again[0], &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap();
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

/// A ready entry holds only the job id; one written by the version before
/// (official, citizen tag and department in the entry) and an earlier
/// held-queue member (four fields, urgency last) are still read, with what
/// the decision needs taken from the job.
#[tokio::test]
async fn entries_and_held_members_of_the_version_before_are_still_read() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let entry = ready(&store, "c-1", "off-17").await;
    let shard = entry.shard;
    let stored: Vec<String> = redis::cmd("XRANGE")
        .arg(format!("sampark:{{s{shard:02}}}:ready"))
        .arg("-")
        .arg("+")
        .query_async::<Vec<(String, Vec<String>)>>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|(_, fields)| fields)
        .collect();
    assert_eq!(stored, ["job", "police-1/c-1"], "a bare job id");
    let tag = entry
        .citizen
        .clone()
        .expect("the citizen tag, from the job");
    assert_eq!(tag.len(), 32);
    assert_eq!(entry.official.as_str(), "off-17");

    // An entry as the version before wrote it: its extra fields are ignored.
    let _: String = redis::cmd("XADD")
        .arg(format!("sampark:{{s{shard:02}}}:ready"))
        .arg("*")
        .arg(&[
            "job",
            "police-1/c-1",
            "official",
            "off-99",
            "c",
            "stale",
            "d",
            "x",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let again = store.read_ready("d2", 10, RECLAIM).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].official.as_str(), again[0].citizen.as_deref()),
        ("off-17", Some(tag.as_str()))
    );

    // An urgent held member of the version before goes to the urgent stream.
    let _: i64 = redis::cmd("RPUSH")
        .arg(format!("sampark:{{s{shard:02}}}:held:off-17"))
        .arg(format!("police-1/c-1\t{tag}\tpolice\t1"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg(format!("sampark:{{s{shard:02}}}:sched"))
        .arg(0)
        .arg("off-17")
        .query_async(&mut conn)
        .await
        .unwrap();
    store.promote_due(shard, 10).await.unwrap();
    let promoted = store.read_ready("d3", 10, RECLAIM).await.unwrap();
    assert_eq!(promoted.len(), 1);
    assert_eq!(promoted[0].job.contact.as_str(), "c-1");
    assert!(promoted[0].urgent);
}

/// Jobs created before per-official counts existed (their official's hash
/// has no entry for them) are counted from their next move on, and never
/// push an official's count below zero.
#[tokio::test]
async fn official_counts_start_at_a_jobs_next_move_and_never_go_negative() {
    let (server, store) = setup().await;
    store.put_campaign(&header("police-1")).await.unwrap();
    for contact in ["c-1", "c-2"] {
        store.enqueue(&spec(contact, "off-1")).await.unwrap();
    }
    let campaign = CampaignId::parse("police-1").unwrap();
    let shard = store.shard_of(&OfficialId::parse("off-1").unwrap());
    let key = format!("sampark:{{s{shard:02}}}:counts:police-1:officials");
    let mut conn = raw(&server).await;
    let fields: std::collections::HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fields, [("off-1|queued".to_owned(), 2)].into());
    // As if both were queued by an earlier version.
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let entries = store.read_ready("d", 10, RECLAIM).await.unwrap();
    let granted = store
        .authorize(&entries[0], &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap();
    assert!(matches!(granted, Authorize::Granted { .. }), "{granted:?}");
    let status = store.campaign_status(&campaign).await.unwrap().unwrap();
    let off_1 = &status.officials[&OfficialId::parse("off-1").unwrap()];
    assert_eq!(
        off_1
            .iter()
            .map(|(s, n)| (s.as_str(), *n))
            .collect::<Vec<_>>(),
        [("dialing", 1)],
        "no negative queued count"
    );
    let fields: std::collections::HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(fields, [("off-1|dialing".to_owned(), 1)].into());
    // Counted from now on: the next move out of `dialing` leaves a zero.
    let dialled = entries[0].job_ref();
    let moved = store
        .mark_originated(&dialled, 1, "CA1", LEASE)
        .await
        .unwrap();
    assert_eq!(moved, Transition::Applied);
    let fields: std::collections::HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        fields,
        [
            ("off-1|dialing".to_owned(), 0),
            ("off-1|in_call".to_owned(), 1)
        ]
        .into()
    );
}

/// A queued job as the version before wrote it (`official`, `ctag` and
/// `dept` in the hash, nothing kept in the counts hash) is still read,
/// decided and ended with its record: this version names the official `o`,
/// keeps no tag in a queued job and the department once per shard.
#[tokio::test]
async fn a_job_of_the_version_before_is_still_read_and_decided() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let entry = ready(&store, "c-1", "off-17").await;
    let shard = entry.shard;
    let tag = entry.citizen.clone().expect("the tag of the job's number");
    let department = entry.department.clone().expect("the campaign's department");
    let job = format!("sampark:{{s{shard:02}}}:job:police-1/c-1");
    let fields: Vec<String> = redis::cmd("HKEYS")
        .arg(&job)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["c", "o", "q", "state"], "a queued job's fields");
    let _: () = redis::pipe()
        .cmd("HDEL")
        .arg(&job)
        .arg("o")
        .ignore()
        .cmd("HSET")
        .arg(&job)
        .arg(&["official", "off-17", "ctag", &tag, "dept", &department])
        .ignore()
        .cmd("HDEL")
        .arg(format!("sampark:{{s{shard:02}}}:counts:police-1"))
        .arg("#d")
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    let fresh = RedisStore::connect(&server.url(), "sampark", 4)
        .await
        .unwrap();
    let loaded = fresh.load_job(&entry.job_ref()).await.unwrap().unwrap();
    assert_eq!(loaded.spec.contact.official_id.as_str(), "off-17");
    assert_eq!(loaded.spec.department, department);
    let _: String = redis::cmd("XADD")
        .arg(format!("sampark:{{s{shard:02}}}:ready"))
        .arg("*")
        .arg(&["job", "police-1/c-1"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let again = fresh.read_ready("d2", 10, RECLAIM).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].official.as_str(),
            again[0].citizen.as_deref(),
            again[0].department.as_deref()
        ),
        ("off-17", Some(tag.as_str()), Some(department.as_str()))
    );
    let granted = fresh
        .authorize(&again[0], &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap();
    assert!(matches!(granted, Authorize::Granted { .. }), "{granted:?}");
}

/// A read batch's job fields cost one `read_subjects.lua` call per shard,
/// whatever the batch's size: not a command per entry.
#[tokio::test]
async fn a_read_batch_reads_its_jobs_in_one_call_per_shard() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    // Loads the scripts and caches the campaign's department first.
    let first = ready(&store, "c-0", "off-17").await;
    // Five more of the official on the ready stream at once: each made ready
    // by taking the official out of the schedule first (queued plainly, they
    // would wait behind c-0 in its held queue).
    let sched = sampark::store::keys::Keys::new("sampark").schedule(first.shard);
    for i in 1..=5 {
        redis::cmd("ZREM")
            .arg(&sched)
            .arg("off-17")
            .exec_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            store
                .enqueue(&spec(&format!("c-{i}"), "off-17"))
                .await
                .unwrap(),
            PutOutcome::Created
        );
    }
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut conn)
        .await
        .unwrap();
    let entries = store.read_ready("d1", 10, RECLAIM).await.unwrap();
    assert_eq!(entries.len(), 5);
    for entry in &entries {
        assert_eq!(entry.official.as_str(), "off-17");
        assert!(entry.citizen.is_some(), "{entry:?}");
        assert!(entry.department.is_some(), "{entry:?}");
    }
    let calls = crate::support::redis_server::command_calls(&mut conn).await;
    let count = |name: &str| calls.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c);
    // `read_ready` on each of the store's 4 shards, `read_subjects` on the
    // one shard holding the entries (its `HMGET`s run inside it).
    assert_eq!(count("evalsha"), 4 + 1, "{calls:?}");
    assert_eq!(count("hmget"), 5, "{calls:?}");
    assert_eq!(count("hget"), 0, "the department came from the cache");
}
