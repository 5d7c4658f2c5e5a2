//! Escalations as people and programs read them: the JSON the admin API and
//! `sampark escalations … --format json` print alike, and the terminal
//! table and detail of `sampark escalations list|show`.
//!
//! Owns: presenting. Does not own: what escalates (the dialplans, through
//! `domain::ScoringRules`), storing and acknowledging (the store).

use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::columns::aligned;
use crate::domain::{Acknowledgement, EscalationView};
use crate::store::AckOutcome;

/// One escalation as JSON: its fields, `acknowledged` (`null` or `by`,
/// `at_ms`, `note`) and `open`.
pub fn view_json(view: &EscalationView) -> Value {
    // INVARIANT: an escalation view is plain data (strings, numbers, lists).
    let mut value = serde_json::to_value(view).unwrap_or(Value::Null);
    value["open"] = json!(view.is_open());
    value
}

/// A listing: `{"escalations": [...]}`.
pub fn list_json(views: &[EscalationView]) -> Value {
    json!({ "escalations": views.iter().map(view_json).collect::<Vec<_>>() })
}

/// What an acknowledgement did, as JSON: `acknowledged` and `first` (the
/// acknowledgement that stands when it was already acknowledged, else
/// `false`); `None` for an unknown escalation.
pub fn ack_json(outcome: &AckOutcome) -> Option<Value> {
    match outcome {
        AckOutcome::Acknowledged => Some(json!({"acknowledged": true, "first": false})),
        AckOutcome::Already(first) => Some(json!({"acknowledged": true, "first": first})),
        AckOutcome::Unknown => None,
    }
}

/// `at_ms` as local time in `zone`, e.g. `2026-11-30 20:05 IST`.
pub fn local_time(at_ms: i64, zone: &TimeZone) -> String {
    match Timestamp::from_millisecond(at_ms) {
        Ok(at) => at
            .to_zoned_datetime(zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => format!("{at_ms} (Unix ms)"),
    }
}

/// An escalation's status in words: `open`, or who acknowledged it.
pub fn status(view: &EscalationView) -> String {
    match &view.acknowledged {
        None => "open".to_owned(),
        Some(ack) => format!("acknowledged by {}", ack.by),
    }
}

/// `-` for an empty cell (an inbound call tied to no office or official).
fn cell(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

/// A listing as an aligned table, times in `zone`.
pub fn table(views: &[EscalationView], zone: &TimeZone) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "id",
            "severity",
            "department",
            "office",
            "official",
            "flags",
            "when",
            "status",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    ];
    for view in views {
        let e = &view.escalation;
        rows.push(vec![
            e.escalation_id.clone(),
            e.severity.to_string(),
            cell(&e.department),
            cell(&e.office),
            cell(&e.official_id),
            e.flags.join(","),
            local_time(e.at_ms, zone),
            status(view),
        ]);
    }
    aligned(&rows)
}

/// One escalation in full, with the citizen's answers, times in `zone`.
pub fn detail(view: &EscalationView, zone: &TimeZone) -> String {
    let e = &view.escalation;
    let mut out = String::new();
    let fields = [
        ("escalation", e.escalation_id.clone()),
        ("severity", e.severity.to_string()),
        ("flags", e.flags.join(", ")),
        ("when", local_time(e.at_ms, zone)),
        ("department", cell(&e.department)),
        ("office", cell(&e.office)),
        ("official", cell(&e.official_id)),
        ("service", cell(&e.service)),
        ("campaign", e.campaign_id.clone()),
        ("record", e.record_id.clone()),
        (
            "direction",
            if e.direction.is_outbound() {
                "outbound"
            } else {
                "inbound"
            }
            .to_owned(),
        ),
        ("status", status(view)),
    ];
    for (name, value) in fields {
        let _ = writeln!(out, "{name:>12}  {value}");
    }
    if let Some(Acknowledgement { at_ms, note, .. }) = &view.acknowledged {
        let _ = writeln!(out, "{:>12}  {}", "acknowledged", local_time(*at_ms, zone));
        if let Some(note) = note {
            let _ = writeln!(
                out,
                "{:>12}  {}",
                "note",
                note.replace('\n', "\n              ")
            );
        }
    }
    let _ = writeln!(out, "\nanswers");
    if e.answers.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    let mut rows = vec![
        ["question", "pressed", "answer", "flag"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<String>>(),
    ];
    for a in &e.answers {
        rows.push(vec![
            a.question.clone(),
            a.digits.clone(),
            format!("{} ({})", a.label, a.value),
            a.flag.clone().unwrap_or_else(|| "-".to_owned()),
        ]);
    }
    if rows.len() > 1 {
        for line in aligned(&rows).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Answer, Direction, Escalation, Severity};

    fn view(acked: bool) -> EscalationView {
        EscalationView {
            escalation: Escalation {
                version: 1,
                escalation_id: "esc-0011223344556677".into(),
                record_id: "camp/c-1".into(),
                flags: vec!["bribe_asked".into()],
                severity: Severity::Urgent,
                campaign_id: "camp".into(),
                department: "police".into(),
                office: "ଖୋର୍ଦ୍ଧା ଥାନା".into(),
                official_id: "off-1".into(),
                service: "FIR".into(),
                direction: Direction::Outbound,
                answers: vec![Answer {
                    question: "asked_money".into(),
                    digits: "1".into(),
                    value: "yes".into(),
                    label: "हाँ".into(),
                    flag: Some("bribe_asked".into()),
                    at_ms: 1,
                }],
                // 2026-11-30 20:00 UTC.
                at_ms: 1_796_068_800_000,
            },
            acknowledged: acked.then(|| Acknowledgement {
                by: "sp-khordha".into(),
                at_ms: 1_796_068_800_000,
                note: Some("called back".into()),
            }),
        }
    }

    fn kolkata() -> TimeZone {
        TimeZone::get("Asia/Kolkata").unwrap()
    }

    #[test]
    fn json_says_whether_it_is_open() {
        let v = view_json(&view(false));
        assert_eq!(v["open"], true);
        assert_eq!(v["acknowledged"], Value::Null);
        assert_eq!(v["escalation_id"], "esc-0011223344556677");
        assert_eq!(v["severity"], "urgent");
        let v = view_json(&view(true));
        assert_eq!(v["open"], false);
        assert_eq!(v["acknowledged"]["by"], "sp-khordha");
    }

    #[test]
    fn times_are_the_programmes() {
        assert_eq!(
            local_time(1_796_068_800_000, &kolkata()),
            "2026-12-01 01:30 IST"
        );
    }

    #[test]
    fn the_table_and_the_detail_show_what_matters() {
        let out = table(&[view(false), view(true)], &kolkata());
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("id  "), "{out}");
        assert!(lines[1].contains("ଖୋର୍ଦ୍ଧା ଥାନା"), "{out}");
        assert!(lines[1].ends_with("open"), "{out}");
        assert!(lines[2].ends_with("acknowledged by sp-khordha"), "{out}");
        let out = detail(&view(true), &kolkata());
        assert!(out.contains("हाँ (yes)"), "{out}");
        assert!(out.contains("called back"), "{out}");
        assert!(out.contains("2026-12-01 01:30 IST"), "{out}");
    }

    #[test]
    fn acks_as_json() {
        assert_eq!(
            ack_json(&AckOutcome::Acknowledged),
            Some(json!({"acknowledged": true, "first": false}))
        );
        let first = view(true).acknowledged.unwrap();
        let v = ack_json(&AckOutcome::Already(first)).unwrap();
        assert_eq!(v["first"]["by"], "sp-khordha");
        assert_eq!(ack_json(&AckOutcome::Unknown), None);
    }
}
