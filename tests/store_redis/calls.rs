//! Transitions of a job in flight: originate, requeue, statuses, IVR, finish, leases.

use super::helpers::*;

#[tokio::test]
async fn mark_originated_is_fenced_and_replayable() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let id = &job.job_ref();
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
    let unknown = JobRef::new(0, JobId::parse("police-1/nobody").unwrap());
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
            .requeue(&job.job_ref(), 1, Duration::ZERO, "busy line")
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store
            .requeue(&job.job_ref(), 1, Duration::ZERO, "busy line")
            .await
            .unwrap(),
        Transition::Stale
    );
    assert_eq!(state(&store, &job.job_ref()).await, JobState::Queued);
    assert!(store.due_in_flight(job.shard, 10).await.unwrap().is_empty());
    assert_eq!(store.promote_due(job.shard, 10).await.unwrap(), 1);
    let entry = store.read_ready("d1", 10, RECLAIM).await.unwrap().remove(0);
    let Authorize::Granted { job, .. } = store
        .authorize(&entry, &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap()
    else {
        panic!("expected Granted");
    };
    assert_eq!(job.attempt, 2);
    store
        .mark_originated(&job.job_ref(), 2, "CA1", LEASE)
        .await
        .unwrap();
    assert_eq!(
        store
            .requeue(&job.job_ref(), 2, Duration::ZERO, "x")
            .await
            .unwrap(),
        Transition::Stale,
        "a placed call is never requeued"
    );
}

#[tokio::test]
async fn statuses_are_ranked_and_fenced() {
    let (_server, store) = setup().await;
    let unknown = JobRef::new(0, JobId::parse("police-1/nobody").unwrap());
    let none = store
        .apply_status(&unknown, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(!none.known && none.job.is_none() && !none.advanced);

    let job = dialing(&store, "c-1").await;
    let id = &job.job_ref();
    // The callback beat the originate reply: the call is adopted.
    let r = store
        .apply_status(id, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(r.advanced && r.known);
    assert!(r.job.is_none(), "only a terminal status reads the job back");
    let snap = store.load_job(id).await.unwrap().unwrap();
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
    assert_eq!(
        store.load_job(id).await.unwrap().unwrap().call_status,
        Some(CallStatus::InProgress)
    );
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

#[tokio::test]
async fn ivr_steps_are_fenced_and_duplicates_replayed() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let id = &job.job_ref();
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
    let id = &job.job_ref();
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

    assert_eq!(
        store
            .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        0
    );
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
        direction: Direction::Outbound,
        attributed: true,
        bridge: None,
    };
    assert_eq!(record, &expected);
    assert!(record.finished_at_ms >= stored.queued_at_ms);
    assert!(store.read_feedback(entry_id, 10).await.unwrap().is_empty());
    let status = store
        .campaign_status(&id.id.campaign)
        .await
        .unwrap()
        .unwrap();
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
    store
        .finish(&job.job_ref(), 1, None, &failed)
        .await
        .unwrap();
    store
        .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
        .await
        .unwrap();
    let (_, record) = store.read_feedback("0", 10).await.unwrap().remove(0);
    assert_eq!(
        record.reason.as_deref(),
        Some("invalid \"number\" / rejected")
    );
    assert_eq!(record.attempts, 0);
    assert!(record.answers.is_empty() && record.flags.is_empty());
    assert_eq!(record.first_dialled_at_ms, None);
}

/// Issue 6, item 3: a relay whose acknowledgement is lost after the write
/// (here XACK is refused by an ACL, as a stall or crash would lose it) leaves
/// its outbox entry pending. When the entry is reclaimed and relayed again,
/// the record's dedupe marker keeps the second copy out of the stream.
#[tokio::test]
async fn a_record_whose_relay_ack_was_lost_is_written_once() {
    let (server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    let failed = Finish::Terminal {
        outcome: Outcome::Failed,
        reason: Some("rejected".into()),
    };
    store
        .finish(&job.job_ref(), 1, None, &failed)
        .await
        .unwrap();

    // A relay that may write the feedback stream but not acknowledge.
    let mut admin = raw(&server).await;
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "noack", "on", ">pw", "~*", "&*", "+@all", "-xack", "-xdel",
        ])
        .query_async(&mut admin)
        .await
        .unwrap();
    let stalled = RedisStore::connect(
        &format!("redis://noack:pw@127.0.0.1:{}/", server.port),
        "sampark",
        4,
    )
    .await
    .unwrap();
    let err = stalled
        .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Refused(_)), "{err:?}");
    assert_eq!(
        store.read_feedback("0", 10).await.unwrap().len(),
        1,
        "the record was written before the acknowledgement failed"
    );

    // The entry is still pending with the stalled relay. Age it past the
    // reclaim time (XCLAIM ... IDLE), so the next relay takes it over.
    let outbox = format!("sampark:{{s{:02}}}:outbox", job.shard);
    let pending: Vec<(String, String, u64, u64)> = redis::cmd("XPENDING")
        .arg(&[outbox.as_str(), "relay", "-", "+", "10"])
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let (entry_id, consumer, _, _) = &pending[0];
    let _: redis::Value = redis::cmd("XCLAIM")
        .arg(&[
            outbox.as_str(),
            "relay",
            consumer,
            "0",
            entry_id,
            "IDLE",
            "600000",
            "JUSTID",
        ])
        .query_async(&mut admin)
        .await
        .unwrap();

    assert_eq!(
        store
            .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        1
    );
    let records = store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 1, "exactly one feedback entry: {records:?}");
    assert_eq!(records[0].1.record_id, "police-1/c-1");
    let outbox_len: u64 = redis::cmd("XLEN")
        .arg(&outbox)
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(
        outbox_len, 0,
        "the outbox entry is acknowledged and deleted"
    );
    assert_eq!(
        store
            .relay_feedback(job.shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        0
    );

    let ttl: i64 = redis::cmd("PTTL")
        .arg("{sampark:feedback}:relayed:police-1/c-1")
        .query_async(&mut admin)
        .await
        .unwrap();
    let window = sampark::store::redis::RELAY_DEDUPE_WINDOW.as_millis() as i64;
    assert!(
        ttl > window - 60_000 && ttl <= window,
        "marker TTL {ttl} ms"
    );
}

#[tokio::test]
async fn retry_goes_through_the_delayed_set_to_a_new_attempt() {
    let (_server, store) = setup().await;
    let job = dialing(&store, "c-1").await;
    store
        .mark_originated(&job.job_ref(), 1, "CA1", LEASE)
        .await
        .unwrap();
    let retry = Finish::Retry {
        delay: Duration::ZERO,
        reason: "no answer".into(),
    };
    assert_eq!(
        store.finish(&job.job_ref(), 0, None, &retry).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.finish(&job.job_ref(), 1, None, &retry).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.finish(&job.job_ref(), 1, None, &retry).await.unwrap(),
        Transition::Stale
    );
    let waiting = store.load_job(&job.job_ref()).await.unwrap().unwrap();
    assert_eq!(waiting.state, JobState::RetryWait);
    assert_eq!(waiting.reason.as_deref(), Some("no answer"));
    assert!(store.due_in_flight(job.shard, 10).await.unwrap().is_empty());
    assert_eq!(store.promote_due(job.shard, 10).await.unwrap(), 1);
    assert_eq!(state(&store, &job.job_ref()).await, JobState::Queued);
    let status = store
        .campaign_status(&job.id.campaign)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.counts.get("queued"), Some(&1));
    assert_eq!(status.total(), 1);
    let entry = store.read_ready("d1", 10, RECLAIM).await.unwrap().remove(0);
    let Authorize::Granted { job: again, .. } = store
        .authorize(&entry, &DialLimits::official(OPEN), LEASE)
        .await
        .unwrap()
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
    store
        .authorize(&entry, &DialLimits::official(OPEN), Duration::ZERO)
        .await
        .unwrap();
    let due = store.due_in_flight(entry.shard, 10).await.unwrap();
    assert_eq!(due, vec![(entry.job_ref(), 1)]);
    assert_eq!(
        store
            .extend_lease(&entry.job_ref(), 2, LEASE)
            .await
            .unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store
            .extend_lease(&entry.job_ref(), 1, LEASE)
            .await
            .unwrap(),
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
        .mark_originated(&entry.job_ref(), 1, "CA1", Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(store.due_in_flight(entry.shard, 10).await.unwrap().len(), 1);
}

/// Every command one `apply_status` costs, scripts' own commands included.
async fn cost_of_a_status(
    store: &RedisStore,
    conn: &mut redis::aio::MultiplexedConnection,
    job: &Job,
) -> Vec<(String, u64)> {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut *conn)
        .await
        .unwrap();
    let applied = store
        .apply_status(&job.job_ref(), 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(applied.known);
    let mut calls = crate::support::redis_server::command_calls(conn).await;
    calls.retain(|(name, _)| !name.starts_with("config") && name != "info");
    calls.sort();
    calls
}

#[tokio::test]
async fn a_cold_instance_finds_a_job_from_its_reference_alone() {
    let (server, warm) = setup().await;
    let first = dialing(&warm, "c-1").await;
    let second = dialing(&warm, "c-2").await;
    let third = dialing(&warm, "c-3").await;
    let mut conn = raw(&server).await;
    // Loads the script into Redis, so neither measurement pays for that.
    cost_of_a_status(&warm, &mut conn, &first).await;
    let on_warm = cost_of_a_status(&warm, &mut conn, &second).await;
    // Another instance that has never seen these jobs.
    let cold = RedisStore::connect(&server.url(), "sampark", 4)
        .await
        .unwrap();
    let on_cold = cost_of_a_status(&cold, &mut conn, &third).await;
    assert_eq!(
        on_cold, on_warm,
        "a cold instance routes the event with no extra command"
    );
    let scripts: u64 = on_cold
        .iter()
        .filter(|(name, _)| name.starts_with("eval"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        scripts, 1,
        "one script call per provider event: {on_cold:?}"
    );
}

/// A call core over `store` with Twilio's call control.
fn core_over(store: &std::sync::Arc<RedisStore>) -> sampark::calls::CallCore {
    let public = "http://127.0.0.1:1";
    sampark::calls::CallCore::new(
        store.clone(),
        std::sync::Arc::new(sampark::provider::twilio::TwilioControl::new(
            "token", public, true,
        )),
        crate::support::daemon::dialplans(),
        public,
        sampark::calls::RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_secs(60)],
        },
        std::sync::Arc::new(sampark::telemetry::Metrics::new()),
    )
}

/// Every command `callback` costs through `core`, scripts' own commands
/// included, and the markup it answered.
async fn cost_of_a_webhook(
    core: &sampark::calls::CallCore,
    conn: &mut redis::aio::MultiplexedConnection,
    callback: sampark::calls::Callback,
) -> (Vec<(String, u64)>, String) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut *conn)
        .await
        .unwrap();
    let reply = core.handle(&callback, &Vec::new()).await.unwrap();
    let sampark::calls::Reply::Markup(markup) = reply else {
        panic!("a call-control reply, not {reply:?}");
    };
    let mut calls = crate::support::redis_server::command_calls(conn).await;
    calls.retain(|(name, _)| !name.starts_with("config") && name != "info");
    calls.sort();
    (calls, markup)
}

/// Round trips of a webhook as counted by Redis: the script calls and every
/// other command but those the call path's scripts run inside
/// (`save_ivr.lua`, `apply_status.lua`, `finish.lua`), which `INFO
/// commandstats` counts too. A read of the job (`HGETALL`) is a round trip.
fn round_trips(calls: &[(String, u64)]) -> Vec<(String, u64)> {
    const IN_SCRIPTS: [&str; 10] = [
        "hmget", "hset", "time", "exists", "hincrby", "hget", "hdel", "zrem", "zadd", "xadd",
    ];
    calls
        .iter()
        .filter(|(name, _)| !IN_SCRIPTS.contains(&name.as_str()))
        .cloned()
        .collect()
}

#[tokio::test]
async fn each_call_event_costs_one_round_trip_on_the_instance_serving_the_call() {
    use sampark::calls::{CallRef, Callback};
    let (server, store) = setup().await;
    let store = std::sync::Arc::new(store);
    let mut conn = raw(&server).await;
    // Two instances on one Redis (a load balancer in front); one store
    // connection, so only their copies of live calls differ.
    let warm = core_over(&store);
    let cold = core_over(&store);
    // Loads the script into Redis, so no measurement pays for that.
    let first = dialing(&store, "c-1").await;
    warm.live_calls().placed(&first);
    let call = |job: &Job| CallRef {
        job: job.job_ref(),
        attempt: job.attempt,
    };
    let answer = |job: &Job| Callback::Answer {
        call: call(job),
        answered_by: None,
    };
    let gather = |job: &Job, step: u32| Callback::Gather {
        call: call(job),
        step,
        digits: Some("1".into()),
    };
    let status = |status: &str| {
        vec![
            ("CallSid".to_owned(), "CA1".to_owned()),
            ("CallStatus".to_owned(), status.to_owned()),
        ]
    };
    store
        .mark_originated(&first.job_ref(), 1, "CA1", LEASE)
        .await
        .unwrap();
    cost_of_a_webhook(&warm, &mut conn, answer(&first)).await;
    warm.handle(&Callback::Status(call(&first)), &status("completed"))
        .await
        .unwrap();

    // The instance that placed the call: one script per webhook, no read.
    let job = dialing(&store, "c-2").await;
    warm.live_calls().placed(&job);
    store
        .mark_originated(&job.job_ref(), 1, "CA1", LEASE)
        .await
        .unwrap();
    let (on_warm, question) = cost_of_a_webhook(&warm, &mut conn, answer(&job)).await;
    assert!(question.contains("step=1"), "{question}");
    assert_eq!(
        round_trips(&on_warm),
        [("evalsha".to_owned(), 1)],
        "an answer on the instance that placed the call: {on_warm:?}"
    );
    for step in 1..=2 {
        let (on_warm, next) = cost_of_a_webhook(&warm, &mut conn, gather(&job, step)).await;
        assert!(next.contains(&format!("step={}", step + 1)), "{next}");
        assert_eq!(
            round_trips(&on_warm),
            [("evalsha".to_owned(), 1)],
            "gather {step} on the instance that saved the step before: {on_warm:?}"
        );
    }
    // A repeated gather is replayed from the store, as before.
    let (_, replayed) = cost_of_a_webhook(&warm, &mut conn, gather(&job, 2)).await;
    let stored = store.load_job(&job.job_ref()).await.unwrap().unwrap();
    assert_eq!(Some(replayed), stored.last_response);
    assert_eq!(stored.ivr_step, 3);

    // Another instance (behind a load balancer) reads the job first, and
    // then holds the step it saved: the instance that held the call before
    // has a copy that is one step behind, and its save is fenced.
    let (on_cold, _) = cost_of_a_webhook(&cold, &mut conn, gather(&job, 3)).await;
    assert_eq!(
        round_trips(&on_cold),
        [("evalsha".to_owned(), 1), ("hgetall".to_owned(), 1)],
        "a cold instance reads the job, then saves: {on_cold:?}"
    );
    let (_, behind) = cost_of_a_webhook(&warm, &mut conn, gather(&job, 3)).await;
    let stored = store.load_job(&job.job_ref()).await.unwrap().unwrap();
    assert_eq!(stored.ivr_step, 4, "the step was saved once");
    assert_eq!(Some(behind), stored.last_response, "a duplicate replays");
    let (on_cold, _) = cost_of_a_webhook(&cold, &mut conn, gather(&job, 4)).await;
    assert_eq!(
        round_trips(&on_cold),
        [("evalsha".to_owned(), 1)],
        "the instance that saved step 3 holds step 4: {on_cold:?}"
    );

    // The call ends: the instance that saved the last step concludes it
    // with the status, in one script.
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut conn)
        .await
        .unwrap();
    cold.handle(&Callback::Status(call(&job)), &status("completed"))
        .await
        .unwrap();
    let mut on_cold = crate::support::redis_server::command_calls(&mut conn).await;
    on_cold.retain(|(name, _)| !name.starts_with("config") && name != "info");
    assert_eq!(
        round_trips(&on_cold),
        [("evalsha".to_owned(), 1)],
        "a terminal status on the instance holding the call: {on_cold:?}"
    );
    let ended = store.load_job(&job.job_ref()).await.unwrap().unwrap();
    assert!(
        !matches!(ended.state, JobState::Dialing | JobState::InCall),
        "concluded: {:?}",
        ended.state
    );

    // A copy of an attempt that moved on (here: a stale copy of step 0)
    // gets a hang-up from the fenced save and the stored job's decision.
    let other = dialing(&store, "c-3").await;
    cold.live_calls().placed(&other);
    warm.live_calls().placed(&other);
    cost_of_a_webhook(&cold, &mut conn, answer(&other)).await;
    let (_, again) = cost_of_a_webhook(&warm, &mut conn, answer(&other)).await;
    let stored = store.load_job(&other.job_ref()).await.unwrap().unwrap();
    assert_eq!(
        Some(again),
        stored.last_response,
        "a repeated answer replays"
    );
}

/// Every command a status callback costs through `core`, scripts' own
/// commands included.
async fn cost_of_a_status_webhook(
    core: &sampark::calls::CallCore,
    conn: &mut redis::aio::MultiplexedConnection,
    job: &Job,
    sid: &str,
    status: &str,
) -> Vec<(String, u64)> {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec_async(&mut *conn)
        .await
        .unwrap();
    let params = vec![
        ("CallSid".to_owned(), sid.to_owned()),
        ("CallStatus".to_owned(), status.to_owned()),
    ];
    let callback = sampark::calls::Callback::Status(sampark::calls::CallRef {
        job: job.job_ref(),
        attempt: job.attempt,
    });
    core.handle(&callback, &params).await.unwrap();
    let mut calls = crate::support::redis_server::command_calls(conn).await;
    calls.retain(|(name, _)| !name.starts_with("config") && name != "info");
    round_trips(&calls)
}

#[tokio::test]
async fn a_progress_status_costs_nothing_on_the_instance_that_recorded_the_call() {
    let (server, store) = setup().await;
    let store = std::sync::Arc::new(store);
    let mut conn = raw(&server).await;
    let warm = core_over(&store);
    let cold = core_over(&store);
    // Loads the script into Redis, so no measurement pays for that.
    let spare = dialing(&store, "c-0").await;
    store
        .apply_status(&spare.job_ref(), 1, "CA0", CallStatus::Ringing)
        .await
        .unwrap();
    let job = dialing(&store, "c-1").await;
    warm.live_calls().placed(&job);
    // Before the store recorded the call, the status goes to the store (it
    // may be what adopts the call).
    let before = cost_of_a_status_webhook(&warm, &mut conn, &job, "CA1", "initiated").await;
    assert_eq!(before, [("evalsha".to_owned(), 1)], "{before:?}");
    assert_eq!(
        store
            .mark_originated(&job.job_ref(), 1, "CA1", LEASE)
            .await
            .unwrap(),
        Transition::Applied
    );
    warm.live_calls().originated(&job.job_ref(), 1, "CA1");
    let on_warm = cost_of_a_status_webhook(&warm, &mut conn, &job, "CA1", "ringing").await;
    assert!(on_warm.is_empty(), "no round trip: {on_warm:?}");
    // Another call id, or an instance without the record, asks the store.
    let other = cost_of_a_status_webhook(&warm, &mut conn, &job, "CA2", "ringing").await;
    assert_eq!(other, [("evalsha".to_owned(), 1)], "{other:?}");
    let on_cold = cost_of_a_status_webhook(&cold, &mut conn, &job, "CA1", "in-progress").await;
    assert_eq!(on_cold, [("evalsha".to_owned(), 1)], "{on_cold:?}");
    // The terminal status is applied, and concludes the attempt (a call
    // that heard no answer is tried again), as before.
    let end = cost_of_a_status_webhook(&warm, &mut conn, &job, "CA1", "completed").await;
    assert_eq!(end, [("evalsha".to_owned(), 1)], "{end:?}");
    let stored = store.load_job(&job.job_ref()).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::RetryWait);
    assert_eq!(stored.call_status, Some(CallStatus::Completed));
}
