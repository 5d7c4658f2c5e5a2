//! Contracts for intake, dead letters, campaigns, enqueue and citizens.

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CampaignHeader, JobState, PhoneNumber};
use sampark::store::{
    DeadLetter, EndedJob, IntakeRefusal, IntakeTally, KEPT_REFUSALS, NewJob, NumberClaim,
    PutOutcome, Store,
};

use super::helpers::*;
use super::support::eventually;

pub async fn intake_submit_read_ack_and_reclaim(store: Arc<dyn Store>) {
    let first = store.submit("doc-1").await.unwrap();
    let second = store.submit("doc-2").await.unwrap();
    assert_ne!(first, second);
    let read = store
        .read_intake("a", 10, Duration::from_millis(50), HOUR)
        .await
        .unwrap();
    let got: Vec<_> = read
        .iter()
        .map(|e| (e.id.clone(), e.payload.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (first.clone(), Ok("doc-1".into())),
            (second.clone(), Ok("doc-2".into()))
        ]
    );
    // Delivered to `a`, not yet idle: `b` sees nothing.
    let none = store
        .read_intake("b", 10, Duration::from_millis(50), HOUR)
        .await
        .unwrap();
    assert!(none.is_empty());
    store.ack_intake(&first).await.unwrap();
    // `a` dies holding doc-2: `b` reclaims it once it has idled.
    let reclaimed = eventually(WAIT, "doc-2 reclaimed", || {
        let store = store.clone();
        async move {
            let r = store
                .read_intake(
                    "b",
                    10,
                    Duration::from_millis(20),
                    Duration::from_millis(50),
                )
                .await
                .unwrap();
            (!r.is_empty()).then_some(r)
        }
    })
    .await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, second);
    // A blocked reader wakes for a submit.
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .read_intake("c", 10, Duration::from_secs(5), HOUR)
                .await
                .unwrap()
        })
    };
    let third = store.submit("doc-3").await.unwrap();
    let woke = reader.await.unwrap();
    assert_eq!(woke.len(), 1);
    assert_eq!(
        (woke[0].id.clone(), woke[0].payload.clone()),
        (third, Ok("doc-3".into()))
    );
}

pub async fn dead_letters_keep_the_latest_oldest_first(store: Arc<dyn Store>) {
    for i in 0..3 {
        let letter = DeadLetter {
            source: format!("1-{i}"),
            reason: "bad".into(),
            payload: format!("{{\"n\":{i}}}"),
        };
        store.dead_letter(&letter).await.unwrap();
    }
    let last: Vec<_> = store
        .dead_letters(2)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.source)
        .collect();
    assert_eq!(last, ["1-1", "1-2"]);
}

pub async fn put_campaign_is_idempotent_and_refuses_changes(store: Arc<dyn Store>) {
    assert!(
        store
            .campaign_status(&campaign_id())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.put_campaign(&header()).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_campaign(&header()).await.unwrap(),
        PutOutcome::Unchanged
    );
    let changed = CampaignHeader {
        name: "Another name".into(),
        ..header()
    };
    assert_eq!(
        store.put_campaign(&changed).await.unwrap(),
        PutOutcome::Conflict
    );
    let status = store
        .campaign_status(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.header, header());
    assert_eq!(status.total(), 0);
}

pub async fn enqueue_is_idempotent_and_refuses_changes(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    assert_eq!(
        store.enqueue(&spec("c-1", "off-1")).await.unwrap(),
        PutOutcome::Unchanged
    );
    let mut changed = spec("c-1", "off-1");
    changed.contact.office = "Elsewhere".into();
    assert_eq!(store.enqueue(&changed).await.unwrap(), PutOutcome::Conflict);
    let stored = job(&store, "c-1").await;
    assert_eq!(
        (stored.state, stored.attempt, stored.dials),
        (JobState::Queued, 0, 0)
    );
    assert_eq!(*stored.spec, spec("c-1", "off-1"));
    assert_eq!(
        stored.shard,
        store.shard_of(&stored.spec.contact.official_id)
    );
    assert_eq!(counts(&store).await, expect_counts(&[("queued", 1)]));
    assert_eq!(ready(&store, 1).await.len(), 1, "exactly one ready entry");
}

pub async fn duplicate_numbers_end_at_once_with_a_record(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let campaign = campaign_id();
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    let first = sampark::domain::ContactId::parse("c-1").unwrap();
    let second = sampark::domain::ContactId::parse("c-2").unwrap();
    assert_eq!(
        store.claim_number(&campaign, &phone, &first).await.unwrap(),
        NumberClaim::Holds
    );
    assert_eq!(
        store.claim_number(&campaign, &phone, &first).await.unwrap(),
        NumberClaim::Holds
    );
    assert_eq!(
        store
            .claim_number(&campaign, &phone, &second)
            .await
            .unwrap(),
        NumberClaim::HeldBy(first.clone())
    );
    let dup = spec("c-2", "off-2");
    let why = "same number as contact c-1";
    let ended = store
        .enqueue_ended(&dup, sampark::domain::Outcome::Duplicate, why)
        .await
        .unwrap();
    assert_eq!(ended, PutOutcome::Created);
    let again = store
        .enqueue_ended(&dup, sampark::domain::Outcome::Duplicate, why)
        .await
        .unwrap();
    assert_eq!(again, PutOutcome::Unchanged);
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("queued", 1), ("duplicate", 1)])
    );
    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    let records = store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0].1;
    assert_eq!(
        (
            r.contact_id.as_str(),
            r.outcome,
            r.attempts,
            r.reason.as_deref()
        ),
        ("c-2", sampark::domain::Outcome::Duplicate, 0, Some(why))
    );
}

pub async fn a_calling_window_is_stored_with_the_header_and_its_jobs(store: Arc<dyn Store>) {
    let window = sampark::domain::parse_calling_window(&serde_json::json!({
        "zone": "Europe/London", "weekdays": ["mon", "fri"],
        "ranges": ["09:00-12:00"], "holidays": ["2026-12-25"]}))
    .unwrap();
    let with_window = CampaignHeader {
        calling_window: Some(window.clone()),
        ..header()
    };
    assert_eq!(store.campaign_header(&campaign_id()).await.unwrap(), None);
    assert_eq!(
        store.put_campaign(&with_window).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_campaign(&with_window).await.unwrap(),
        PutOutcome::Unchanged
    );
    // Another window (or none) is another header: refused, the first kept.
    for other in [None, Some(sampark::policy::CallingWindow::default())] {
        let changed = CampaignHeader {
            calling_window: other,
            ..header()
        };
        assert_eq!(
            store.put_campaign(&changed).await.unwrap(),
            PutOutcome::Conflict
        );
    }
    let stored = store
        .campaign_header(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, with_window);
    assert_eq!(stored.calling_window, Some(window.clone()));

    let spec = sampark::domain::JobSpec::new(&with_window, spec("c-1", "off-1").contact);
    assert_eq!(spec.calling_window, Some(window.clone()));
    assert_eq!(store.enqueue(&spec).await.unwrap(), PutOutcome::Created);
    let job = store
        .load_job(&job_ref(&store, "c-1", "off-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.spec.calling_window, Some(window));
}

pub async fn intake_tallies_count_each_entry_once_and_keep_the_newest_refusals(
    store: Arc<dyn Store>,
) {
    let id = campaign_id();
    assert_eq!(store.intake_stats(&id).await.unwrap(), None);
    let refusal = |n: usize| IntakeRefusal {
        source: format!("1-{n} contacts[{n}]"),
        reason: format!("contact rejected: reason {n}"),
    };
    let first = IntakeTally {
        documents_accepted: 1,
        contacts_refused: 2,
        refusals: vec![refusal(0), refusal(1)],
        ..IntakeTally::default()
    };
    let before = store.now_ms().await.unwrap();
    assert!(store.record_intake(&id, "1-0", &first).await.unwrap());
    // The same entry again (ingested again after a crash): counted once.
    assert!(!store.record_intake(&id, "1-0", &first).await.unwrap());
    let stats = store.intake_stats(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            stats.documents_accepted,
            stats.documents_refused,
            stats.contacts_refused
        ),
        (1, 0, 2)
    );
    let sources: Vec<&str> = stats
        .last_refusals
        .iter()
        .map(|r| r.source.as_str())
        .collect();
    assert_eq!(
        sources,
        ["1-1 contacts[1]", "1-0 contacts[0]"],
        "newest first"
    );
    assert_eq!(stats.last_refusals[0].reason, "contact rejected: reason 1");
    let at = stats.last_refusals[0].at_ms;
    assert!(at >= before && at <= store.now_ms().await.unwrap(), "{at}");

    // A refused document with more refusals than are kept.
    let many = IntakeTally {
        documents_refused: 1,
        refusals: (2..2 + KEPT_REFUSALS + 3).map(refusal).collect(),
        ..IntakeTally::default()
    };
    assert!(store.record_intake(&id, "1-1", &many).await.unwrap());
    let stats = store.intake_stats(&id).await.unwrap().unwrap();
    assert_eq!(
        (
            stats.documents_accepted,
            stats.documents_refused,
            stats.contacts_refused
        ),
        (1, 1, 2)
    );
    assert_eq!(stats.last_refusals.len(), KEPT_REFUSALS);
    assert_eq!(
        stats.last_refusals[0].source,
        format!("1-{n} contacts[{n}]", n = KEPT_REFUSALS + 4)
    );
    assert_eq!(
        stats.last_refusals[KEPT_REFUSALS - 1].source,
        "1-5 contacts[5]"
    );

    // Another campaign, even one never stored, has its own tally.
    let other = sampark::domain::CampaignId::parse("never-stored").unwrap();
    assert_eq!(store.intake_stats(&other).await.unwrap(), None);
    let refused = IntakeTally {
        documents_refused: 1,
        refusals: vec![refusal(99)],
        ..IntakeTally::default()
    };
    assert!(store.record_intake(&other, "1-0", &refused).await.unwrap());
    let stats = store.intake_stats(&other).await.unwrap().unwrap();
    assert_eq!((stats.documents_refused, stats.last_refusals.len()), (1, 1));
    assert!(store.campaign_status(&other).await.unwrap().is_none());
}

pub async fn a_contact_outside_its_window_is_parked_at_ingest(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let now = store.now_ms().await.unwrap();
    let (closed, open) = (spec("c-1", "off-1"), spec("c-2", "off-2"));
    let outcomes = store
        .enqueue_batch(&[
            NewJob {
                spec: &closed,
                opens_at_ms: Some(now + 300),
            },
            NewJob {
                spec: &open,
                opens_at_ms: None,
            },
        ])
        .await
        .unwrap();
    assert_eq!(outcomes, [PutOutcome::Created, PutOutcome::Created]);
    // Only the open one is made ready; the other waits in the delayed set,
    // queued, with its reason, and is ready once its window opens.
    let entries = ready(&store, 1).await;
    assert!(entries.contains_key("c-2"), "{:?}", entries.keys());
    let parked = job(&store, "c-1").await;
    assert_eq!(parked.state, JobState::Queued);
    assert_eq!(parked.reason.as_deref(), Some("outside calling hours"));
    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.next_due_ms(), Some(now + 300));
    assert_eq!(counts(&store).await, expect_counts(&[("queued", 2)]));
    let later = ready_again(&store, "c-1").await;
    assert!(store.now_ms().await.unwrap() >= now + 300);
    assert_eq!(later.job.contact.as_str(), "c-1");
}

pub async fn an_ended_contact_keeps_no_number_and_replays_unchanged(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let dup = spec("c-2", "off-2");
    let why = "same number as contact c-1";
    let outcome = sampark::domain::Outcome::Duplicate;
    assert_eq!(
        store.enqueue_ended(&dup, outcome, why).await.unwrap(),
        PutOutcome::Created
    );
    let ended = job(&store, "c-2").await;
    assert!(ended.spec.contact.phone.is_erased(), "{:?}", ended.spec);
    assert_eq!(ended.spec.contact.office, dup.contact.office);
    // The same contact again (a replayed document) is a no-op; another
    // contact under the same id is not.
    assert_eq!(
        store.enqueue_ended(&dup, outcome, why).await.unwrap(),
        PutOutcome::Unchanged
    );
    assert_eq!(store.enqueue(&dup).await.unwrap(), PutOutcome::Unchanged);
    let mut other = dup.clone();
    other.contact.office = "Puri Sadar PS".into();
    assert_eq!(store.enqueue(&other).await.unwrap(), PutOutcome::Conflict);
    // A job ended by its call drops its number too.
    let call = spec("c-3", "off-3");
    assert_eq!(store.enqueue(&call).await.unwrap(), PutOutcome::Created);
    let entry = &ready(&store, 1).await["c-3"];
    let (granted, _) = grant(&store, entry, HOUR).await;
    let id = granted.job_ref();
    store.mark_originated(&id, 1, "CA3", HOUR).await.unwrap();
    let done = sampark::store::Finish::Terminal {
        outcome: sampark::domain::Outcome::Completed,
        reason: None,
    };
    store.finish(&id, 1, None, &done).await.unwrap();
    let completed = job(&store, "c-3").await;
    assert_eq!(
        completed.state,
        JobState::Done(sampark::domain::Outcome::Completed)
    );
    assert!(completed.spec.contact.phone.is_erased());
}

/// A batch larger than one script call (Redis: 500 contacts a call), over
/// several officials and shards, with a contact repeated (unchanged) and
/// one sent again with other data (a conflict): one outcome per contact in
/// order, each job once, the counts per campaign and per official exact.
pub async fn a_large_batch_is_created_once_and_counted_exactly(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let specs: Vec<_> = (0..1_203)
        .map(|i| spec(&format!("c-{i}"), &format!("off-{}", i % 7)))
        .collect();
    let mut changed = spec("c-5", "off-5");
    changed.contact.office = "Elsewhere".into();
    let mut jobs: Vec<NewJob> = specs
        .iter()
        .map(|spec| NewJob {
            spec,
            opens_at_ms: None,
        })
        .collect();
    jobs.push(NewJob {
        spec: &specs[3],
        opens_at_ms: None,
    });
    jobs.push(NewJob {
        spec: &changed,
        opens_at_ms: None,
    });
    let outcomes = store.enqueue_batch(&jobs).await.unwrap();
    assert_eq!(outcomes.len(), 1_205);
    assert!(outcomes[..1_203].iter().all(|o| *o == PutOutcome::Created));
    assert_eq!(
        outcomes[1_203..],
        [PutOutcome::Unchanged, PutOutcome::Conflict]
    );
    assert_eq!(counts(&store).await, expect_counts(&[("queued", 1_203)]));
    let status = store
        .campaign_status(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    for (official, queued) in &status.officials {
        let expected = (0..1_203)
            .filter(|i| format!("off-{}", i % 7) == official.as_str())
            .count();
        assert_eq!(queued.get("queued").copied(), Some(expected as u64));
    }
    assert_eq!(status.officials.len(), 7);
    assert_eq!(*job(&store, "c-5").await.spec, specs[5]);
    // Ended at intake in one batch too; a replay changes nothing.
    let (a, b) = (spec("d-1", "off-1"), spec("d-2", "off-2"));
    let ended = [
        EndedJob {
            spec: &a,
            outcome: sampark::domain::Outcome::Duplicate,
            reason: "same number",
        },
        EndedJob {
            spec: &b,
            outcome: sampark::domain::Outcome::NotSampled,
            reason: "not in the sample",
        },
    ];
    assert_eq!(
        store.enqueue_ended_batch(&ended).await.unwrap(),
        [PutOutcome::Created, PutOutcome::Created]
    );
    assert_eq!(
        store.enqueue_ended_batch(&ended).await.unwrap(),
        [PutOutcome::Unchanged, PutOutcome::Unchanged]
    );
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("queued", 1_203), ("duplicate", 1), ("not_sampled", 1)])
    );
    assert_eq!(
        job(&store, "d-2").await.state,
        JobState::Done(sampark::domain::Outcome::NotSampled)
    );
}

/// A campaign's job of another department than its campaign's (an inbound
/// call's call-back, about a visit to another department) keeps its own:
/// read back, on its ready entry (whose keys the decision names) and in its
/// record, while its campaign's other jobs keep the campaign's.
pub async fn a_job_of_another_department_keeps_its_own(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let own = spec("c-1", "off-1");
    let mut other = spec("c-2", "off-2");
    other.department = format!("{} revenue", own.department);
    let mut ended = spec("c-3", "off-1");
    ended.department = other.department.clone();
    for spec in [&own, &other] {
        assert_eq!(store.enqueue(spec).await.unwrap(), PutOutcome::Created);
    }
    let outcome = sampark::domain::Outcome::Duplicate;
    let created = store.enqueue_ended(&ended, outcome, "same number");
    assert_eq!(created.await.unwrap(), PutOutcome::Created);
    assert_eq!(job(&store, "c-1").await.spec.department, own.department);
    assert_eq!(job(&store, "c-2").await.spec.department, other.department);
    let entries = ready(&store, 2).await;
    assert_eq!(entries["c-1"].department.as_ref(), Some(&own.department));
    assert_eq!(entries["c-2"].department.as_ref(), Some(&other.department));
    let record = relayed_record(&store, "c-3").await;
    assert_eq!(record.department, other.department);
}
