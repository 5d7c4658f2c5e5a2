//! The Grafana dashboard (`deploy/grafana/sampark-dashboard.json`) against
//! what [`Metrics::render`] really emits: every metric a query names, and
//! every label it groups or filters by, must exist, so a renamed metric
//! breaks this test rather than a panel.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Metrics;
use crate::domain::{FeedbackRecord, Outcome, Severity};

const DASHBOARD: &str = include_str!("../../deploy/grafana/sampark-dashboard.json");

/// Labels Prometheus adds at scrape time.
const TARGET_LABELS: [&str; 2] = ["instance", "job"];

/// Every metric name in the rendering, with the label names its series use.
fn rendered() -> BTreeMap<String, BTreeSet<String>> {
    let m = Metrics::with_bounds(["police".to_owned()], ["bribe_asked".to_owned()]);
    m.record_scored(
        &FeedbackRecord::for_test("police", Outcome::Completed, &["bribe_asked"]),
        Some(Severity::Urgent),
    );
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in m.render().lines().filter(|l| !l.starts_with('#')) {
        let (series, _) = line.rsplit_once(' ').unwrap();
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        names
            .entry(name.to_owned())
            .or_default()
            .extend(label_names(labels.trim_end_matches('}')));
    }
    names
}

/// `a="x",b!~"y"` → a, b (values in these tests hold no commas).
fn label_names(matchers: &str) -> impl Iterator<Item = String> + '_ {
    matchers
        .split(',')
        .filter_map(|m| m.split(['=', '!']).next())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// Every string under a key `key`, anywhere in `value`.
fn strings_under<'a>(value: &'a Value, key: &str, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::String(s) if k == key => out.push(s),
                    _ => strings_under(v, key, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| strings_under(v, key, out)),
        _ => {}
    }
}

/// The `sampark_*` metric names in a query, each with the label names of
/// its `{...}` selector, if any.
fn metrics_in(expr: &str) -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for (at, _) in expr.match_indices("sampark_") {
        if expr[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &expr[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        let labels = match rest[end..].strip_prefix('{') {
            Some(selector) => label_names(selector.split('}').next().unwrap()).collect(),
            None => Vec::new(),
        };
        found.push((rest[..end].to_owned(), labels));
    }
    found
}

/// The label names of every `by (...)` clause in a query.
fn grouped_by(expr: &str) -> Vec<String> {
    expr.match_indices("by (")
        .flat_map(|(at, m)| {
            let inner = expr[at + m.len()..].split(')').next().unwrap();
            inner.split(',').map(|l| l.trim().to_owned())
        })
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("the dashboard is valid JSON")
}

#[test]
fn every_query_names_metrics_and_labels_that_are_rendered() {
    let rendered = rendered();
    let dashboard = dashboard();
    let mut exprs = Vec::new();
    strings_under(&dashboard, "expr", &mut exprs);
    strings_under(&dashboard, "query", &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    let mut used = BTreeSet::new();
    for expr in exprs {
        let metrics = metrics_in(expr);
        assert!(!metrics.is_empty(), "no sampark metric in {expr}");
        for (name, selector) in &metrics {
            let labels = rendered
                .get(name)
                .unwrap_or_else(|| panic!("{name} (in {expr}) is not rendered"));
            for label in selector {
                assert!(
                    labels.contains(label),
                    "{name} has no label {label}: {expr}"
                );
            }
            used.insert(name.as_str().to_owned());
        }
        for label in grouped_by(expr) {
            let known = TARGET_LABELS.contains(&label.as_str())
                || metrics
                    .iter()
                    .any(|(name, _)| rendered[name].contains(&label));
            assert!(known, "no metric of {expr} has label {label}");
        }
    }
    for wanted in [
        "sampark_records_total",
        "sampark_record_flags_total",
        "sampark_escalations_total",
        "sampark_dial_decisions_total",
        "sampark_originates_total",
        "sampark_webhook_duration_seconds_bucket",
        "sampark_calls_in_flight",
        "sampark_dialling_paused",
        "sampark_store_errors_total",
    ] {
        assert!(used.contains(wanted), "no panel shows {wanted}");
    }
}

#[test]
fn the_dashboard_is_importable_with_a_prometheus_input_and_a_department_variable() {
    let dashboard = dashboard();
    let inputs = dashboard["__inputs"].as_array().unwrap();
    assert!(
        inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus"),
        "{inputs:?}"
    );
    let panels = dashboard["panels"].as_array().unwrap();
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(
            panel["datasource"]["uid"], "${DS_PROMETHEUS}",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}");
        }
    }
    let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let department = variables
        .iter()
        .find(|v| v["name"] == "department")
        .expect("a department variable");
    assert_eq!(
        department["query"],
        "label_values(sampark_records_total, department)"
    );
    assert_eq!(department["datasource"]["uid"], "${DS_PROMETHEUS}");
}
