//! The simulator's ledger seen as the outbound calls placed: which job and
//! attempt each one was for (from its callback URLs) and what the citizen
//! pressed on it; and how presses become answers, for comparing with the
//! feedback records.
//!
//! Owns: reading the ledger and the callback-URL query (`job`, `attempt`) back.
//! Does not own: judging anything (see `invariants`).

use std::collections::HashMap;

use sampark::dialplan::{CallContext, Dialplan, Event, start, step};
use sampark::domain::{Answer, FeedbackRecord, JobId};
use sampark::simulator::{LedgerEntry, PressKind};

/// An answer as compared: what was asked, pressed and meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerKey {
    pub question: String,
    pub digits: String,
    pub value: String,
}

impl From<&Answer> for AnswerKey {
    fn from(a: &Answer) -> Self {
        AnswerKey {
            question: a.question.clone(),
            digits: a.digits.clone(),
            value: a.value.clone(),
        }
    }
}

/// One press of a simulated citizen, in the order pressed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pressed {
    pub digits: String,
    pub kind: PressKind,
}

/// An outbound call the provider really placed, with what was pressed on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedCall {
    pub call_sid: String,
    pub job: JobId,
    pub attempt: u32,
    /// When the simulator accepted it (its wall clock, Unix ms).
    pub at_ms: i64,
    pub presses: Vec<Pressed>,
}

/// The outbound calls in the ledger, in the order placed, and a description
/// of each originate whose URLs name no job and attempt.
pub fn placed_calls(ledger: &[LedgerEntry]) -> (Vec<PlacedCall>, Vec<String>) {
    let mut calls: Vec<PlacedCall> = Vec::new();
    let mut bad = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in ledger {
        match entry {
            LedgerEntry::Originate {
                call_sid,
                url,
                status_callback,
                at_ms,
                ..
            } => match call_reference(url, status_callback.as_deref()) {
                Some((job, attempt)) => {
                    index.insert(call_sid.clone(), calls.len());
                    calls.push(PlacedCall {
                        call_sid: call_sid.clone(),
                        job,
                        attempt,
                        at_ms: *at_ms,
                        presses: Vec::new(),
                    });
                }
                None => bad.push(format!(
                    "originate {call_sid} names no job/attempt: url {url:?}"
                )),
            },
            LedgerEntry::Press {
                call_sid,
                digits,
                kind,
                ..
            } => {
                if let Some(&i) = index.get(call_sid) {
                    calls[i].presses.push(Pressed {
                        digits: digits.clone(),
                        kind: *kind,
                    });
                }
            }
            _ => {}
        }
    }
    (calls, bad)
}

/// `job` and `attempt` from the answer URL, or from the status callback
/// when the call carried inline markup (the ledger's `url` is then empty).
fn call_reference(url: &str, status_callback: Option<&str>) -> Option<(JobId, u32)> {
    [Some(url), status_callback]
        .into_iter()
        .flatten()
        .find_map(|u| {
            let job = JobId::parse(&query_param(u, "job")?).ok()?;
            let attempt = query_param(u, "attempt")?.parse().ok()?;
            Some((job, attempt))
        })
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `expected` for `check_answers_match_presses` by replaying the presses
/// through the dialplan engine, as the daemon does (every press, invalid and
/// silent ones too: they use up retries). `context` gives a record's call
/// context (the contact's language, office and service).
pub fn dialplan_replay<'a>(
    plan: &'a Dialplan,
    context: impl Fn(&FeedbackRecord) -> CallContext + 'a,
) -> impl Fn(&FeedbackRecord, &[Pressed]) -> Vec<AnswerKey> + 'a {
    move |record, presses| {
        let mut out = start(plan, &context(record));
        let mut answers: Vec<AnswerKey> = out.new_answers.iter().map(AnswerKey::from).collect();
        for press in presses {
            out = step(plan, &out.session, &Event::Digits(press.digits.clone()));
            answers.extend(out.new_answers.iter().map(AnswerKey::from));
        }
        answers
    }
}
