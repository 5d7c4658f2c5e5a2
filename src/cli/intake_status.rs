//! The intake part of `campaign status`: what the daemon accepted and
//! refused of the documents submitted for a campaign (`store::IntakeStats`),
//! the part of a submission's fate only ingestion can know.

use crate::store::IntakeStats;

/// The lines `campaign status` prints under the contact counts.
pub fn lines(stats: Option<&IntakeStats>) -> Vec<String> {
    let Some(stats) = stats else {
        return vec![format!(
            "{:>12}  not counted (ingested by an earlier version)",
            "intake"
        )];
    };
    let mut lines = vec![format!(
        "{:>12}  {} document(s) accepted, {} refused; {} contact(s) refused (all refusals are dead-lettered)",
        "intake", stats.documents_accepted, stats.documents_refused, stats.contacts_refused
    )];
    if !stats.last_refusals.is_empty() {
        lines.push(format!("{:>12}  newest first:", "refused"));
    }
    for r in &stats.last_refusals {
        let at = jiff::Timestamp::from_millisecond(r.at_ms)
            .map_or_else(|_| format!("{} ms", r.at_ms), |t| t.to_string());
        lines.push(format!("{:>12}  {at}  {}: {}", "", r.source, r.reason));
    }
    lines
}

/// The tally as `campaign status --json` and the admin API show it
/// (`null` when the campaign was ingested by an earlier version).
pub fn json(stats: Option<&IntakeStats>) -> serde_json::Value {
    stats.map_or(serde_json::Value::Null, IntakeStats::summary)
}
