//! Which fields of two campaign headers differ, named as a campaign document
//! writes them, with both values in words. Used when a submission's header
//! conflicts with the campaign already stored: a header never changes once
//! stored, so the operator needs to know exactly what to put back.
//!
//! Values are shown as a document would write them (`2h`, an RFC 3339
//! time, `"normal"`); the caller id is masked like every phone number.

use serde::Serialize;

use super::{CampaignHeader, RetryLadder};

/// One field whose value differs between the stored and a submitted header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderDifference {
    /// The document field (`name`, `call_not_after`, `sample`, …).
    pub field: &'static str,
    /// Its value in the stored header (`(none)` when absent).
    pub stored: String,
    /// Its value in the submitted header.
    pub submitted: String,
}

impl std::fmt::Display for HeaderDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is {} in the stored campaign, {} in this document",
            self.field, self.stored, self.submitted
        )
    }
}

const NONE: &str = "(none)";

impl CampaignHeader {
    /// Every field in which `submitted` differs from `self` (the stored
    /// header), in document order; empty when the headers are equal.
    pub fn differences(&self, submitted: &CampaignHeader) -> Vec<HeaderDifference> {
        let (a, b) = (self, submitted);
        let text = |s: &str| format!("{s:?}");
        let duration = |ms: Option<u64>| ms.map_or_else(|| NONE.to_owned(), duration_text);
        let fields: [(&'static str, String, String); 12] = [
            ("name", text(&a.name), text(&b.name)),
            ("dialplan", text(&a.dialplan), text(&b.dialplan)),
            ("caller_id", a.caller_id.masked(), b.caller_id.masked()),
            ("department", text(&a.department), text(&b.department)),
            (
                "call_not_before",
                duration(a.freshness.call_not_before_ms),
                duration(b.freshness.call_not_before_ms),
            ),
            (
                "call_not_after",
                duration(a.freshness.call_not_after_ms),
                duration(b.freshness.call_not_after_ms),
            ),
            (
                "expires_at",
                instant_text(a.freshness.expires_at_ms),
                instant_text(b.freshness.expires_at_ms),
            ),
            (
                "sample",
                sample_text(a.sample_rate),
                sample_text(b.sample_rate),
            ),
            (
                "retry",
                ladder_text(a.retry.as_ref()),
                ladder_text(b.retry.as_ref()),
            ),
            ("priority", text(priority(a)), text(priority(b))),
            (
                "machine_detection",
                a.machine_detection.to_string(),
                b.machine_detection.to_string(),
            ),
            ("calling_window", window_text(a), window_text(b)),
        ];
        let mut found: Vec<HeaderDifference> = fields
            .into_iter()
            .filter(|(_, stored, submitted)| stored != submitted)
            .map(|(field, stored, submitted)| HeaderDifference {
                field,
                stored,
                submitted,
            })
            .collect();
        if found.is_empty() && a != b {
            // Every field reads the same in words but the values differ
            // (e.g. a sample rate beyond the shown precision): still say so.
            found.push(HeaderDifference {
                field: "header",
                stored: "the stored header".into(),
                submitted: "a header that differs from it in a detail".into(),
            });
        }
        found
    }
}

fn priority(h: &CampaignHeader) -> &'static str {
    if h.priority.is_urgent() {
        "urgent"
    } else {
        "normal"
    }
}

/// `7200000` → `2h`: the largest unit that divides it, as documents write it.
fn duration_text(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    UNITS
        .iter()
        .find(|(unit, _)| ms > 0 && ms.is_multiple_of(*unit))
        .map_or_else(
            || format!("{ms}ms"),
            |(unit, name)| format!("{}{name}", ms / unit),
        )
}

fn instant_text(ms: Option<i64>) -> String {
    match ms.map(jiff::Timestamp::from_millisecond) {
        None => NONE.to_owned(),
        Some(Ok(t)) => t.to_string(),
        Some(Err(_)) => format!("{} ms after 1970", ms.unwrap_or_default()),
    }
}

fn sample_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| NONE.to_owned(), |r| format!("{{\"rate\": {r}}}"))
}

fn ladder_text(ladder: Option<&RetryLadder>) -> String {
    let Some(l) = ladder else {
        return NONE.to_owned();
    };
    let waits = |name: &str, waits: &Option<Vec<u64>>| {
        waits.as_ref().map(|w| {
            let w: Vec<String> = w.iter().map(|ms| duration_text(*ms)).collect();
            format!("{name} [{}]", w.join(", "))
        })
    };
    let parts: Vec<String> = [
        l.max_attempts.map(|n| format!("max_attempts {n}")),
        waits("busy", &l.busy),
        waits("no_answer", &l.no_answer),
        waits("failed", &l.failed),
        waits("no_input", &l.no_input),
        waits("machine", &l.machine),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "{}".into()
    } else {
        parts.join(", ")
    }
}

fn window_text(h: &CampaignHeader) -> String {
    match &h.calling_window {
        None => "(none: the daemon's)".into(),
        Some(w) => serde_json::to_string(w).unwrap_or_else(|e| format!("(unreadable: {e})")),
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::parse_campaign_document;

    fn header(extra: &str) -> crate::domain::CampaignHeader {
        let doc = format!(
            r#"{{"version": 1, "id": "c", "name": "Police", "dialplan": "d",
                "caller_id": "+916742000000", "department": "home"{extra},
                "contacts": []}}"#
        );
        parse_campaign_document(&doc, &|_| true).unwrap().header
    }

    #[test]
    fn equal_headers_have_no_difference() {
        let a = header(r#", "call_not_after": "72h", "retry": {"busy": ["10m"]}"#);
        assert!(a.differences(&a.clone()).is_empty());
    }

    #[test]
    fn each_differing_field_is_named_with_both_values() {
        let stored = header(r#", "call_not_after": "72h", "retry": {"busy": ["10m", "1h"]}"#);
        let submitted = header(
            r#", "call_not_after": "2d", "retry": {"busy": ["10m"]}, "priority": "urgent",
               "sample": {"rate": 0.5}, "expires_at": "2026-12-31T18:30:00Z""#,
        );
        let diffs = stored.differences(&submitted);
        let shown: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "`call_not_after` is 3d in the stored campaign, 2d in this document",
                "`expires_at` is (none) in the stored campaign, 2026-12-31T18:30:00Z in this document",
                "`sample` is (none) in the stored campaign, {\"rate\": 0.5} in this document",
                "`retry` is busy [10m, 1h] in the stored campaign, busy [10m] in this document",
                "`priority` is \"normal\" in the stored campaign, \"urgent\" in this document",
            ]
        );
    }

    #[test]
    fn the_caller_id_is_masked() {
        let stored = header("");
        let mut submitted = stored.clone();
        submitted.caller_id = crate::domain::PhoneNumber::parse("+916742000001").unwrap();
        submitted.name = "Police, second round".into();
        let diffs = stored.differences(&submitted);
        assert_eq!(diffs[0].field, "name");
        assert_eq!(diffs[1].field, "caller_id");
        assert!(
            !diffs[1].stored.contains("742000000"),
            "{}",
            diffs[1].stored
        );
        assert_eq!(diffs[1].submitted, "+91******0001");
    }
}
