use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::telemetry::Label;

/// The value of one sample line `name{labels} value` in a rendering.
fn sample(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
}

#[test]
fn renders_every_series_with_help_and_type() {
    let m = Metrics::new();
    m.originate(OriginateResult::Throttled);
    m.originate(OriginateResult::Throttled);
    m.outcome(Outcome::NoAnswer);
    m.contacts(ContactResult::Duplicate, 7);
    m.feedback_relayed(3);
    m.call_started();
    m.call_started();
    m.call_ended();
    let text = m.render();

    assert_eq!(
        sample(&text, r#"sampark_originates_total{result="throttled"}"#).as_deref(),
        Some("2")
    );
    assert_eq!(
        sample(&text, r#"sampark_originates_total{result="ok"}"#).as_deref(),
        Some("0"),
        "zero series are rendered too"
    );
    assert_eq!(
        sample(&text, r#"sampark_outcomes_total{outcome="no_answer"}"#).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(&text, r#"sampark_contacts_total{result="duplicate"}"#).as_deref(),
        Some("7")
    );
    assert_eq!(
        sample(&text, "sampark_feedback_relayed_total").as_deref(),
        Some("3")
    );
    assert_eq!(
        sample(&text, "sampark_calls_in_flight").as_deref(),
        Some("1")
    );
    assert!(text.contains("# TYPE sampark_calls_in_flight gauge\n"));
    assert_eq!(
        sample(&text, "sampark_dialling_paused").as_deref(),
        Some("0")
    );
    m.set_dialling_paused(true);
    m.set_redis_not_durable(true);
    let flagged = m.render();
    assert_eq!(
        sample(&flagged, "sampark_dialling_paused").as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(&flagged, "sampark_redis_not_durable").as_deref(),
        Some("1")
    );
    assert!(text.contains("# TYPE sampark_webhook_duration_seconds histogram\n"));
    assert!(text.ends_with('\n'));

    // Every sample line belongs to a family announced by HELP and TYPE.
    let mut declared = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().to_owned());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .filter(|base| declared.iter().any(|d| d == base))
                .unwrap_or(name);
            assert!(declared.iter().any(|d| d == family), "undeclared {line}");
            assert!(name.starts_with("sampark_"), "{line}");
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
    assert_eq!(declared.len(), 18);
}

#[test]
fn label_sets_are_closed_and_complete() {
    let text = Metrics::new().render();
    let webhook_lines = text
        .lines()
        .filter(|l| l.starts_with("sampark_webhooks_total{"))
        .count();
    assert_eq!(
        webhook_lines,
        WebhookKind::all().len() * WebhookResult::all().len()
    );
    for o in Outcome::ALL {
        let series = format!(r#"sampark_outcomes_total{{outcome="{o}"}}"#);
        assert!(sample(&text, &series).is_some(), "{series}");
    }
    for d in DialDecision::all() {
        let series = format!(
            r#"sampark_dial_decisions_total{{decision="{}"}}"#,
            d.as_str()
        );
        assert!(sample(&text, &series).is_some(), "{series}");
    }
    // Only label names from the closed sets appear.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((_, labels)) = line.split_once('{') {
            let labels = labels.split('}').next().unwrap();
            for pair in labels.split(',') {
                let key = pair.split('=').next().unwrap();
                assert!(
                    [
                        "result",
                        "decision",
                        "kind",
                        "outcome",
                        "subsystem",
                        "le",
                        "department",
                        "flag",
                        "severity",
                        "listener",
                        "reason"
                    ]
                    .contains(&key),
                    "{line}"
                );
            }
        }
    }
}

#[test]
fn histogram_buckets_are_cumulative() {
    let m = Metrics::new();
    m.webhook(
        WebhookKind::Gather,
        WebhookResult::Ok,
        Duration::from_micros(800),
    );
    m.webhook(
        WebhookKind::Gather,
        WebhookResult::Stale,
        Duration::from_millis(30),
    );
    m.webhook(
        WebhookKind::Gather,
        WebhookResult::Ok,
        Duration::from_secs(20),
    );
    let text = m.render();
    let bucket = |le: &str| {
        sample(
            &text,
            &format!(r#"sampark_webhook_duration_seconds_bucket{{kind="gather",le="{le}"}}"#),
        )
    };
    assert_eq!(bucket("0.001").as_deref(), Some("1"));
    assert_eq!(bucket("0.025").as_deref(), Some("1"));
    assert_eq!(bucket("0.05").as_deref(), Some("2"));
    assert_eq!(bucket("10").as_deref(), Some("2"));
    assert_eq!(bucket("+Inf").as_deref(), Some("3"));
    assert_eq!(
        sample(
            &text,
            r#"sampark_webhook_duration_seconds_count{kind="gather"}"#
        )
        .as_deref(),
        Some("3")
    );
    assert_eq!(
        sample(
            &text,
            r#"sampark_webhook_duration_seconds_sum{kind="gather"}"#
        )
        .as_deref(),
        Some("20.0308")
    );
    assert_eq!(
        sample(
            &text,
            r#"sampark_webhook_duration_seconds_count{kind="status"}"#
        )
        .as_deref(),
        Some("0")
    );
    assert_eq!(m.webhooks().get(WebhookKind::Gather, WebhookResult::Ok), 2);
    assert_eq!(m.webhook_durations().count(WebhookKind::Gather), 3);
}

#[test]
fn concurrent_updates_are_all_counted() {
    let m = Arc::new(Metrics::new());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                for i in 0..10_000u64 {
                    m.originate(OriginateResult::Ok);
                    m.store_error(Subsystem::all()[(t + i as usize) % Subsystem::all().len()]);
                    m.webhook(
                        WebhookKind::Status,
                        WebhookResult::Ok,
                        Duration::from_millis(i % 40),
                    );
                    m.call_started();
                    m.call_ended();
                    if i % 1_000 == 0 {
                        // Rendering while others write must not block or tear.
                        assert!(m.render().contains("sampark_originates_total"));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(m.originates().get(OriginateResult::Ok), 80_000);
    let errors: u64 = Subsystem::all()
        .iter()
        .map(|s| m.store_errors().get(*s))
        .sum();
    assert_eq!(errors, 80_000);
    assert_eq!(m.webhook_durations().count(WebhookKind::Status), 80_000);
    assert_eq!(m.calls_in_flight(), 0);
}

fn scored(department: &str, outcome: Outcome, flags: &[&str]) -> FeedbackRecord {
    FeedbackRecord::for_test(department, outcome, flags)
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}

#[test]
fn scored_records_count_by_department_outcome_flag_and_severity() {
    let m = Metrics::with_bounds(
        strings(&["police", "health"]),
        strings(&["bribe_asked", "mistreated"]),
    );
    let bribe = ["bribe_asked", "mistreated"];
    m.record_scored(
        &scored("police", Outcome::Completed, &bribe),
        Some(Severity::Urgent),
    );
    m.record_scored(&scored("police", Outcome::Completed, &[]), None);
    m.record_scored(
        &scored("health", Outcome::Partial, &["rude_staff"]),
        Some(Severity::High),
    );
    m.record_scored(
        &scored("home", Outcome::NoAnswer, &["bribe_asked"]),
        Some(Severity::Watch),
    );
    m.record_scored(&scored("+919876543210", Outcome::Busy, &[]), None);

    assert_eq!(m.scored_records().get("police", &Outcome::Completed), 2);
    assert_eq!(m.scored_records().get("other", &Outcome::NoAnswer), 1);
    assert_eq!(
        m.scored_records().get("home", &Outcome::Busy),
        1,
        "home is other"
    );
    assert_eq!(m.scored_flags().get("police", "mistreated"), 1);
    assert_eq!(m.scored_flags().get("health", "other"), 1);
    assert_eq!(m.escalations().get("health", &Severity::High), 1);

    let text = m.render();
    for (series, value) in [
        (
            r#"sampark_records_total{department="police",outcome="completed"}"#,
            "2",
        ),
        (
            r#"sampark_records_total{department="health",outcome="partial"}"#,
            "1",
        ),
        (
            r#"sampark_records_total{department="other",outcome="no_answer"}"#,
            "1",
        ),
        (
            r#"sampark_records_total{department="other",outcome="busy"}"#,
            "1",
        ),
        (
            r#"sampark_records_total{department="health",outcome="completed"}"#,
            "0",
        ),
        (
            r#"sampark_record_flags_total{department="police",flag="bribe_asked"}"#,
            "1",
        ),
        (
            r#"sampark_record_flags_total{department="police",flag="mistreated"}"#,
            "1",
        ),
        (
            r#"sampark_record_flags_total{department="health",flag="other"}"#,
            "1",
        ),
        (
            r#"sampark_record_flags_total{department="other",flag="bribe_asked"}"#,
            "1",
        ),
        (
            r#"sampark_record_flags_total{department="other",flag="other"}"#,
            "0",
        ),
        (
            r#"sampark_escalations_total{department="police",severity="urgent"}"#,
            "1",
        ),
        (
            r#"sampark_escalations_total{department="health",severity="high"}"#,
            "1",
        ),
        (
            r#"sampark_escalations_total{department="other",severity="watch"}"#,
            "1",
        ),
        (
            r#"sampark_escalations_total{department="police",severity="watch"}"#,
            "0",
        ),
    ] {
        assert_eq!(sample(&text, series).as_deref(), Some(value), "{series}");
    }
    assert!(
        !text.contains("home"),
        "an undeclared department is never a label"
    );
    assert!(
        !text.contains("rude_staff"),
        "an unknown flag is never a label"
    );
    assert!(!text.contains("+91"), "a phone number is never a label");

    // Every combination, declared departments sorted and `other` last,
    // under one HELP and TYPE.
    let lines = |name: &str| -> Vec<&str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .collect()
    };
    let records = lines("sampark_records_total");
    assert_eq!(records.len(), 3 * Outcome::ALL.len());
    assert!(
        records[0].starts_with(r#"sampark_records_total{department="health",outcome="completed"}"#)
    );
    assert!(records[Outcome::ALL.len()].contains(r#"department="police""#));
    assert!(
        records
            .last()
            .unwrap()
            .contains(r#"department="other",outcome="machine""#)
    );
    assert_eq!(lines("sampark_record_flags_total").len(), 3 * 3);
    assert_eq!(
        lines("sampark_escalations_total").len(),
        3 * Severity::ALL.len()
    );
    assert!(text.contains(
        "# HELP sampark_records_total Feedback records scored, by department and outcome"
    ));
    for name in [
        "sampark_records_total",
        "sampark_record_flags_total",
        "sampark_escalations_total",
    ] {
        let kind = format!("# TYPE {name} counter\n");
        assert_eq!(text.matches(&kind).count(), 1, "{name}");
    }
}

#[test]
fn with_nothing_declared_every_department_and_flag_is_other() {
    let m = Metrics::new();
    m.record_scored(
        &scored("police", Outcome::Completed, &["bribe_asked"]),
        Some(Severity::Urgent),
    );
    let text = m.render();
    assert_eq!(
        sample(
            &text,
            r#"sampark_records_total{department="other",outcome="completed"}"#
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(
            &text,
            r#"sampark_record_flags_total{department="other",flag="other"}"#
        )
        .as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(
            &text,
            r#"sampark_escalations_total{department="other",severity="urgent"}"#
        )
        .as_deref(),
        Some("1")
    );
    let scored_lines = text
        .lines()
        .filter(|l| {
            [
                "sampark_records_total{",
                "sampark_record_flags_total{",
                "sampark_escalations_total{",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .count();
    assert_eq!(scored_lines, Outcome::ALL.len() + 1 + Severity::ALL.len());
}

#[test]
fn declared_label_values_are_escaped() {
    let m = Metrics::with_bounds(strings(&["a\"b\\c"]), Vec::new());
    m.record_scored(&scored("a\"b\\c", Outcome::Completed, &[]), None);
    assert_eq!(
        sample(
            &m.render(),
            r#"sampark_records_total{department="a\"b\\c",outcome="completed"}"#
        )
        .as_deref(),
        Some("1")
    );
}
