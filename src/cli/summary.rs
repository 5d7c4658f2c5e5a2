//! The demo's summary: outcomes, answers, flags and a per-official table,
//! computed from feedback records, printed as a table or JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::domain::{CampaignId, Direction, FeedbackRecord};

/// An open escalation, as the demo lists it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EscalationLine {
    pub escalation_id: String,
    pub severity: String,
    pub official_id: String,
    pub office: String,
    pub flags: Vec<String>,
}

/// An official's line of the demo's scorecard (the report by official).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScoreLine {
    /// 1 = worst; none with too few answered calls.
    pub rank: Option<usize>,
    pub official_id: String,
    pub office: String,
    pub contacts: i64,
    pub answered: i64,
    pub negative: i64,
    /// The Wilson lower bound of the negative share (0..1).
    pub negative_bound: Option<f64>,
    pub mean_rating: Option<f64>,
}

impl ScoreLine {
    pub fn of(row: &crate::accountability::report::ReportRow) -> ScoreLine {
        ScoreLine {
            rank: row.rank,
            official_id: row.entity.name().to_owned(),
            office: row.entity.path.get(1).cloned().unwrap_or_default(),
            contacts: row.tally.get("contacts"),
            answered: row.tally.get("answered"),
            negative: row.tally.get("negative"),
            negative_bound: row.wilson_lower,
            mean_rating: row.tally.mean_rating(),
        }
    }
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
    /// Open escalations by severity.
    pub open_escalations: BTreeMap<String, usize>,
    /// The most urgent open escalations (at most five).
    pub top_escalations: Vec<EscalationLine>,
    /// The scorecard by official, ranked worst first (see `report::METHOD`).
    pub scorecard: Vec<ScoreLine>,
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
    }
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
        open_escalations: BTreeMap::new(),
        top_escalations: Vec::new(),
        scorecard: Vec::new(),
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
    let open: Vec<String> = s
        .open_escalations
        .iter()
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    if open.is_empty() {
        println!("Escalations: none open");
    } else {
        println!("Escalations open: {} (most urgent first)", open.join(", "));
        for e in &s.top_escalations {
            println!(
                "  {:<20} {:<7} {:<8} {:<32} {}",
                e.escalation_id,
                e.severity,
                e.official_id,
                e.office,
                e.flags.join(", ")
            );
        }
    }
    println!();
    println!(
        "Scorecard by official, worst first (`sampark report --by official` says how it ranks)"
    );
    println!(
        "  {:>4} {:<8} {:<32} {:>8} {:>8} {:>8} {:>7} {:>6}",
        "rank", "official", "office", "contacts", "answered", "negative", "bound", "rating"
    );
    for r in &s.scorecard {
        println!(
            "  {:>4} {:<8} {:<32} {:>8} {:>8} {:>8} {:>7} {:>6}",
            r.rank.map_or("-".to_owned(), |n| n.to_string()),
            r.official_id,
            r.office,
            r.contacts,
            r.answered,
            r.negative,
            r.negative_bound
                .map_or("-".to_owned(), |b| format!("{:.0}%", b * 100.0)),
            r.mean_rating.map_or("-".to_owned(), |m| format!("{m:.2}"))
        );
    }
    println!();
    print!("{}", s.real_time);
}
