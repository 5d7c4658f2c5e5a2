//! Deciding how an attempt ends: the retry policy, as a pure function.
//!
//! | call ended as            | IVR session          | decision                          |
//! |--------------------------|----------------------|-----------------------------------|
//! | completed (answered)     | completed            | terminal `completed`              |
//! | completed (answered)     | opted out            | terminal `opted_out`              |
//! | completed (answered)     | started, no input ever received | retry, else terminal `partial` |
//! | completed (answered)     | started, unfinished  | terminal `partial` (answers kept) |
//! | completed (answered)     | never started        | retry, else terminal `failed`     |
//! | any but canceled, answered by a machine or fax (AMD) | — | retry, else terminal `machine` |
//! | busy / no-answer / failed| —                    | retry, else terminal same outcome |
//! | canceled                 | —                    | terminal `cancelled`              |
//! | originate refused        | —                    | terminal `failed` with the reason |
//! | originate not placed     | —                    | retry, else terminal `failed`     |
//!
//! "Retry" means: if fewer than `max_attempts` calls were placed, wait the
//! backoff for the number of calls placed so far. A campaign's retry ladder
//! (`after_call_with`, `after_machine`) replaces the attempts and, for the
//! outcomes it names (`busy`, `no_answer`, `failed`, `no_input`, `machine`),
//! the waits.

use std::time::Duration;

use crate::dialplan::SessionStatus;
use crate::domain::{CallStatus, Outcome, RetryLadder, stable_fraction};
use crate::provider::AnsweredBy;
use crate::store::{Finish, Job};

/// How often and how patiently to retry a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls placed at most per contact.
    pub max_attempts: u32,
    /// Wait after the n-th unsuccessful call (the last value repeats).
    pub backoff: Vec<Duration>,
}

impl RetryPolicy {
    fn delay_after(&self, dials: u32) -> Duration {
        let i = (dials.max(1) - 1) as usize;
        self.backoff
            .get(i)
            .or(self.backoff.last())
            .copied()
            .unwrap_or(Duration::from_secs(300))
    }

    /// Retry if attempts remain, else end with `outcome`.
    pub fn retry_or(&self, job: &Job, outcome: Outcome, reason: String) -> Finish {
        if job.dials < self.max_attempts {
            Finish::Retry {
                delay: self.delay_after(job.dials),
                reason,
            }
        } else {
            Finish::Terminal {
                outcome,
                reason: Some(reason),
            }
        }
    }
}

/// The decision for a call that reached a terminal provider status.
pub fn after_call(
    job: &Job,
    status: CallStatus,
    session: Option<SessionStatus>,
    policy: &RetryPolicy,
) -> Finish {
    let terminal = |outcome, reason: Option<&str>| Finish::Terminal {
        outcome,
        reason: reason.map(str::to_owned),
    };
    match (status, session) {
        (CallStatus::Completed, Some(SessionStatus::Completed)) => {
            terminal(Outcome::Completed, None)
        }
        (CallStatus::Completed, Some(SessionStatus::OptedOut)) => {
            terminal(Outcome::OptedOut, Some("citizen pressed the opt-out key"))
        }
        (CallStatus::Completed, Some(SessionStatus::Abandoned)) => terminal(
            Outcome::Partial,
            Some("survey ended early (too many invalid or empty inputs)"),
        ),
        // No gather ever came back: the citizen may have heard nothing at
        // all (e.g. the instance died before its first reply reached the
        // provider), so this is not a survey they chose to leave.
        (CallStatus::Completed, Some(SessionStatus::InProgress))
            if job.answers.is_empty() && job.ivr_step <= 1 =>
        {
            policy.retry_or(
                job,
                Outcome::Partial,
                "answered, but no key press ever reached us".into(),
            )
        }
        (CallStatus::Completed, Some(SessionStatus::InProgress)) => {
            terminal(Outcome::Partial, Some("citizen hung up during the survey"))
        }
        (CallStatus::Completed, None) => policy.retry_or(
            job,
            Outcome::Failed,
            "call connected but the survey never started".into(),
        ),
        (CallStatus::Busy, _) => policy.retry_or(job, Outcome::Busy, "line busy".into()),
        (CallStatus::NoAnswer, _) => policy.retry_or(job, Outcome::NoAnswer, "no answer".into()),
        (CallStatus::Canceled, _) => terminal(Outcome::Cancelled, Some("call canceled")),
        (CallStatus::Failed, _) | (_, _) => policy.retry_or(
            job,
            Outcome::Failed,
            "provider reported the call failed".into(),
        ),
    }
}

/// `after_call` under a campaign's retry ladder (see `laddered`).
pub fn after_call_with(
    job: &Job,
    status: CallStatus,
    session: Option<SessionStatus>,
    policy: &RetryPolicy,
    ladder: Option<&RetryLadder>,
) -> Finish {
    let decide = |p: &RetryPolicy| after_call(job, status, session, p);
    let Some(ladder) = ladder else {
        return decide(policy);
    };
    let waits = match (status, session) {
        (CallStatus::Busy, _) => ladder.busy.as_ref(),
        (CallStatus::NoAnswer, _) => ladder.no_answer.as_ref(),
        (CallStatus::Completed, _) => ladder.no_input.as_ref(),
        _ => ladder.failed.as_ref(),
    };
    laddered(job, policy, ladder, waits, decide)
}

/// The decision for a call that `by` (a machine or fax, per the provider's
/// answering-machine detection) picked up and that sampark hung up on:
/// retried like an unanswered call — the ladder's `machine` waits, else the
/// daemon's backoff — and once attempts run out the contact ends `machine`.
/// Only an operator's cancellation (`canceled`) ends it otherwise.
pub fn after_machine(
    job: &Job,
    status: CallStatus,
    by: AnsweredBy,
    policy: &RetryPolicy,
    ladder: Option<&RetryLadder>,
) -> Finish {
    let reason = match by {
        AnsweredBy::Fax => "a fax machine answered",
        _ => "an answering machine answered",
    };
    let decide = |p: &RetryPolicy| match status {
        CallStatus::Canceled => Finish::Terminal {
            outcome: Outcome::Cancelled,
            reason: Some("call canceled".into()),
        },
        _ => p.retry_or(job, Outcome::Machine, reason.into()),
    };
    match ladder {
        None => decide(policy),
        Some(ladder) => laddered(job, policy, ladder, ladder.machine.as_ref(), decide),
    }
}

/// `decide` under a campaign's retry ladder: its `max_attempts` replaces
/// the daemon's, and when the outcome has its own `waits` it waits those
/// (the last wait repeats, with ±10% jitter so a batch of busy lines does
/// not come back at once; an empty ladder never retries that outcome).
fn laddered(
    job: &Job,
    policy: &RetryPolicy,
    ladder: &RetryLadder,
    waits: Option<&Vec<u64>>,
    decide: impl Fn(&RetryPolicy) -> Finish,
) -> Finish {
    let effective = RetryPolicy {
        max_attempts: ladder.max_attempts.unwrap_or(policy.max_attempts),
        backoff: policy.backoff.clone(),
    };
    let finish = decide(&effective);
    let Finish::Retry { reason, .. } = &finish else {
        return finish;
    };
    match waits {
        None => finish,
        Some(waits) if waits.is_empty() => {
            // The campaign does not retry this outcome: end as if spent.
            let spent = RetryPolicy {
                max_attempts: 0,
                backoff: Vec::new(),
            };
            match decide(&spent) {
                Finish::Terminal { outcome, .. } => Finish::Terminal {
                    outcome,
                    reason: Some(format!("{reason}; the campaign does not retry it")),
                },
                other => other,
            }
        }
        Some(waits) => {
            let i = (job.dials.max(1) - 1) as usize;
            let wait = waits.get(i).or(waits.last()).copied().unwrap_or(0);
            Finish::Retry {
                delay: jittered(wait, job),
                reason: reason.clone(),
            }
        }
    }
}

/// `wait_ms` ± 10%, the same for the same job and attempt.
fn jittered(wait_ms: u64, job: &Job) -> Duration {
    let key = job
        .id
        .to_string()
        .into_bytes()
        .into_iter()
        .chain(job.attempt.to_le_bytes());
    // A factor in [0.9, 1.1].
    let factor = 0.9 + 0.2 * stable_fraction(key);
    Duration::from_millis((wait_ms as f64 * factor) as u64)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{
        CampaignHeader, CampaignId, Contact, ContactId, JobSpec, JobState, OfficialId, PhoneNumber,
    };

    pub(crate) fn job(dials: u32) -> Job {
        let header = CampaignHeader {
            priority: Default::default(),
            retry: None,
            calling_window: None,
            machine_detection: false,
            kind: crate::domain::CampaignKind::Survey,
            sample_rate: None,
            sample_max_per_office_per_day: None,
            freshness: Default::default(),
            id: CampaignId::parse("c").unwrap(),
            name: "n".into(),
            dialplan: "d".into(),
            caller_id: PhoneNumber::parse("+916742000000").unwrap(),
            department: "home".into(),
        };
        let contact = Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse("k").unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: None,
            official_id: OfficialId::parse("o").unwrap(),
            office: "o".into(),
            service: "s".into(),
        };
        let spec = JobSpec::new(&header, contact);
        Job {
            id: spec.job_id(),
            shard: 0,
            spec: spec.into(),
            state: JobState::InCall,
            attempt: dials,
            dials,
            call_sid: None,
            past_call_sids: Vec::new(),
            status_rank: 0,
            call_status: None,
            ivr: None,
            attribution: None,
            bridge: None,
            ivr_step: 0,
            answers: vec![],
            last_response: None,
            reason: None,
            queued_at_ms: 0,
            first_dialled_at_ms: None,
            dial_started_at_ms: None,
            updated_at_ms: 0,
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_secs(60), Duration::from_secs(600)],
        }
    }

    #[test]
    fn answered_calls_end_by_session() {
        let p = policy();
        let mut j = job(1);
        // The citizen pressed keys at two gathers.
        j.ivr_step = 3;
        let out = |s| match after_call(&j, CallStatus::Completed, Some(s), &p) {
            Finish::Terminal { outcome, .. } => outcome,
            other => panic!("{other:?}"),
        };
        assert_eq!(out(SessionStatus::Completed), Outcome::Completed);
        assert_eq!(out(SessionStatus::OptedOut), Outcome::OptedOut);
        assert_eq!(out(SessionStatus::InProgress), Outcome::Partial);
        assert_eq!(out(SessionStatus::Abandoned), Outcome::Partial);
    }

    #[test]
    fn an_answered_call_with_no_input_at_all_is_redialled() {
        let p = policy();
        let mut j = job(1);
        j.ivr_step = 1;
        assert!(matches!(
            after_call(
                &j,
                CallStatus::Completed,
                Some(SessionStatus::InProgress),
                &p
            ),
            Finish::Retry { .. }
        ));
        let mut last = job(3);
        last.ivr_step = 1;
        assert!(matches!(
            after_call(
                &last,
                CallStatus::Completed,
                Some(SessionStatus::InProgress),
                &p
            ),
            Finish::Terminal {
                outcome: Outcome::Partial,
                ..
            }
        ));
        // One gather came back (even an empty one): the citizen was there.
        j.ivr_step = 2;
        assert!(matches!(
            after_call(
                &j,
                CallStatus::Completed,
                Some(SessionStatus::InProgress),
                &p
            ),
            Finish::Terminal {
                outcome: Outcome::Partial,
                ..
            }
        ));
    }

    #[test]
    fn a_campaign_ladder_sets_waits_attempts_and_what_never_retries() {
        let p = policy();
        let ladder = RetryLadder {
            max_attempts: Some(5),
            busy: Some(vec![600_000, 3_600_000]),
            no_answer: Some(Vec::new()),
            failed: None,
            no_input: None,
            machine: None,
        };
        let with = |dials, status| after_call_with(&job(dials), status, None, &p, Some(&ladder));
        let delay = |f: Finish| match f {
            Finish::Retry { delay, .. } => delay,
            other => panic!("{other:?}"),
        };
        let first = delay(with(1, CallStatus::Busy));
        assert!(
            (540_000..=660_000).contains(&(first.as_millis() as u64)),
            "{first:?}"
        );
        let later = delay(with(4, CallStatus::Busy));
        assert!((3_240_000..=3_960_000).contains(&(later.as_millis() as u64)));
        // Jitter is stable for one attempt.
        assert_eq!(delay(with(1, CallStatus::Busy)), first);
        // Five attempts, not the daemon's three.
        assert!(matches!(
            with(5, CallStatus::Busy),
            Finish::Terminal {
                outcome: Outcome::Busy,
                ..
            }
        ));
        // No answer: never retried in this campaign.
        match with(1, CallStatus::NoAnswer) {
            Finish::Terminal { outcome, reason } => {
                assert_eq!(outcome, Outcome::NoAnswer);
                assert!(reason.unwrap().contains("does not retry"));
            }
            other => panic!("{other:?}"),
        }
        // Failed is not named: the daemon's backoff (with the ladder's cap).
        assert_eq!(delay(with(3, CallStatus::Failed)), Duration::from_secs(600));
        assert_eq!(
            after_call_with(&job(1), CallStatus::Busy, None, &p, None),
            after_call(&job(1), CallStatus::Busy, None, &p)
        );
    }

    #[test]
    fn a_machine_pick_up_is_retried_then_ends_machine() {
        let p = policy();
        let status = CallStatus::Completed;
        let machine = AnsweredBy::Machine;
        // No campaign ladder: the daemon's backoff and attempts.
        assert_eq!(
            after_machine(&job(1), status, machine, &p, None),
            Finish::Retry {
                delay: Duration::from_secs(60),
                reason: "an answering machine answered".into()
            }
        );
        assert_eq!(
            after_machine(&job(3), status, machine, &p, None),
            Finish::Terminal {
                outcome: Outcome::Machine,
                reason: Some("an answering machine answered".into())
            }
        );
        assert!(matches!(
            after_machine(&job(3), status, AnsweredBy::Fax, &p, None),
            Finish::Terminal { outcome: Outcome::Machine, reason: Some(r) } if r == "a fax machine answered"
        ));
        // The campaign's `machine` ladder, and its attempts.
        let ladder = RetryLadder {
            max_attempts: Some(4),
            busy: Some(vec![1_000]),
            machine: Some(vec![1_800_000, 7_200_000]),
            ..RetryLadder::default()
        };
        let delay = |dials| match after_machine(&job(dials), status, machine, &p, Some(&ladder)) {
            Finish::Retry { delay, .. } => delay.as_millis() as u64,
            other => panic!("{other:?}"),
        };
        assert!((1_620_000..=1_980_000).contains(&delay(1)), "{}", delay(1));
        assert!((6_480_000..=7_920_000).contains(&delay(3)), "{}", delay(3));
        assert!(matches!(
            after_machine(&job(4), status, machine, &p, Some(&ladder)),
            Finish::Terminal {
                outcome: Outcome::Machine,
                ..
            }
        ));
        // A ladder without `machine`: the daemon's waits, the ladder's cap.
        let no_key = RetryLadder {
            max_attempts: Some(4),
            ..RetryLadder::default()
        };
        assert_eq!(
            after_machine(&job(3), status, machine, &p, Some(&no_key)),
            Finish::Retry {
                delay: Duration::from_secs(600),
                reason: "an answering machine answered".into()
            }
        );
        // `machine: []`: never retried.
        let never = RetryLadder {
            machine: Some(Vec::new()),
            ..RetryLadder::default()
        };
        match after_machine(&job(1), status, machine, &p, Some(&never)) {
            Finish::Terminal { outcome, reason } => {
                assert_eq!(outcome, Outcome::Machine);
                let reason = reason.unwrap();
                assert!(reason.contains("answering machine"), "{reason}");
                assert!(reason.contains("does not retry"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // An operator's cancellation still ends the contact `cancelled`.
        assert!(matches!(
            after_machine(&job(1), CallStatus::Canceled, machine, &p, Some(&ladder)),
            Finish::Terminal {
                outcome: Outcome::Cancelled,
                ..
            }
        ));
    }

    #[test]
    fn unanswered_calls_retry_with_backoff_then_end() {
        let p = policy();
        assert_eq!(
            after_call(&job(1), CallStatus::Busy, None, &p),
            Finish::Retry {
                delay: Duration::from_secs(60),
                reason: "line busy".into()
            }
        );
        assert!(matches!(
            after_call(&job(2), CallStatus::NoAnswer, None, &p),
            Finish::Retry { delay, .. } if delay == Duration::from_secs(600)
        ));
        assert!(matches!(
            after_call(&job(3), CallStatus::NoAnswer, None, &p),
            Finish::Terminal {
                outcome: Outcome::NoAnswer,
                ..
            }
        ));
        assert!(matches!(
            after_call(&job(1), CallStatus::Canceled, None, &p),
            Finish::Terminal {
                outcome: Outcome::Cancelled,
                ..
            }
        ));
    }
}
