//! Dial-limit contracts: every limit is checked in the one authorising step,
//! before any is spent. The citizen's rolling caps count placed calls across
//! campaigns and give a never-placed attempt's unit back; opt-outs end the
//! contact; a department's quota is shared by its officials; the live-call
//! cap counts calls in progress; the provider's rate keeps the entry in hand.

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CampaignId, JobState, Outcome, PhoneNumber, Priority};
use sampark::store::{
    Authorize, CitizenCaps, DialLimits, Limit, PutOutcome, Quota, Store, Transition,
};

use super::helpers::*;
use super::support::eventually;

const DAY_MS: i64 = 86_400_000;

fn caps(per_day: u32, per_week: u32) -> DialLimits {
    DialLimits {
        citizen: CitizenCaps { per_day, per_week },
        ..DialLimits::official(OPEN)
    }
}

async fn deferred(store: &Arc<dyn Store>, contact: &str, limits: &DialLimits) -> (i64, Limit) {
    let entry = ready_again(store, contact).await;
    match store.authorize(&entry, limits, HOUR).await.unwrap() {
        Authorize::Deferred { until_ms, limit } => (until_ms, limit),
        other => panic!("{contact}: expected Deferred, got {other:?}"),
    }
}

pub async fn citizen_caps_roll_across_campaigns_and_refund(store: Arc<dyn Store>) {
    // Every contact of `spec` has the same number; `c-9` is in a second campaign.
    let mut other = header();
    other.id = CampaignId::parse("health-1").unwrap();
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-2"), ("c-3", "off-3")],
    )
    .await;
    store.put_campaign(&other).await.unwrap();
    let mut elsewhere = spec("c-9", "off-4");
    elsewhere.campaign_id = other.id.clone();
    assert_eq!(
        store.enqueue(&elsewhere).await.unwrap(),
        PutOutcome::Created
    );
    let entries = ready(&store, 4).await;
    let day = caps(2, 0);
    let (first, first_at) = match store.authorize(&entries["c-1"], &day, HOUR).await.unwrap() {
        Authorize::Granted { job, now_ms } => (*job, now_ms),
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        store.authorize(&entries["c-9"], &day, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
    // Two calls in 24 hours, across both campaigns: the third waits until
    // the first leaves the window.
    let verdict = store.authorize(&entries["c-2"], &day, HOUR).await.unwrap();
    let Authorize::Deferred {
        until_ms,
        limit: Limit::Citizen,
    } = verdict
    else {
        panic!("expected the citizen's cap, got {verdict:?}");
    };
    // On a Redis Cluster the citizen's unit is spent in the citizen's slot
    // a few milliseconds before the grant (`redis/authorize_slots.rs`).
    assert!((first_at + DAY_MS - 1_000..=first_at + DAY_MS + 1_000).contains(&until_ms));
    let waiting = job(&store, "c-2").await;
    assert_eq!((waiting.state, waiting.attempt), (JobState::Queued, 0));
    assert_eq!(
        waiting.reason.as_deref(),
        Some("citizen's call cap reached")
    );
    // The first call was never placed: its unit comes back, once.
    store
        .requeue(&first.job_ref(), first.attempt, Duration::ZERO, "throttled")
        .await
        .unwrap();
    store.citizen_refund(&first).await.unwrap();
    store.citizen_refund(&first).await.unwrap();
    assert!(matches!(
        store.authorize(&entries["c-3"], &day, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
    // Full again: c-1 (back on the ready stream) waits.
    assert_eq!(deferred(&store, "c-1", &day).await.1, Limit::Citizen);
    // A weekly cap of 2 holds too, even with room in the day: until the
    // older of the two calls (c-9's) leaves the week.
    assert_eq!(
        store.enqueue(&spec("c-8", "off-8")).await.unwrap(),
        PutOutcome::Created
    );
    let (until, limit) = deferred(&store, "c-8", &caps(10, 2)).await;
    assert_eq!(limit, Limit::Citizen);
    assert!(
        (first_at + 7 * DAY_MS..=first_at + 7 * DAY_MS + 1_000).contains(&until),
        "until {until}"
    );
    // Another number is not held by this one's calls.
    let mut fresh = spec("c-5", "off-5");
    fresh.contact.phone = PhoneNumber::parse("+919876500000").unwrap();
    assert_eq!(store.enqueue(&fresh).await.unwrap(), PutOutcome::Created);
    let entry = ready_again(&store, "c-5").await;
    assert!(matches!(
        store.authorize(&entry, &day, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
}

pub async fn opted_out_citizens_are_never_dialled(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1")]).await;
    let entries = ready(&store, 1).await;
    store
        .record_opt_out(&PhoneNumber::parse("+919876543210").unwrap())
        .await
        .unwrap();
    assert_eq!(
        store
            .authorize(&entries["c-1"], &caps(2, 5), HOUR)
            .await
            .unwrap(),
        Authorize::OptedOut
    );
    let ended = job(&store, "c-1").await;
    assert_eq!(
        (ended.state, ended.attempt),
        (JobState::Done(Outcome::OptedOut), 0)
    );
    let record = relayed_record(&store, "c-1").await;
    assert_eq!(record.outcome, Outcome::OptedOut);
    assert_eq!(record.reason.as_deref(), Some("citizen opted out earlier"));
}

/// A dial held by one limit spends none of the others: the official's
/// token and the department's stay for the next contact.
pub async fn a_held_dial_spends_nothing_and_departments_share_a_quota(store: Arc<dyn Store>) {
    // off-1's later contacts are queued once c-1 is decided, so that each
    // is made ready (not held behind c-1) and decided here.
    seed(&store, &[("c-1", "off-1"), ("c-3", "off-2")]).await;
    let mut entries = ready(&store, 2).await;
    let one = Quota {
        burst: 1,
        period: Duration::from_secs(3600),
    };
    let limits = DialLimits {
        official: one,
        department: Some(Quota {
            burst: 2,
            period: Duration::from_secs(3600),
        }),
        citizen: CitizenCaps {
            per_day: 1,
            per_week: 0,
        },
        ..DialLimits::official(OPEN)
    };
    // c-1 takes off-1's token, the department's first and the citizen's day.
    assert!(matches!(
        store
            .authorize(&entries["c-1"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
    // c-3 (off-2, same number) is held by the citizen's cap: the department's
    // second unit is not spent.
    let verdict = store
        .authorize(&entries["c-3"], &limits, HOUR)
        .await
        .unwrap();
    assert!(
        matches!(
            verdict,
            Authorize::Deferred {
                limit: Limit::Citizen,
                ..
            }
        ),
        "{verdict:?}"
    );
    // c-2 (off-1 again): the official's quota and the citizen's cap both
    // hold; it waits for the later of the two (the citizen's day).
    seed(&store, &[("c-2", "off-1")]).await;
    entries.extend(ready(&store, 1).await);
    let verdict = store
        .authorize(&entries["c-2"], &limits, HOUR)
        .await
        .unwrap();
    assert!(
        matches!(
            verdict,
            Authorize::Deferred {
                limit: Limit::Citizen,
                ..
            }
        ),
        "{verdict:?}"
    );
    // c-4 (off-1, another number): off-1's token is gone.
    let mut fresh = spec("c-4", "off-1");
    fresh.contact.phone = PhoneNumber::parse("+919876500000").unwrap();
    assert_eq!(store.enqueue(&fresh).await.unwrap(), PutOutcome::Created);
    entries.extend(ready(&store, 1).await);
    let verdict = store
        .authorize(&entries["c-4"], &limits, HOUR)
        .await
        .unwrap();
    assert!(
        matches!(
            verdict,
            Authorize::Deferred {
                limit: Limit::Official,
                ..
            }
        ),
        "{verdict:?}"
    );
    // None of the held dials spent the department's second unit: another
    // official's contact takes it, and after that the department holds
    // every official.
    for (contact, official, phone) in [
        ("c-6", "off-7", "+919876500001"),
        ("c-7", "off-8", "+919876500002"),
    ] {
        let mut s = spec(contact, official);
        s.contact.phone = PhoneNumber::parse(phone).unwrap();
        assert_eq!(store.enqueue(&s).await.unwrap(), PutOutcome::Created);
    }
    let more = ready(&store, 2).await;
    assert!(matches!(
        store.authorize(&more["c-6"], &limits, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
    let verdict = store.authorize(&more["c-7"], &limits, HOUR).await.unwrap();
    assert!(
        matches!(
            verdict,
            Authorize::Deferred {
                limit: Limit::Department,
                ..
            }
        ),
        "{verdict:?}"
    );
}

pub async fn live_calls_are_capped_fleet_wide(store: Arc<dyn Store>) {
    let mut jobs = Vec::new();
    for (i, official) in ["off-1", "off-2", "off-3"].iter().enumerate() {
        let mut s = spec(&format!("c-{i}"), official);
        s.contact.phone = PhoneNumber::parse(&format!("+91987650000{i}")).unwrap();
        jobs.push(s);
    }
    store.put_campaign(&header()).await.unwrap();
    for s in &jobs {
        store.enqueue(s).await.unwrap();
    }
    let entries = ready(&store, 3).await;
    let limits = DialLimits {
        max_live_calls: Some(2),
        live_recheck: Duration::from_millis(500),
        ..DialLimits::official(OPEN)
    };
    let (first, _) = match store
        .authorize(&entries["c-0"], &limits, HOUR)
        .await
        .unwrap()
    {
        Authorize::Granted { job, now_ms } => (*job, now_ms),
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        store
            .authorize(&entries["c-1"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
    let now = store.now_ms().await.unwrap();
    let verdict = store
        .authorize(&entries["c-2"], &limits, HOUR)
        .await
        .unwrap();
    let Authorize::Deferred {
        until_ms,
        limit: Limit::LiveCalls,
    } = verdict
    else {
        panic!("expected the live-call cap, got {verdict:?}");
    };
    assert!((now..=now + 1_500).contains(&until_ms));
    // A call ends: there is room again.
    store
        .finish(
            &first.job_ref(),
            first.attempt,
            None,
            &terminal(Outcome::NoAnswer),
        )
        .await
        .unwrap();
    let entry = ready_again(&store, "c-2").await;
    assert!(matches!(
        store.authorize(&entry, &limits, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
}

pub async fn the_provider_rate_keeps_the_entry_in_hand(store: Arc<dyn Store>) {
    let mut jobs = Vec::new();
    for i in 0..2 {
        let mut s = spec(&format!("c-{i}"), &format!("off-{i}"));
        s.contact.phone = PhoneNumber::parse(&format!("+91987650000{i}")).unwrap();
        jobs.push(s);
    }
    store.put_campaign(&header()).await.unwrap();
    for s in &jobs {
        store.enqueue(s).await.unwrap();
    }
    let entries = ready(&store, 2).await;
    let limits = DialLimits {
        provider: Some(Quota {
            burst: 1,
            period: Duration::from_millis(300),
        }),
        ..DialLimits::official(OPEN)
    };
    assert!(matches!(
        store
            .authorize(&entries["c-0"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
    let verdict = store
        .authorize(&entries["c-1"], &limits, HOUR)
        .await
        .unwrap();
    let Authorize::ProviderBusy { wait } = verdict else {
        panic!("expected to wait for the provider, got {verdict:?}");
    };
    assert!(wait <= Duration::from_millis(300), "{wait:?}");
    let held = job(&store, "c-1").await;
    assert_eq!((held.state, held.attempt), (JobState::Queued, 0));
    // The same entry, asked about again after the wait, is granted.
    tokio::time::sleep(wait + Duration::from_millis(5)).await;
    assert!(matches!(
        store
            .authorize(&entries["c-1"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
}

/// An urgent campaign's contacts are read before a normal campaign's
/// entries, and queue at the head of a backlogged official's held queue.
pub async fn urgent_campaigns_are_read_first(store: Arc<dyn Store>) {
    seed(
        &store,
        &[
            ("c-1", "off-1"),
            ("c-2", "off-1"),
            ("c-3", "off-1"),
            ("c-4", "off-2"),
        ],
    )
    .await;
    let mut urgent = header();
    urgent.id = CampaignId::parse("urgent-1").unwrap();
    urgent.priority = Priority::Urgent;
    store.put_campaign(&urgent).await.unwrap();
    for (contact, official) in [("u-1", "off-1"), ("u-2", "off-3")] {
        let mut spec_u = spec(contact, official);
        spec_u.campaign_id = urgent.id.clone();
        spec_u.priority = Priority::Urgent;
        assert_eq!(store.enqueue(&spec_u).await.unwrap(), PutOutcome::Created);
    }
    // The urgent stream first; off-1's backlog is one entry (c-1), and its
    // urgent contact waits at the head of its held queue.
    let first = store.read_ready("dialer", 10, HOUR).await.unwrap();
    let mut order: Vec<(String, bool)> = first
        .iter()
        .map(|e| (e.job.contact.to_string(), e.urgent))
        .collect();
    assert_eq!(order[0], ("u-2".to_owned(), true), "{order:?}");
    order[1..].sort();
    assert_eq!(
        order[1..],
        [("c-1".to_owned(), false), ("c-4".to_owned(), false)]
    );
    let c1 = first.iter().find(|e| e.job.contact.as_str() == "c-1");
    let limits = DialLimits {
        official: Quota {
            burst: 1,
            period: Duration::from_millis(200),
        },
        ..DialLimits::official(OPEN)
    };
    assert!(matches!(
        store.authorize(c1.unwrap(), &limits, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
    // Due again, off-1's next is the urgent contact, ahead of its backlog.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let next = ready_again(&store, "u-1").await;
    assert!(next.urgent);
    assert!(matches!(
        store.authorize(&next, &limits, HOUR).await.unwrap(),
        Authorize::Granted { .. }
    ));
}

/// `campaign status`'s reasons: a retry, a deferral and a parked job, each
/// with when it comes due.
pub async fn waiting_contacts_are_grouped_by_reason(store: Arc<dyn Store>) {
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-2"), ("c-3", "off-3")],
    )
    .await;
    let entries = ready(&store, 3).await;
    let now = store.now_ms().await.unwrap();
    let (job, _) = grant(&store, &entries["c-1"], HOUR).await;
    store
        .finish(
            &job.job_ref(),
            job.attempt,
            None,
            &retry(Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    store
        .defer(&entries["c-2"], now + 7_200_000, "outside calling hours")
        .await
        .unwrap();
    store
        .control_campaign(&campaign_id(), sampark::store::CampaignAction::Pause)
        .await
        .unwrap();
    assert_eq!(
        store
            .authorize(&entries["c-3"], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Parked
    );
    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.parked, 1);
    let reasons: Vec<(&str, u64)> = waiting
        .reasons
        .iter()
        .map(|r| (r.reason.as_str(), r.contacts))
        .collect();
    assert_eq!(
        reasons,
        [("outside calling hours", 1), ("retry delay", 1)],
        "{waiting:?}"
    );
    let retry_due = waiting.reasons[1].first_due_ms;
    assert!(
        (now + 3_600_000..now + 3_700_000).contains(&retry_due),
        "{retry_due}"
    );
    assert_eq!(waiting.reasons[0].first_due_ms, now + 7_200_000);
    assert_eq!(waiting.next_due_ms(), Some(retry_due));
}

/// Jobs queued behind their official wait in the official's queue, in
/// order: when the official is due exactly one job (the head) is made
/// ready, and only after it is decided is the next one due, at the
/// official's next allow time. Nothing is made ready before.
pub async fn an_officials_held_jobs_come_back_one_at_a_time(store: Arc<dyn Store>) {
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-1"), ("c-3", "off-1")],
    )
    .await;
    // Queued together, only the first is made ready: c-2 and c-3 wait in
    // off-1's queue from ingest on, not one decision each.
    let entries = ready(&store, 1).await;
    let limits = DialLimits::official(Quota {
        burst: 1,
        period: Duration::from_millis(300),
    });
    let shard = entries["c-1"].shard;
    assert_eq!(
        store.promote(shard, 100).await.unwrap().promoted,
        0,
        "nothing more of off-1 before c-1 is decided"
    );
    grant_with(&store, &entries["c-1"], &limits).await;
    let early = store.promote(shard, 100).await.unwrap();
    assert_eq!(early.promoted, 0, "nothing before the allow time");
    let due = early.next_due_ms.expect("the official is scheduled");
    assert!(due > early.now_ms);
    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    assert_eq!(waiting.reasons[0].reason, "rate limited");
    assert_eq!(waiting.reasons[0].contacts, 2);
    assert_eq!(waiting.reasons[0].first_due_ms, due);

    let head = eventually(WAIT, "the official due", || {
        let store = store.clone();
        async move {
            let found = store.promote(shard, 100).await.unwrap();
            (found.promoted > 0).then_some(found)
        }
    })
    .await;
    assert_eq!(head.promoted, 1, "one job per official at a time");
    assert!(head.now_ms >= due);
    assert!(head.ready);
    let next = store.read_ready("dialer", 100, HOUR).await.unwrap();
    let order: Vec<&str> = next.iter().map(|e| e.job.contact.as_str()).collect();
    assert_eq!(order, ["c-2"], "the head, in arrival order");
    // While the head is being decided the official is not promoted again.
    assert_eq!(store.promote(shard, 100).await.unwrap().promoted, 0);
    let (granted, granted_at) = grant_with(&store, &next[0], &limits).await;
    // What shutdown reads of the calls it placed: the live attempt only.
    let waiting_ref = job_ref(&store, "c-3", "off-1");
    assert_eq!(
        store
            .live_attempts(&[granted.job_ref(), waiting_ref])
            .await
            .unwrap(),
        [Some(1), None]
    );
    // Decided: the next job is due at the official's next allow time.
    let after = store.promote(shard, 100).await.unwrap();
    assert_eq!(after.promoted, 0);
    let next_due = after.next_due_ms.expect("c-3 still waits");
    assert!(
        (granted_at + 299..=granted_at + 301).contains(&next_due),
        "due {next_due}, granted {granted_at}"
    );
}

/// An entry deferred by its calling window gives its official's place to
/// the next held job at once (due now, not when the promotion lease runs
/// out); an official with nothing more held leaves the schedule, so only
/// the deferred job's opening is due.
pub async fn a_deferred_entry_passes_its_officials_place_on(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-1")]).await;
    let entries = ready(&store, 1).await;
    let shard = entries["c-1"].shard;
    let now = store.now_ms().await.unwrap();
    let opening = now + 7_200_000;
    assert_eq!(
        store
            .defer(&entries["c-1"], opening, "outside calling hours")
            .await
            .unwrap(),
        Transition::Applied
    );
    let promoted = store.promote(shard, 100).await.unwrap();
    assert_eq!(
        promoted.promoted, 1,
        "c-2 is due as soon as c-1 is deferred"
    );
    let next = store.read_ready("dialer", 100, HOUR).await.unwrap();
    let order: Vec<&str> = next.iter().map(|e| e.job.contact.as_str()).collect();
    assert_eq!(order, ["c-2"]);
    // c-2 deferred too: nothing of off-1 is held, nothing is due before the
    // opening (no promotion lease left behind).
    store
        .defer(&next[0], opening, "outside calling hours")
        .await
        .unwrap();
    let after = store.promote(shard, 100).await.unwrap();
    assert_eq!(after.promoted, 0);
    assert_eq!(after.next_due_ms, Some(opening));
}

/// A decision reports what it left the entry's shard holding
/// (`authorize_and_look`: every store here, Redis on a single node and on a
/// cluster), so the dialer need not probe the shard: here the official's
/// next held job due at its allow time, and no ready entry.
pub async fn a_decision_reports_what_its_shard_holds(store: Arc<dyn Store>) {
    seed(&store, &[("c-1", "off-1"), ("c-2", "off-1")]).await;
    let entries = ready(&store, 1).await;
    let limits = DialLimits::official(Quota {
        burst: 1,
        period: Duration::from_millis(300),
    });
    let (verdict, looked) = store
        .authorize_and_look(&entries["c-1"], &limits, HOUR)
        .await
        .unwrap();
    let Authorize::Granted { now_ms, .. } = verdict else {
        panic!("expected Granted, got {verdict:?}");
    };
    let looked = looked.expect("the shard reported with the decision");
    assert!(!looked.ready, "c-1's entry consumed, c-2 held: {looked:?}");
    let due = looked.next_due_ms.expect("c-2 waits for the official");
    assert!(
        (now_ms + 299..=now_ms + 301).contains(&due),
        "due {due}, granted {now_ms}"
    );
    assert_eq!(looked.now_ms, now_ms);
}

async fn grant_with(
    store: &Arc<dyn Store>,
    entry: &sampark::store::ReadyEntry,
    limits: &DialLimits,
) -> (sampark::store::Job, i64) {
    match store.authorize(entry, limits, HOUR).await.unwrap() {
        Authorize::Granted { job, now_ms } => (*job, now_ms),
        other => panic!("expected Granted, got {other:?}"),
    }
}
