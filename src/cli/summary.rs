//! The demo's summary: outcomes, answers, flags and a per-official table,
//! computed from feedback records, printed as a table or JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::domain::{CampaignId, Direction, FeedbackRecord, Outcome};

/// One official's line in the summary.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OfficialRow {
    pub official_id: String,
    pub office: String,
    pub contacts: u64,
    pub dialled: u64,
    pub answered: u64,
    pub completed: u64,
    /// Share of this official's answers that raised a flag (0..1).
    pub negative_share: f64,
}

/// What the demo reports.
#[derive(Clone, Debug, Serialize)]
pub struct DemoSummary {
    pub campaign_id: String,
    pub contacts: usize,
    /// Records of the campaign's contacts, of the inbound calls and of the
    /// call-backs those asked for.
    pub feedback_records: usize,
    /// Calls citizens made to the programme's number.
    pub inbound_calls: usize,
    /// Inbound calls the caller tied to one of their visits.
    pub inbound_attributed: usize,
    /// Call-backs inbound callers asked for (each dialled, with its record).
    pub callbacks: usize,
    pub outcomes: BTreeMap<String, u64>,
    /// question id → answer label → count.
    pub answers: BTreeMap<String, BTreeMap<String, u64>>,
    pub flags: BTreeMap<String, u64>,
    pub officials: Vec<OfficialRow>,
    /// Calls sampark placed (inbound calls are not counted).
    pub calls_placed: u64,
    pub elapsed_ms: u64,
    /// What the demo speeds up, and what the defaults would take.
    pub real_time: super::real_time::RealTime,
}

pub(super) fn summarise(
    campaign: &CampaignId,
    callbacks: &CampaignId,
    contacts: usize,
    records: &[FeedbackRecord],
    elapsed: Duration,
) -> DemoSummary {
    let inbound = || records.iter().filter(|r| r.direction == Direction::Inbound);
    let mut outcomes = BTreeMap::new();
    let mut answers: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut flags = BTreeMap::new();
    let mut officials: BTreeMap<String, (OfficialRow, u64, u64)> = BTreeMap::new();
    let mut calls_placed = 0;
    for r in records {
        *outcomes.entry(r.outcome.as_str().to_owned()).or_insert(0) += 1;
        if r.direction == Direction::Outbound {
            calls_placed += u64::from(r.attempts);
        }
        for a in &r.answers {
            *answers
                .entry(a.question.clone())
                .or_default()
                .entry(a.label.clone())
                .or_insert(0) += 1;
        }
        for f in &r.flags {
            *flags.entry(f.clone()).or_insert(0) += 1;
        }
        // An unattributed inbound call is about no official.
        if r.official_id.is_empty() {
            continue;
        }
        let (row, total_answers, negative) =
            officials.entry(r.official_id.clone()).or_insert_with(|| {
                (
                    OfficialRow {
                        official_id: r.official_id.clone(),
                        office: r.office.clone(),
                        contacts: 0,
                        dialled: 0,
                        answered: 0,
                        completed: 0,
                        negative_share: 0.0,
                    },
                    0,
                    0,
                )
            });
        row.contacts += 1;
        row.dialled += u64::from(r.attempts > 0);
        row.answered += u64::from(matches!(
            r.outcome,
            Outcome::Completed | Outcome::Partial | Outcome::OptedOut
        ));
        row.completed += u64::from(r.outcome == Outcome::Completed);
        *total_answers += r.answers.len() as u64;
        *negative += r.answers.iter().filter(|a| a.flag.is_some()).count() as u64;
    }
    let officials = officials
        .into_values()
        .map(|(mut row, total, negative)| {
            row.negative_share = if total == 0 {
                0.0
            } else {
                negative as f64 / total as f64
            };
            row
        })
        .collect();
    DemoSummary {
        campaign_id: campaign.to_string(),
        contacts,
        feedback_records: records.len(),
        inbound_calls: inbound().count(),
        inbound_attributed: inbound().filter(|r| r.attributed).count(),
        callbacks: records
            .iter()
            .filter(|r| r.campaign_id == callbacks.as_str())
            .count(),
        outcomes,
        answers,
        flags,
        officials,
        calls_placed,
        elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        real_time: super::real_time::RealTime::default(),
    }
}

pub(super) fn print_summary(s: &DemoSummary) {
    println!();
    println!(
        "Campaign {}: {} contacts, {} feedback records, {} calls placed, {:.1} s",
        s.campaign_id,
        s.contacts,
        s.feedback_records,
        s.calls_placed,
        s.elapsed_ms as f64 / 1000.0
    );
    if s.inbound_calls > 0 {
        println!(
            "Inbound: {} calls to the programme's number, {} attributed to a visit, {} call-backs made",
            s.inbound_calls, s.inbound_attributed, s.callbacks
        );
    }
    println!();
    println!("Outcomes");
    for (outcome, n) in &s.outcomes {
        println!("  {outcome:<12} {n:>6}");
    }
    println!();
    println!("Answers");
    for (question, labels) in &s.answers {
        let parts: Vec<String> = labels.iter().map(|(l, n)| format!("{l}: {n}")).collect();
        println!("  {question:<14} {}", parts.join(", "));
    }
    if !s.flags.is_empty() {
        let parts: Vec<String> = s.flags.iter().map(|(f, n)| format!("{f}: {n}")).collect();
        println!("  flags          {}", parts.join(", "));
    }
    println!();
    println!(
        "  {:<8} {:<32} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "official", "office", "contacts", "dialled", "answered", "completed", "negative"
    );
    for r in &s.officials {
        println!(
            "  {:<8} {:<32} {:>8} {:>8} {:>8} {:>9} {:>8.0}%",
            r.official_id,
            r.office,
            r.contacts,
            r.dialled,
            r.answered,
            r.completed,
            r.negative_share * 100.0
        );
    }
    println!();
    print!("{}", s.real_time);
}
