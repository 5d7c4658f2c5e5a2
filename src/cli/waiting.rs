//! `campaign status`: why contacts wait and until when, the estimate of the
//! end, and `--watch`.
//!
//! Owns: the text for people and the refresh loop. Does not own: the report
//! itself (`dialer::waiting_report`, shared with the admin API).

use std::fmt::Write;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use super::campaign::{StatusView, status_text};
use crate::domain::CampaignId;
use crate::store::Store;
use crate::store::redis::RedisStore;

/// "in 5 min", "in 2 h 10 min", "now".
fn from_now(at_ms: i64, now_ms: i64) -> String {
    let secs = (at_ms - now_ms).max(0) / 1000;
    match secs {
        0 => "now".into(),
        1..=89 => format!("in {secs} s"),
        90..=5_399 => format!("in {} min", (secs + 30) / 60),
        _ if secs < 2 * 86_400 => format!("in {} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("in {} days", (secs + 43_200) / 86_400),
    }
}

/// The waiting part of the status for people.
pub fn render(report: &Value, now_ms: i64, have_limits: bool) -> String {
    let mut out = String::new();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let _ = writeln!(out, "\nwaiting");
    let _ = writeln!(out, "{:>12}  ready to dial now", n(&report["ready_now"]));
    if n(&report["parked"]) > 0 {
        let _ = writeln!(
            out,
            "{:>12}  campaign paused (until resumed)",
            n(&report["parked"])
        );
    }
    for reason in report["reasons"].as_array().into_iter().flatten() {
        let (first, last) = (
            reason["first_due_ms"].as_i64().unwrap_or(now_ms),
            reason["last_due_ms"].as_i64().unwrap_or(now_ms),
        );
        let when = if last - first < 60_000 {
            format!("due {}", from_now(last, now_ms))
        } else {
            format!(
                "first {}, last {}",
                from_now(first, now_ms),
                from_now(last, now_ms)
            )
        };
        let _ = writeln!(
            out,
            "{:>12}  {} — {when}",
            n(&reason["contacts"]),
            reason["reason"].as_str().unwrap_or("waiting")
        );
    }
    match report["eta_ms"].as_i64() {
        Some(eta) => {
            let _ = writeln!(
                out,
                "\n{:>12}  {} (first attempts at the current limits; retries come on top)",
                "ends",
                from_now(eta, now_ms)
            );
        }
        None if have_limits => {
            let _ = writeln!(out, "\n{:>12}  not within the calling window ahead", "ends");
        }
        None => {
            let _ = writeln!(
                out,
                "\n{:>12}  pass --config with the daemon's settings for an estimate",
                "ends"
            );
        }
    }
    out
}

/// Prints the status every `secs` seconds until the campaign has nothing
/// left to do, redrawing in place on a terminal.
pub async fn watch(
    id: &CampaignId,
    store: &RedisStore,
    view: &StatusView,
    secs: u64,
) -> anyhow::Result<ExitCode> {
    let terminal = std::io::stdout().is_terminal();
    loop {
        // Decided before the text is read: the counts only grow, so the
        // last text printed shows the campaign at least as finished.
        let done = store
            .campaign_status(id)
            .await?
            .is_some_and(|s| s.total() > 0 && s.finished() == s.total());
        let Some(text) = status_text(store, id, view).await? else {
            eprintln!("no campaign {id} (it may still be waiting on the intake stream)");
            return Ok(ExitCode::from(3));
        };
        if terminal {
            // Home, clear the screen, draw.
            print!("\x1b[H\x1b[2J{text}");
        } else {
            println!("{text}");
        }
        if done {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            _ = tokio::time::sleep(Duration::from_secs(secs.max(1))) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_with_their_due_times() {
        let report = serde_json::json!({
            "ready_now": 3, "parked": 0,
            "reasons": [
                {"reason": "rate limited", "contacts": 30, "first_due_ms": 61_000, "last_due_ms": 3_601_000},
                {"reason": "outside calling hours", "contacts": 8, "first_due_ms": 36_000_000, "last_due_ms": 36_000_000},
            ],
            "eta_ms": 7_200_000,
        });
        let text = render(&report, 0, true);
        assert!(text.contains("3  ready to dial now"), "{text}");
        assert!(
            text.contains("30  rate limited — first in 61 s, last in 60 min"),
            "{text}"
        );
        assert!(
            text.contains("8  outside calling hours — due in 10 h 0 min"),
            "{text}"
        );
        assert!(text.contains("ends  in 2 h 0 min"), "{text}");
        let none = render(
            &serde_json::json!({"ready_now": 0, "reasons": []}),
            0,
            false,
        );
        assert!(none.contains("pass --config"), "{none}");
    }
}
