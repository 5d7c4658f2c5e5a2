//! Contracts for a job's way through its lifecycle: dial, IVR, finish, retry.

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CampaignHeader, JobSpec, JobState, Outcome};
use sampark::store::{Finish, IvrUpdate, PutOutcome, SaveIvr, Store, Transition};

use super::helpers::*;

pub async fn full_lifecycle_yields_one_record(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-2")]).await;
    let entries = ready(&store, 2).await;
    let entry = &entries["c-1"];
    assert_eq!(entry.official.as_str(), "off-1");
    assert_eq!(entry.shard, store.shard_of(&entry.official));
    let (granted, granted_at) = grant(&store, entry, HOUR).await;
    assert_eq!((granted.state, granted.attempt), (JobState::Dialing, 1));
    assert_eq!(granted.dial_started_at_ms, Some(granted_at));
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("dialing", 1), ("queued", 1)])
    );
    let id = job_ref(&store, "c-1", "off-1");
    assert_eq!(
        store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.mark_originated(&id, 1, "CA2", HOUR).await.unwrap(),
        Transition::Stale
    );
    let in_call = job(&store, "c-1").await;
    assert_eq!((in_call.state, in_call.dials), (JobState::InCall, 1));
    assert_eq!(in_call.call_sid.as_deref(), Some("CA1"));
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("in_call", 1), ("queued", 1)])
    );

    let q1 = vec![answer("treated_well", "1", None)];
    let q2 = vec![answer("bribe", "1", Some("bribe_asked"))];
    let save = |u: IvrUpdate| {
        let store = store.clone();
        let id = id.clone();
        async move { store.save_ivr(&id, &u).await.unwrap() }
    };
    assert_eq!(
        save(ivr(1, 0, q1.clone())).await,
        SaveIvr::Saved { step: 1 }
    );
    let duplicate = save(ivr(1, 0, q1.clone())).await;
    assert_eq!(
        duplicate,
        SaveIvr::Duplicate {
            response: Some("<Response>0</Response>".into())
        }
    );
    assert_eq!(
        save(ivr(1, 1, q2.clone())).await,
        SaveIvr::Saved { step: 2 }
    );
    assert_eq!(save(ivr(1, 5, vec![])).await, SaveIvr::Stale);
    assert_eq!(save(ivr(2, 2, vec![])).await, SaveIvr::Stale);
    let saved = job(&store, "c-1").await;
    assert_eq!(saved.ivr.as_deref(), Some("{\"step\":1}"));
    assert_eq!(saved.answers.len(), 2, "the duplicate stored nothing");
    assert!(saved.answers.iter().all(|a| a.at_ms >= granted_at));

    // A snapshot from before step 2 no longer holds.
    let done = terminal(Outcome::Completed);
    assert_eq!(
        store.finish(&id, 1, Some(1), &done).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(
        store.finish(&id, 1, Some(2), &done).await.unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store.finish(&id, 1, None, &done).await.unwrap(),
        Transition::Stale
    );
    assert_eq!(save(ivr(1, 2, vec![])).await, SaveIvr::Stale);
    let status = store
        .campaign_status(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status.total(), status.finished()), (2, 1));
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("completed", 1), ("queued", 1)])
    );

    let shard = store.shard_of(&entry.official);
    assert_eq!(
        store
            .relay_feedback(shard, 100, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .relay_feedback(shard, 100, &sampark::domain::ScoringRules::default())
            .await
            .unwrap(),
        0
    );
    let records = store.read_feedback("0", 100).await.unwrap();
    assert_eq!(records.len(), 1);
    let (cursor, record) = &records[0];
    assert_eq!(record.record_id, "police-1/c-1");
    assert_eq!(
        (record.outcome, record.attempts, record.version),
        (Outcome::Completed, 1, 1)
    );
    assert_eq!(
        (record.official_id.as_str(), record.office.as_str()),
        ("off-1", "Dhenkanal Town PS")
    );
    let questions: Vec<_> = record.answers.iter().map(|a| a.question.as_str()).collect();
    assert_eq!(questions, ["treated_well", "bribe"]);
    assert_eq!(record.flags, ["bribe_asked"]);
    assert_eq!(record.first_dialled_at_ms, in_call.first_dialled_at_ms);
    assert!(record.finished_at_ms >= granted_at);
    assert!(store.read_feedback(cursor, 100).await.unwrap().is_empty());
}

pub async fn retry_waits_then_dials_attempt_two(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    grant(&store, &entries["c-1"], HOUR).await;
    let id = job_ref(&store, "c-1", "off-1");
    store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap();
    // The call was answered and its first reply saved, but no key press
    // ever came back: the attempt is retried with a fresh session.
    let first_reply = IvrUpdate {
        attempt: 1,
        expected_step: 0,
        session: "{\"s\":1}".into(),
        new_answers: Vec::new(),
        response: "<Response/>".into(),
        attribution: None,
        bridge: None,
    };
    store.save_ivr(&id, &first_reply).await.unwrap();
    let delay = Duration::from_millis(300);
    let before = store.now_ms().await.unwrap();
    assert_eq!(
        store.finish(&id, 1, None, &retry(delay)).await.unwrap(),
        Transition::Applied
    );
    let waiting = job(&store, "c-1").await;
    assert_eq!(
        (waiting.state, waiting.reason.as_deref()),
        (JobState::RetryWait, Some("busy"))
    );
    assert_eq!(counts(&store).await, expect_counts(&[("retry_wait", 1)]));
    let entry = ready_again(&store, "c-1").await;
    let promoted_by = store.now_ms().await.unwrap();
    assert!(
        promoted_by >= before + 300,
        "promoted before the delay passed"
    );
    assert_eq!(job(&store, "c-1").await.state, JobState::Queued);
    let (second, _) = grant(&store, &entry, HOUR).await;
    assert_eq!(
        (second.attempt, second.dials, second.call_sid),
        (2, 1, None)
    );
    assert_eq!(second.past_call_sids, ["CA1"]);
    assert_eq!(
        (
            second.ivr,
            second.last_response,
            second.ivr_step,
            second.reason
        ),
        (None, None, 0, None),
        "a new attempt starts a new IVR session"
    );
    assert_eq!(counts(&store).await, expect_counts(&[("dialing", 1)]));
}

pub async fn requeue_returns_an_unplaced_dial(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-2")]).await;
    let entries = ready(&store, 2).await;
    grant(&store, &entries["c-1"], HOUR).await;
    grant(&store, &entries["c-2"], HOUR).await;
    let (one, two) = (
        job_ref(&store, "c-1", "off-1"),
        job_ref(&store, "c-2", "off-2"),
    );
    let delay = Duration::from_millis(50);
    assert_eq!(
        store
            .requeue(&one, 1, delay, "provider down")
            .await
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        store
            .requeue(&one, 1, delay, "provider down")
            .await
            .unwrap(),
        Transition::Stale
    );
    let queued = job(&store, "c-1").await;
    assert_eq!(
        (queued.state, queued.reason.as_deref()),
        (JobState::Queued, Some("provider down"))
    );
    // A placed call is never requeued (G2).
    store.mark_originated(&two, 1, "CA2", HOUR).await.unwrap();
    assert_eq!(
        store.requeue(&two, 1, delay, "x").await.unwrap(),
        Transition::Stale
    );
    let entry = ready_again(&store, "c-1").await;
    let (again, _) = grant(&store, &entry, HOUR).await;
    assert_eq!((again.attempt, again.dials), (2, 0));
    let in_flight = store.due_in_flight(entry.shard, 100).await.unwrap();
    assert!(
        !in_flight.contains(&(one, 1)),
        "requeue left attempt 1 in flight"
    );
}

pub async fn defer_waits_then_returns(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    let until = store.now_ms().await.unwrap() + 100;
    assert_eq!(
        store
            .defer(&entries["c-1"], until, "outside hours")
            .await
            .unwrap(),
        Transition::Applied
    );
    let deferred = job(&store, "c-1").await;
    assert_eq!(
        (deferred.state, deferred.reason.as_deref()),
        (JobState::Queued, Some("outside hours"))
    );
    let entry = ready_again(&store, "c-1").await;
    assert!(store.now_ms().await.unwrap() >= until);
    assert_eq!(grant(&store, &entry, HOUR).await.0.attempt, 1);
}

/// A campaign with answering-machine detection: the option travels with the
/// job, a machine pick-up (saved as the session, a hang-up as the reply) is
/// retried with a fresh session, and the last one ends the contact
/// `machine` with its record.
pub async fn a_machine_pick_up_is_retried_then_ends_machine(store: Arc<dyn Store>) {
    let amd = CampaignHeader {
        machine_detection: true,
        kind: sampark::domain::CampaignKind::Survey,
        ..header()
    };
    store.put_campaign(&amd).await.unwrap();
    let spec = JobSpec::new(&amd, spec("c-1", "off-1").contact);
    assert_eq!(store.enqueue(&spec).await.unwrap(), PutOutcome::Created);
    let id = job_ref(&store, "c-1", "off-1");
    let pick_up = |attempt| IvrUpdate {
        attempt,
        expected_step: 0,
        session: r#"{"answered_by":"machine"}"#.into(),
        new_answers: Vec::new(),
        response: "<Response><Hangup/></Response>".into(),
        attribution: None,
        bridge: None,
    };
    let because = "an answering machine answered";
    let mut entry = ready(&store, 1).await.remove("c-1").unwrap();
    for attempt in 1..=2 {
        let (granted, _) = grant(&store, &entry, HOUR).await;
        assert!(
            granted.spec.machine_detection,
            "the option reaches the dialer"
        );
        assert_eq!((granted.attempt, granted.ivr), (attempt, None));
        let sid = format!("CA{attempt}");
        store
            .mark_originated(&id, attempt, &sid, HOUR)
            .await
            .unwrap();
        assert_eq!(
            store.save_ivr(&id, &pick_up(attempt)).await.unwrap(),
            SaveIvr::Saved { step: 1 }
        );
        let finish = if attempt == 1 {
            Finish::Retry {
                delay: Duration::from_millis(50),
                reason: because.into(),
            }
        } else {
            Finish::Terminal {
                outcome: Outcome::Machine,
                reason: Some(because.into()),
            }
        };
        assert_eq!(
            store.finish(&id, attempt, Some(1), &finish).await.unwrap(),
            Transition::Applied
        );
        if attempt == 1 {
            let waiting = job(&store, "c-1").await;
            assert_eq!(
                (waiting.state, waiting.reason.as_deref()),
                (JobState::RetryWait, Some(because))
            );
            entry = ready_again(&store, "c-1").await;
        }
    }
    let done = job(&store, "c-1").await;
    assert_eq!(done.state, JobState::Done(Outcome::Machine));
    assert_eq!(counts(&store).await, expect_counts(&[("machine", 1)]));
    let status = store
        .campaign_status(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.finished(), 1);
    assert!(status.header.machine_detection);
    store
        .relay_feedback(
            store.shard_of(&entry.official),
            100,
            &sampark::domain::ScoringRules::default(),
        )
        .await
        .unwrap();
    let records = store.read_feedback("0", 100).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = &records[0].1;
    assert_eq!(
        (record.outcome, record.attempts, record.reason.as_deref()),
        (Outcome::Machine, 2, Some(because))
    );
    assert!(record.answers.is_empty());
}
