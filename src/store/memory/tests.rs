//! Unit tests of the data model with a hand-driven clock: the parts where
//! time and ordering matter (pending reclaim, delayed ordering, GCRA times,
//! counts). The full contract is in `tests/store_contract.rs`.

use std::time::Duration;

use super::state::{Now, State};
use crate::domain::{
    Answer, CampaignHeader, CampaignId, Contact, ContactId, JobId, JobSpec, JobState, OfficialId,
    Outcome, PhoneNumber,
};
use crate::store::{
    Authorize, DialLimits, Finish, IvrUpdate, JobRef, Limit, Quota, ReadyEntry, Result, SaveIvr,
    ShardId, Transition,
};

const LEASE: Duration = Duration::from_secs(60);

fn at(ms: i64) -> Now {
    Now::from_us(ms * 1000)
}

fn header() -> CampaignHeader {
    CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        kind: crate::domain::CampaignKind::Survey,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: CampaignId::parse("camp").unwrap(),
        name: "Camp".into(),
        dialplan: "plan".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    }
}

fn spec(contact: &str, official: &str) -> JobSpec {
    JobSpec::new(
        &header(),
        Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse(contact).unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: None,
            official_id: OfficialId::parse(official).unwrap(),
            office: "office".into(),
            service: "service".into(),
        },
    )
}

/// Every job of these tests lives in the one shard of `State::new(1)`.
fn job(contact: &str) -> JobRef {
    JobRef::new(0, JobId::parse(&format!("camp/{contact}")).unwrap())
}

fn quota(burst: u32, secs: u64) -> Quota {
    Quota {
        burst,
        period: Duration::from_secs(secs),
    }
}

/// One shard, so every job lands in shard 0.
impl State {
    fn promote_due(&mut self, now: Now, shard: ShardId, max: usize) -> Result<usize> {
        Ok(self.promote(now, shard, max)?.promoted)
    }
}

/// Each contact of its own official, so each is made ready at once.
fn state_with(contacts: &[&str]) -> State {
    let mut s = State::new(1);
    s.put_campaign(&header());
    for c in contacts {
        s.enqueue(at(1_000), &spec(c, &format!("off-{c}")), None);
    }
    s
}

fn contacts(entries: &[ReadyEntry]) -> Vec<String> {
    entries.iter().map(|e| e.job.contact.to_string()).collect()
}

#[test]
fn unacked_ready_entries_are_reclaimed_only_after_idling() {
    let mut s = state_with(&["a", "b"]);
    let first = s.read_ready(at(2_000), &[0], "d1", 10, 5_000);
    assert_eq!(contacts(&first), ["a", "b"]);
    assert!(s.read_ready(at(6_999), &[0], "d2", 10, 5_000).is_empty());
    // d1 consumed `a` but died holding `b`: d2 gets only `b`, once idle.
    let verdict = s.authorize(
        at(3_000),
        &first[0],
        &DialLimits::official(quota(5, 1)),
        LEASE,
    );
    assert!(matches!(verdict, Ok(Authorize::Granted { .. })));
    let reclaimed = s.read_ready(at(7_000), &[0], "d2", 10, 5_000);
    assert_eq!(reclaimed, vec![first[1].clone()]);
}

/// As `enqueue.lua`'s one `LPUSH` per batch: an urgent campaign's
/// contacts held behind a backlogged official go to the head of its queue
/// in the batch's order, ahead of what was held before.
#[test]
fn an_urgent_batch_is_held_at_the_head_in_its_order() {
    let mut s = State::new(1);
    s.put_campaign(&header());
    s.enqueue(at(1_000), &spec("a", "off-1"), None);
    s.enqueue(at(1_000), &spec("b", "off-1"), None);
    let mut urgent = header();
    urgent.id = CampaignId::parse("now").unwrap();
    urgent.priority = crate::domain::Priority::Urgent;
    s.put_campaign(&urgent);
    let specs: Vec<JobSpec> = ["u1", "u2", "u3"]
        .into_iter()
        .map(|c| JobSpec::new(&urgent, spec(c, "off-1").contact))
        .collect();
    let jobs: Vec<crate::store::NewJob<'_>> = specs
        .iter()
        .map(|spec| crate::store::NewJob {
            spec,
            opens_at_ms: None,
        })
        .collect();
    s.enqueue_batch(at(1_000), &jobs);
    let held: Vec<String> = s.shards[0].held[&OfficialId::parse("off-1").unwrap()]
        .iter()
        .map(|(job, _)| job.to_string())
        .collect();
    assert_eq!(held, ["now/u1", "now/u2", "now/u3", "camp/b"]);
}

#[test]
fn gcra_delays_to_the_exact_millisecond_and_promotes_then() {
    let mut s = State::new(1);
    s.put_campaign(&header());
    for c in ["a", "b"] {
        s.enqueue(at(1_000), &spec(c, "off-1"), None);
    }
    // 2_000_000.5 ms: the allow time is rounded up, never early.
    let now = Now::from_us(2_000_000_500);
    // `b` waits behind `a`, and is made ready by `a`'s grant (a burst of 2).
    for c in ["a", "b"] {
        let entries = s.read_ready(at(2_000_001), &[0], "d", 10, 60_000);
        assert_eq!(contacts(&entries), [c]);
        assert!(matches!(
            s.authorize(now, &entries[0], &DialLimits::official(quota(2, 10)), LEASE),
            Ok(Authorize::Granted { .. })
        ));
    }
    s.enqueue(at(2_000_001), &spec("c", "off-1"), None);
    let entries = s.read_ready(at(2_000_001), &[0], "d", 10, 60_000);
    let limited = s
        .authorize(now, &entries[0], &DialLimits::official(quota(2, 10)), LEASE)
        .unwrap();
    assert_eq!(
        limited,
        Authorize::Deferred {
            until_ms: 2_010_001,
            limit: Limit::Official,
        }
    );
    let c = s.load_job(&job("c")).unwrap();
    assert_eq!(
        (c.state, c.reason.as_deref()),
        (JobState::Queued, Some("rate limited"))
    );
    assert_eq!(s.promote_due(at(2_010_000), 0, 10).unwrap(), 0);
    assert_eq!(s.promote_due(at(2_010_001), 0, 10).unwrap(), 1);
    let again = s.read_ready(at(2_010_001), &[0], "d", 10, 60_000);
    assert_eq!(contacts(&again), ["c"]);
    let verdict = s.authorize(
        Now::from_us(2_010_001 * 1000),
        &again[0],
        &DialLimits::official(quota(2, 10)),
        LEASE,
    );
    assert!(matches!(verdict, Ok(Authorize::Granted { .. })));
}

#[test]
fn promote_takes_earliest_due_first_and_requeues_retries() {
    let mut s = state_with(&["a", "b", "c"]);
    let entries = s.read_ready(at(2_000), &[0], "d", 10, 60_000);
    s.defer(at(2_000), &entries[0], 9_000, "window").unwrap();
    s.defer(at(2_000), &entries[1], 5_000, "window").unwrap();
    let granted = s.authorize(
        at(2_000),
        &entries[2],
        &DialLimits::official(quota(5, 1)),
        LEASE,
    );
    assert!(matches!(granted, Ok(Authorize::Granted { .. })));
    let retry = Finish::Retry {
        delay: Duration::from_millis(4_000),
        reason: "busy".into(),
    };
    assert_eq!(
        s.finish(at(3_000), &job("c"), 1, None, &retry).unwrap(),
        Transition::Applied
    );
    // Due order: b (5000), c (7000), a (9000); take two.
    assert_eq!(s.promote_due(at(10_000), 0, 2).unwrap(), 2);
    let ready = s.read_ready(at(10_000), &[0], "d", 10, 60_000);
    assert_eq!(contacts(&ready), ["b", "c"]);
    assert_eq!(s.load_job(&job("c")).unwrap().state, JobState::Queued);
    let counts = s.campaign_status(&header().id).unwrap().counts;
    assert_eq!(counts.get("queued"), Some(&3));
    assert_eq!(counts.len(), 1, "{counts:?}");
}

#[test]
fn counts_follow_every_transition_and_sum_to_the_contacts() {
    let mut s = state_with(&["a", "b"]);
    let entries = s.read_ready(at(2_000), &[0], "d", 10, 60_000);
    s.authorize(
        at(2_000),
        &entries[0],
        &DialLimits::official(quota(5, 1)),
        LEASE,
    )
    .unwrap();
    s.mark_originated(at(2_100), &job("a"), 1, "CA1", LEASE);
    let status = s.campaign_status(&header().id).unwrap();
    assert_eq!(status.counts.get("in_call"), Some(&1));
    assert_eq!(status.counts.get("queued"), Some(&1));
    let done = Finish::Terminal {
        outcome: Outcome::NoAnswer,
        reason: None,
    };
    s.finish(at(2_200), &job("a"), 1, None, &done).unwrap();
    let status = s.campaign_status(&header().id).unwrap();
    assert_eq!((status.total(), status.finished()), (2, 1));
    assert!(!status.counts.contains_key("in_call"));
}

#[test]
fn answers_are_stamped_and_flags_reach_the_record() {
    let mut s = state_with(&["a"]);
    let entries = s.read_ready(at(2_000), &[0], "d", 10, 60_000);
    s.authorize(
        at(2_000),
        &entries[0],
        &DialLimits::official(quota(5, 1)),
        LEASE,
    )
    .unwrap();
    s.mark_originated(at(2_100), &job("a"), 1, "CA1", LEASE);
    let answer = |flag: Option<&str>| Answer {
        question: "bribe".into(),
        digits: "1".into(),
        value: "yes".into(),
        label: "Yes".into(),
        flag: flag.map(str::to_owned),
        at_ms: -1,
    };
    let update = IvrUpdate {
        attempt: 1,
        expected_step: 0,
        session: "{}".into(),
        new_answers: vec![answer(Some("bribe_asked")), answer(Some("bribe_asked"))],
        response: "<Response/>".into(),
        attribution: None,
        bridge: None,
    };
    assert_eq!(
        s.save_ivr(at(2_500), &job("a"), &update),
        SaveIvr::Saved { step: 1 }
    );
    let done = Finish::Terminal {
        outcome: Outcome::Completed,
        reason: None,
    };
    s.finish(at(3_000), &job("a"), 1, Some(1), &done).unwrap();
    assert_eq!(
        s.relay_feedback(at(3_100), 0, 10, &crate::domain::ScoringRules::default())
            .unwrap(),
        1
    );
    let records = s.read_feedback("0", 10).unwrap();
    let record = &records[0].1;
    assert!(record.answers.iter().all(|a| a.at_ms == 2_500));
    assert_eq!(record.flags, ["bribe_asked"]);
    assert_eq!(
        (record.first_dialled_at_ms, record.finished_at_ms),
        (Some(2_100), 3_000)
    );
    assert_eq!(records[0].0, "3100-0");
}

#[test]
fn bad_shard_and_bad_cursor_are_refused() {
    let mut s = state_with(&[]);
    assert!(s.promote_due(at(1), 7, 1).is_err());
    assert!(s.due_in_flight(at(1), 1, 1).is_err());
    assert!(s.read_feedback("nope", 1).is_err());
    assert!(s.ack_intake("x-y").is_err());
}
