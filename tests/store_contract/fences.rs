//! Contracts for limits and fences: GCRA, stale events, status ranking,
//! in-flight leases and reclaim of abandoned ready entries.

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CallStatus, JobState, Outcome};
use sampark::store::{
    Authorize, DialLimits, Limit, Planned, Quota, StatusConcluded, Store, Transition,
};

use super::helpers::*;
use super::support::eventually;

pub async fn gcra_limits_each_official(store: Arc<dyn Store>) {
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-1"), ("c-4", "off-2")],
    )
    .await;
    // One ready entry per official: c-2 waits behind c-1 in off-1's held
    // queue, promoted once c-1 is decided.
    let entries = ready(&store, 2).await;
    assert!(entries.contains_key("c-1") && entries.contains_key("c-4"));
    let quota = Quota {
        burst: 2,
        period: HOUR,
    };
    let first_at = match store
        .authorize(&entries["c-1"], &DialLimits::official(quota), HOUR)
        .await
        .unwrap()
    {
        Authorize::Granted { now_ms, .. } => now_ms,
        other => panic!("c-1: expected Granted, got {other:?}"),
    };
    let second = ready_again(&store, "c-2").await;
    let verdict = store
        .authorize(&second, &DialLimits::official(quota), HOUR)
        .await
        .unwrap();
    assert!(
        matches!(verdict, Authorize::Granted { .. }),
        "c-2: expected Granted (burst 2), got {verdict:?}"
    );
    // A third contact of off-1, made ready (nothing of off-1 waits), is
    // over the quota: held until the GCRA allows, an hour after the first.
    let outcome = store.enqueue(&spec("c-3", "off-1")).await.unwrap();
    assert_eq!(outcome, sampark::store::PutOutcome::Created);
    let third = ready(&store, 1).await;
    let verdict = store
        .authorize(&third["c-3"], &DialLimits::official(quota), HOUR)
        .await
        .unwrap();
    let Authorize::Deferred {
        until_ms: allow_at_ms,
        limit: Limit::Official,
    } = verdict
    else {
        panic!("expected RateLimited, got {verdict:?}");
    };
    let period_ms = 3_600_000;
    assert!(
        (0..=1).contains(&(allow_at_ms - first_at - period_ms)),
        "allow_at {allow_at_ms}, first {first_at}"
    );
    let limited = job(&store, "c-3").await;
    assert_eq!((limited.state, limited.attempt), (JobState::Queued, 0));
    assert_eq!(limited.reason.as_deref(), Some("rate limited"));
    let other = store
        .authorize(&entries["c-4"], &DialLimits::official(quota), HOUR)
        .await
        .unwrap();
    assert!(
        matches!(other, Authorize::Granted { .. }),
        "off-2 was limited: {other:?}"
    );
    // Not due for an hour: promotion leaves it held, and so does a fourth
    // contact of off-1, queued behind it.
    let shard = third["c-3"].shard;
    assert_eq!(store.promote_due(shard, 100).await.unwrap(), 0);
    seed(&store, &[("c-5", "off-1")]).await;
    assert_eq!(store.promote_due(shard, 100).await.unwrap(), 0);
    assert!(
        store
            .read_ready("dialer", 100, HOUR)
            .await
            .unwrap()
            .is_empty()
    );
    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    assert_eq!(waiting.reasons[0].reason, "rate limited");
    assert_eq!(waiting.reasons[0].contacts, 2);
}

pub async fn stale_fences_are_no_ops(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    let entry = &entries["c-1"];
    grant(&store, entry, HOUR).await;
    let id = job_ref(&store, "c-1", "off-1");
    assert_eq!(
        store
            .authorize(entry, &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Stale
    );
    assert_eq!(store.defer(entry, 0, "x").await.unwrap(), Transition::Stale);
    for old in [0, 2] {
        assert_eq!(
            store.mark_originated(&id, old, "CA1", HOUR).await.unwrap(),
            Transition::Stale
        );
        assert_eq!(
            store.extend_lease(&id, old, HOUR).await.unwrap(),
            Transition::Stale
        );
        assert_eq!(
            store
                .finish(&id, old, None, &terminal(Outcome::Failed))
                .await
                .unwrap(),
            Transition::Stale
        );
        let status = store
            .apply_status(&id, old, "CA1", CallStatus::Completed)
            .await
            .unwrap();
        assert!(!status.advanced);
    }
    let before = job(&store, "c-1").await;
    assert_eq!((before.state, before.attempt), (JobState::Dialing, 1));
    store
        .finish(&id, 1, None, &terminal(Outcome::Failed))
        .await
        .unwrap();
    assert_eq!(
        store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.requeue(&id, 1, HOUR, "x").await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.extend_lease(&id, 1, HOUR).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.finish(&id, 1, None, &retry(HOUR)).await.unwrap(),
        Transition::Stale
    );
    let late = store
        .apply_status(&id, 1, "CA1", CallStatus::InProgress)
        .await
        .unwrap();
    assert!(!late.advanced && late.known);
    assert!(
        late.job.is_none(),
        "a status that is not terminal gets no job back"
    );
    assert_eq!(
        job(&store, "c-1").await.state,
        JobState::Done(Outcome::Failed)
    );
    assert_eq!(counts(&store).await, expect_counts(&[("failed", 1)]));
}

pub async fn status_callbacks_never_go_backwards(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    grant(&store, &entries["c-1"], HOUR).await;
    let id = job_ref(&store, "c-1", "off-1");
    let apply = |status| {
        let store = store.clone();
        let id = id.clone();
        async move { store.apply_status(&id, 1, "CA1", status).await.unwrap() }
    };
    // The callback beat the originate reply: the call is adopted.
    let ringing = apply(CallStatus::Ringing).await;
    assert!(ringing.advanced);
    let adopted = job(&store, "c-1").await;
    assert_eq!((adopted.state, adopted.dials), (JobState::InCall, 1));
    assert_eq!(adopted.call_sid.as_deref(), Some("CA1"));
    assert_eq!(
        store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        job(&store, "c-1").await.dials,
        1,
        "adoption and replay count one dial"
    );
    // A status for another call id under the same attempt is not ours.
    let foreign = store
        .apply_status(&id, 1, "CA-other", CallStatus::Completed)
        .await
        .unwrap();
    assert!(!foreign.advanced);
    // A terminal status comes back with the job, to conclude from.
    assert_eq!(foreign.job.unwrap().status_rank, CallStatus::Ringing.rank());
    assert!(apply(CallStatus::InProgress).await.advanced);
    assert!(apply(CallStatus::Completed).await.advanced);
    let late = apply(CallStatus::Ringing).await;
    assert!(!late.advanced);
    assert_eq!(
        job(&store, "c-1").await.call_status,
        Some(CallStatus::Completed)
    );
    assert!(!apply(CallStatus::Completed).await.advanced);
    let unknown = store
        .apply_status(
            &job_ref(&store, "nobody", "off-1"),
            1,
            "CA9",
            CallStatus::Ringing,
        )
        .await
        .unwrap();
    assert_eq!(
        (unknown.known, unknown.job, unknown.advanced),
        (false, None, false)
    );
}

pub async fn in_flight_deadlines_and_leases(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-2")]).await;
    let entries = ready(&store, 2).await;
    grant(&store, &entries["c-1"], Duration::from_millis(100)).await;
    grant(&store, &entries["c-2"], HOUR).await;
    let (one, two) = (
        job_ref(&store, "c-1", "off-1"),
        job_ref(&store, "c-2", "off-2"),
    );
    assert_eq!(store.in_flight_count().await.unwrap(), 2);
    let shard = entries["c-1"].shard;
    eventually(WAIT, "c-1 due in flight", || {
        let store = store.clone();
        let one = one.clone();
        async move {
            let due = store.due_in_flight(shard, 100).await.unwrap();
            due.contains(&(one, 1)).then_some(())
        }
    })
    .await;
    let other_shard = entries["c-2"].shard;
    assert!(
        !store
            .due_in_flight(other_shard, 100)
            .await
            .unwrap()
            .contains(&(two.clone(), 1))
    );
    assert_eq!(
        store.extend_lease(&one, 1, HOUR).await.unwrap(),
        Transition::Applied
    );
    assert!(
        !store
            .due_in_flight(shard, 100)
            .await
            .unwrap()
            .contains(&(one.clone(), 1))
    );
    // A job waiting to retry has no call to reconcile: no lease to extend.
    store.finish(&one, 1, None, &retry(HOUR)).await.unwrap();
    assert_eq!(store.in_flight_count().await.unwrap(), 1);
    assert_eq!(
        store.extend_lease(&one, 1, HOUR).await.unwrap(),
        Transition::Stale
    );
}

pub async fn unacked_ready_entries_are_reclaimed(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let first = store.read_ready("d1", 10, HOUR).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(store.read_ready("d2", 10, HOUR).await.unwrap().is_empty());
    let reclaimed = eventually(WAIT, "the entry reclaimed", || {
        let store = store.clone();
        async move {
            let r = store
                .read_ready("d2", 10, Duration::from_millis(50))
                .await
                .unwrap();
            (!r.is_empty()).then_some(r)
        }
    })
    .await;
    assert_eq!(reclaimed, first);
    grant(&store, &reclaimed[0], HOUR).await;
    // d1 wakes up and tries its copy: the job moved on.
    assert_eq!(
        store
            .authorize(&first[0], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Stale
    );
    assert!(
        store
            .read_ready("d3", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn an_adopted_call_gets_the_call_lease(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    // Authorised under a short originate lease; the status callback beats
    // the originate reply and adopts the call under that lease.
    grant(&store, &entries["c-1"], Duration::from_millis(50)).await;
    let id = job_ref(&store, "c-1", "off-1");
    let adopted = store
        .apply_status(&id, 1, "CA1", CallStatus::Ringing)
        .await
        .unwrap();
    assert!(adopted.advanced);
    // The originate reply arrives: the call's own lease now applies, so the
    // reconciler has nothing to ask the provider about yet.
    assert_eq!(
        store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap(),
        Transition::Applied
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let due = store
        .due_in_flight(entries["c-1"].shard, 100)
        .await
        .unwrap();
    assert!(!due.contains(&(id.clone(), 1)), "{due:?}");
    // A replay with a shorter lease never shortens it.
    store
        .mark_originated(&id, 1, "CA1", Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let due = store
        .due_in_flight(entries["c-1"].shard, 100)
        .await
        .unwrap();
    assert!(!due.contains(&(id, 1)), "{due:?}");
}

/// The instances listed are those that sent a heartbeat, the most recent
/// first; one silent past the horizon is forgotten at the next heartbeat.
pub async fn instances_are_those_heard_from(store: Arc<dyn Store>) {
    assert!(store.instances().await.unwrap().is_empty());
    store.heartbeat("inst-a", HOUR).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    store.heartbeat("inst-b", HOUR).await.unwrap();
    let seen = store.instances().await.unwrap();
    let names: Vec<&str> = seen.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["inst-b", "inst-a"]);
    assert!(seen[1].idle_ms >= 40, "{seen:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    store
        .heartbeat("inst-b", Duration::from_millis(30))
        .await
        .unwrap();
    let seen = store.instances().await.unwrap();
    assert_eq!(seen.len(), 1, "inst-a is forgotten: {seen:?}");
}

pub async fn a_terminal_status_concludes_with_the_plan_only_while_it_holds(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-2")]).await;
    let entries = ready(&store, 2).await;
    grant(&store, &entries["c-1"], HOUR).await;
    grant(&store, &entries["c-2"], HOUR).await;
    let (one, two) = (
        job_ref(&store, "c-1", "off-1"),
        job_ref(&store, "c-2", "off-2"),
    );
    for id in [&one, &two] {
        store.mark_originated(id, 1, "CA1", HOUR).await.unwrap();
        store
            .save_ivr(id, &ivr(1, 0, vec![answer("q1", "1", None)]))
            .await
            .unwrap();
    }
    let plan = |step, dials, has_answers, finish| Planned {
        step,
        dials,
        has_answers,
        finish,
    };
    // As planned (step 1, one dial, answers): status and record in one step.
    let done = store
        .apply_status_concluding(
            &one,
            1,
            "CA1",
            CallStatus::Completed,
            &plan(1, 1, true, terminal(Outcome::Completed)),
        )
        .await
        .unwrap();
    assert_eq!(done, StatusConcluded::Concluded { advanced: true });
    let ended = job(&store, "c-1").await;
    assert_eq!(ended.state, JobState::Done(Outcome::Completed));
    assert_eq!(ended.call_status, Some(CallStatus::Completed));
    assert_eq!(relayed_record(&store, "c-1").await.answers.len(), 1);
    // Repeated, the attempt has ended: the status alone, nothing concluded.
    let again = store
        .apply_status_concluding(
            &one,
            1,
            "CA1",
            CallStatus::Completed,
            &plan(1, 1, true, terminal(Outcome::Completed)),
        )
        .await
        .unwrap();
    assert!(
        matches!(&again, StatusConcluded::Applied(a) if a.known && !a.advanced),
        "{again:?}"
    );

    // A plan read at another step, dial count or answers applies only the
    // status, and hands the job back to decide from.
    for stale in [
        plan(0, 1, true, terminal(Outcome::Partial)),
        plan(1, 2, true, terminal(Outcome::Partial)),
        plan(1, 1, false, terminal(Outcome::Partial)),
    ] {
        let applied = store
            .apply_status_concluding(&two, 1, "CA1", CallStatus::Completed, &stale)
            .await
            .unwrap();
        let StatusConcluded::Applied(applied) = applied else {
            panic!("{stale:?} does not hold, yet it concluded");
        };
        let seen = applied.job.expect("a terminal status hands the job back");
        assert_eq!((seen.ivr_step, seen.dials), (1, 1));
        assert_eq!(job(&store, "c-2").await.state, JobState::InCall);
    }
    // Another call's status concludes nothing either.
    let foreign = store
        .apply_status_concluding(
            &two,
            1,
            "CA-other",
            CallStatus::Completed,
            &plan(1, 1, true, retry(HOUR)),
        )
        .await
        .unwrap();
    assert!(matches!(foreign, StatusConcluded::Applied(_)));
    assert_eq!(job(&store, "c-2").await.state, JobState::InCall);
    // A planned retry goes through the delayed set, as `finish` does.
    let retried = store
        .apply_status_concluding(
            &two,
            1,
            "CA1",
            CallStatus::Completed,
            &plan(1, 1, true, retry(HOUR)),
        )
        .await
        .unwrap();
    assert!(matches!(retried, StatusConcluded::Concluded { .. }));
    assert_eq!(job(&store, "c-2").await.state, JobState::RetryWait);
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("completed", 1), ("retry_wait", 1)])
    );
    // An unknown job is unknown.
    let unknown = store
        .apply_status_concluding(
            &job_ref(&store, "nobody", "off-1"),
            1,
            "CA9",
            CallStatus::Completed,
            &plan(0, 1, false, terminal(Outcome::Completed)),
        )
        .await
        .unwrap();
    assert!(matches!(unknown, StatusConcluded::Applied(a) if !a.known));
}
