//! The invariants every fault scenario checks once its campaign is over,
//! over the `Evidence` (Redis, the simulator's ledger, captured logs).
//! Each check is a pure function returning its violations, so a scenario
//! can run them all and report every broken one at once (`check_all`,
//! `assert_no_violations`).
//!
//! | check | holds when |
//! |---|---|
//! | `check_one_record_per_contact` | each contact of the campaign has exactly one record, and no one else has |
//! | `check_originates_unique` | no (job, attempt) was originated twice; every originate names its job |
//! | `check_no_originate_after_finish` | no call was placed after its job's record was finished |
//! | `check_attempts_match_calls` | a record's `attempts` is the number of calls placed for its job |
//! | `check_answers_match_presses` | a record's answers are what the last call's presses give |
//! | `check_nothing_left` | no shard's in-flight, delayed, ready or outbox structure holds anything |
//! | `check_no_phone_numbers` | no given number appears in the logs, with or without its `+` |
//!
//! The per-record checks look at outbound records only (an inbound call's
//! job is not a campaign contact) and skip outcome `unknown`: the daemon
//! could not establish what the provider did, so neither its count nor its
//! answers are meant to match.

use std::collections::{HashMap, HashSet};
use std::fmt;

use sampark::domain::{FeedbackRecord, Outcome};
use sampark::simulator::LedgerEntry;

use super::evidence::{Evidence, Leftover};
use super::placed_calls::{AnswerKey, PlacedCall, Pressed, placed_calls};

/// One broken invariant, named by its check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub check: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.check, self.detail)
    }
}

fn violation(check: &'static str, detail: String) -> Violation {
    Violation { check, detail }
}

/// Panics listing every violation, if there is any.
pub fn assert_no_violations(violations: &[Violation]) {
    if violations.is_empty() {
        return;
    }
    let list: Vec<String> = violations.iter().map(|v| format!("  {v}")).collect();
    panic!(
        "{} invariant violation(s):\n{}",
        violations.len(),
        list.join("\n")
    );
}

fn job_of(record: &FeedbackRecord) -> String {
    format!("{}/{}", record.campaign_id, record.contact_id)
}

/// The records the per-record checks judge (see the module header).
fn judged(records: &[FeedbackRecord]) -> impl Iterator<Item = &FeedbackRecord> {
    records
        .iter()
        .filter(|r| r.direction.is_outbound() && r.outcome != Outcome::Unknown)
}

fn calls_by_job(calls: &[PlacedCall]) -> HashMap<String, Vec<&PlacedCall>> {
    let mut by_job: HashMap<String, Vec<&PlacedCall>> = HashMap::new();
    for call in calls {
        by_job.entry(call.job.to_string()).or_default().push(call);
    }
    by_job
}

/// Exactly one record per contact of `campaign_id` (`contacts` are contact
/// ids); duplicates are violations even when identical (a relay replay),
/// and so is a record for a contact the campaign does not have. Records of
/// other campaigns are ignored.
pub fn check_one_record_per_contact(
    records: &[FeedbackRecord],
    campaign_id: &str,
    contacts: &[String],
) -> Vec<Violation> {
    const CHECK: &str = "one_record_per_contact";
    let mut by_contact: HashMap<&str, Vec<&FeedbackRecord>> = HashMap::new();
    for r in records.iter().filter(|r| r.campaign_id == campaign_id) {
        by_contact.entry(r.contact_id.as_str()).or_default().push(r);
    }
    let known: HashSet<&str> = contacts.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for contact in contacts {
        match by_contact.get(contact.as_str()).map(Vec::as_slice) {
            None | Some([]) => out.push(violation(CHECK, format!("{contact}: no record"))),
            Some([_]) => {}
            Some(many) => {
                let identical = many.iter().all(|r| *r == many[0]);
                let outcomes: Vec<String> = many.iter().map(|r| r.outcome.to_string()).collect();
                out.push(violation(
                    CHECK,
                    format!(
                        "{contact}: {} records ({}; outcomes {outcomes:?})",
                        many.len(),
                        if identical { "identical" } else { "differing" }
                    ),
                ));
            }
        }
    }
    let mut strangers: Vec<&str> = by_contact
        .keys()
        .copied()
        .filter(|c| !known.contains(c))
        .collect();
    strangers.sort_unstable();
    for contact in strangers {
        out.push(violation(
            CHECK,
            format!("{contact}: a record for a contact {campaign_id} does not have"),
        ));
    }
    out
}

/// At most one originate per (job, attempt), and every originate names one.
pub fn check_originates_unique(ledger: &[LedgerEntry]) -> Vec<Violation> {
    let (calls, unnamed) = placed_calls(ledger);
    let mut out: Vec<Violation> = unnamed
        .into_iter()
        .map(|detail| violation("originates_unique", detail))
        .collect();
    let mut seen: HashMap<(String, u32), Vec<&str>> = HashMap::new();
    for call in &calls {
        seen.entry((call.job.to_string(), call.attempt))
            .or_default()
            .push(&call.call_sid);
    }
    let mut twice: Vec<_> = seen.into_iter().filter(|(_, s)| s.len() > 1).collect();
    twice.sort();
    for ((job, attempt), sids) in twice {
        out.push(violation(
            "originates_unique",
            format!(
                "{job} attempt {attempt} originated {} times: {sids:?}",
                sids.len()
            ),
        ));
    }
    out
}

/// No call placed after its job's (first) record was finished. Compares the
/// simulator's clock (`at_ms`) with the record's `finished_at_ms` (Redis's
/// clock): both are the same host's wall clock in these tests.
pub fn check_no_originate_after_finish(
    records: &[FeedbackRecord],
    ledger: &[LedgerEntry],
) -> Vec<Violation> {
    let (calls, _) = placed_calls(ledger);
    let mut finished: HashMap<String, i64> = HashMap::new();
    for r in records.iter().filter(|r| r.direction.is_outbound()) {
        let at = finished.entry(job_of(r)).or_insert(r.finished_at_ms);
        *at = (*at).min(r.finished_at_ms);
    }
    calls
        .iter()
        .filter_map(|call| {
            let done = *finished.get(&call.job.to_string())?;
            (call.at_ms > done).then(|| {
                violation(
                    "no_originate_after_finish",
                    format!(
                        "{} attempt {} ({}) placed {} ms after its record was finished",
                        call.job,
                        call.attempt,
                        call.call_sid,
                        call.at_ms - done
                    ),
                )
            })
        })
        .collect()
}

/// A record's `attempts` is the number of calls the provider placed for its
/// job (outbound records whose outcome is not `unknown`).
pub fn check_attempts_match_calls(
    records: &[FeedbackRecord],
    ledger: &[LedgerEntry],
) -> Vec<Violation> {
    let (calls, _) = placed_calls(ledger);
    let by_job = calls_by_job(&calls);
    judged(records)
        .filter_map(|r| {
            let placed = by_job.get(&job_of(r)).map_or(0, Vec::len);
            (placed != r.attempts as usize).then(|| {
                violation(
                    "attempts_match_calls",
                    format!(
                        "{}: record says {} attempt(s) ({}), the provider placed {placed}",
                        job_of(r),
                        r.attempts,
                        r.outcome
                    ),
                )
            })
        })
        .collect()
}

/// What a record's answers should be, given the presses of its last call.
pub type ExpectedAnswers<'a> = dyn Fn(&FeedbackRecord, &[Pressed]) -> Vec<AnswerKey> + 'a;

/// A record's answers equal `expected` of the presses of its job's last call
/// (highest attempt, the later one on a tie; no call: no presses), so
/// answers come from one call.
pub fn check_answers_match_presses(
    records: &[FeedbackRecord],
    ledger: &[LedgerEntry],
    expected: &ExpectedAnswers<'_>,
) -> Vec<Violation> {
    let (calls, _) = placed_calls(ledger);
    let by_job = calls_by_job(&calls);
    judged(records)
        .filter_map(|r| {
            let last = by_job
                .get(&job_of(r))
                .and_then(|calls| calls.iter().max_by_key(|c| c.attempt));
            let presses = last.map_or(&[][..], |c| c.presses.as_slice());
            let want = expected(r, presses);
            let got: Vec<AnswerKey> = r.answers.iter().map(AnswerKey::from).collect();
            (got != want).then(|| {
                violation(
                    "answers_match_presses",
                    format!(
                        "{} ({}): answers {:?}, but call {} pressed {:?} which gives {:?}",
                        job_of(r),
                        r.outcome,
                        digits_of(&got),
                        last.map_or("(none)", |c| c.call_sid.as_str()),
                        presses
                            .iter()
                            .map(|p| p.digits.as_str())
                            .collect::<Vec<_>>(),
                        digits_of(&want)
                    ),
                )
            })
        })
        .collect()
}

fn digits_of(answers: &[AnswerKey]) -> Vec<String> {
    answers
        .iter()
        .map(|a| format!("{}={}", a.question, a.digits))
        .collect()
}

/// Nothing left in any shard's queues (see `evidence::read_leftovers`).
pub fn check_nothing_left(leftovers: &[Leftover]) -> Vec<Violation> {
    leftovers
        .iter()
        .filter(|l| l.count > 0)
        .map(|l| {
            violation(
                "nothing_left",
                format!("{} {} = {}", l.key, l.what, l.count),
            )
        })
        .collect()
}

/// No E.164 number of `phones` appears in `logs`, neither as written
/// (`+9198...`) nor without its `+` (then only as a whole digit run, so a
/// longer number or timestamp containing it does not count).
pub fn check_no_phone_numbers(logs: &str, phones: &[String]) -> Vec<Violation> {
    let mut out = Vec::new();
    for phone in phones {
        let bare = phone.trim_start_matches('+');
        let found = logs
            .lines()
            .find(|line| line.contains(phone.as_str()) || contains_digit_run(line, bare));
        if let Some(line) = found {
            let line: String = line.chars().take(300).collect();
            out.push(violation(
                "no_phone_numbers",
                format!("{phone} logged: {line}"),
            ));
        }
    }
    out
}

/// Whether `digits` occurs in `text` not flanked by other digits.
fn contains_digit_run(text: &str, digits: &str) -> bool {
    if digits.is_empty() {
        return false;
    }
    text.match_indices(digits).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + digits.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// What a scenario expects, for `check_all`.
pub struct Expectations<'a> {
    pub campaign_id: &'a str,
    /// The campaign's contact ids.
    pub contacts: &'a [String],
    /// The campaign's numbers (E.164), none of which may be logged.
    pub phones: &'a [String],
    /// How presses become answers (e.g. `dialplan_replay`).
    pub answers: &'a ExpectedAnswers<'a>,
}

/// Every check over `evidence`; the phone check only when logs were captured.
pub fn check_all(expect: &Expectations<'_>, evidence: &Evidence) -> Vec<Violation> {
    let (records, ledger) = (&evidence.records, &evidence.ledger);
    let mut out = check_one_record_per_contact(records, expect.campaign_id, expect.contacts);
    out.extend(check_originates_unique(ledger));
    out.extend(check_no_originate_after_finish(records, ledger));
    out.extend(check_attempts_match_calls(records, ledger));
    out.extend(check_answers_match_presses(records, ledger, expect.answers));
    out.extend(check_nothing_left(&evidence.leftovers));
    if let Some(logs) = &evidence.logs {
        out.extend(check_no_phone_numbers(logs, expect.phones));
    }
    out
}
