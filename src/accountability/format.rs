//! A report as a terminal table, as CSV for a spreadsheet, or as JSON.
//!
//! CSV: UTF-8 with a byte-order mark (so Excel reads Odia names as UTF-8
//! rather than the system code page), CRLF line ends and RFC 4180 quoting;
//! one column per counter, flag, outcome and answer seen in the report.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::str::FromStr;

use serde_json::{Value, json};

use super::columns::aligned;
use super::report::{METHOD, Report, ReportRow};
use crate::domain::scorecard::Dimension;

/// How to print a report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            _ => Err(format!("{s:?} is not a report format (table, csv or json)")),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Table => "text/plain; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
        }
    }

    pub fn render(self, report: &Report) -> String {
        match self {
            Format::Table => table(report),
            Format::Csv => csv(report),
            Format::Json => json(report).to_string(),
        }
    }
}

/// The headings of an entity's path for a dimension.
pub fn path_columns(by: Dimension) -> &'static [&'static str] {
    match by {
        Dimension::Official => &["department", "office", "official_id"],
        Dimension::Office => &["department", "office"],
        Dimension::Department => &["department"],
        Dimension::Service => &["department", "service"],
    }
}

const COUNTERS: [&str; 7] = [
    "contacts",
    "dialled",
    "answered",
    "completed",
    "partial",
    "opted_out",
    "negative",
];

fn share(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.3}"))
}

fn rating(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v:.2}"))
}

fn rank(r: Option<usize>) -> String {
    r.map_or(String::new(), |r| r.to_string())
}

/// Every flag, outcome and answer key any row has, in name order.
fn extra_keys(report: &Report) -> Vec<String> {
    let mut keys = BTreeSet::new();
    for row in &report.rows {
        for k in row.tally.0.keys() {
            if k.starts_with("flag:") || k.starts_with("outcome:") || k.starts_with("answer:") {
                keys.insert(k.clone());
            }
        }
    }
    let order = |k: &String| {
        (
            ["flag:", "outcome:", "answer:"]
                .iter()
                .position(|p| k.starts_with(p)),
            k.clone(),
        )
    };
    let mut keys: Vec<String> = keys.into_iter().collect();
    keys.sort_by_key(order);
    keys
}

fn csv_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn csv_line(out: &mut String, fields: &[String]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, f);
    }
    out.push_str("\r\n");
}

/// The report as CSV (see the module docs).
pub fn csv(report: &Report) -> String {
    let extra = extra_keys(report);
    let mut out = String::from("\u{feff}");
    let mut head: Vec<String> = vec!["rank".into()];
    head.extend(
        path_columns(report.query.by)
            .iter()
            .map(|s| (*s).to_owned()),
    );
    head.extend(COUNTERS.iter().map(|s| (*s).to_owned()));
    head.extend(
        ["negative_share", "wilson_lower", "mean_rating"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    head.extend(extra.iter().cloned());
    csv_line(&mut out, &head);
    for row in &report.rows {
        let mut fields = vec![rank(row.rank)];
        fields.extend(row.entity.path.iter().cloned());
        fields.extend(COUNTERS.iter().map(|c| row.tally.get(c).to_string()));
        fields.push(share(row.negative_share));
        fields.push(share(row.wilson_lower));
        fields.push(rating(row.tally.mean_rating()));
        fields.extend(extra.iter().map(|k| row.tally.get(k).to_string()));
        csv_line(&mut out, &fields);
    }
    out
}

fn row_json(by: Dimension, row: &ReportRow) -> Value {
    let mut entity = serde_json::Map::new();
    for (name, value) in path_columns(by).iter().zip(&row.entity.path) {
        entity.insert((*name).to_owned(), json!(value));
    }
    let counts: serde_json::Map<String, Value> = COUNTERS
        .iter()
        .map(|c| ((*c).to_owned(), json!(row.tally.get(c))))
        .collect();
    let flags: serde_json::Map<String, Value> = row
        .tally
        .flags()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let outcomes: serde_json::Map<String, Value> = row
        .tally
        .outcomes()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let mut answers: serde_json::Map<String, Value> = serde_json::Map::new();
    for (key, n) in row.tally.answers() {
        let (question, value) = key.split_once('=').unwrap_or((key, ""));
        let entry = answers
            .entry(question.to_owned())
            .or_insert_with(|| json!({}));
        entry[value] = json!(n);
    }
    json!({
        "rank": row.rank,
        "entity": entity,
        "counts": counts,
        "negative_share": row.negative_share,
        "wilson_lower": row.wilson_lower,
        "mean_rating": row.tally.mean_rating(),
        "flags": flags,
        "outcomes": outcomes,
        "answers": answers,
        "days": row.days,
    })
}

/// The report as JSON: `by`, `since`, `until`, `method` and `rows`.
pub fn json(report: &Report) -> Value {
    json!({
        "by": report.query.by,
        "department": report.query.department,
        "office": report.query.office,
        "since": report.since.map(|d| d.to_string()),
        "until": report.until.map(|d| d.to_string()),
        "method": METHOD,
        "rows": report.rows.iter().map(|r| row_json(report.query.by, r)).collect::<Vec<_>>(),
    })
}

/// The report as an aligned table for a terminal, with how it ranks.
pub fn table(report: &Report) -> String {
    let mut head: Vec<String> = vec!["rank".into()];
    head.extend(
        path_columns(report.query.by)
            .iter()
            .map(|s| (*s).to_owned()),
    );
    head.extend(
        [
            "contacts", "answered", "negative", "neg %", "bound %", "rating", "flags",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    let pct = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{:.1}", v * 100.0));
    let rows: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|row| {
            let mut cells = vec![row.rank.map_or("-".to_owned(), |r| r.to_string())];
            cells.extend(row.entity.path.iter().cloned());
            cells.push(row.tally.get("contacts").to_string());
            cells.push(row.tally.get("answered").to_string());
            cells.push(row.tally.get("negative").to_string());
            cells.push(pct(row.negative_share));
            cells.push(pct(row.wilson_lower));
            cells.push(
                row.tally
                    .mean_rating()
                    .map_or("-".to_owned(), |r| format!("{r:.2}")),
            );
            let flags: Vec<String> = row.tally.flags().map(|(f, n)| format!("{f} {n}")).collect();
            cells.push(if flags.is_empty() {
                "-".to_owned()
            } else {
                flags.join(", ")
            });
            cells
        })
        .collect();
    let mut out = String::new();
    let range = match (report.since, report.until) {
        (Some(s), Some(u)) => format!("{s} to {u}"),
        _ => "no scorecards yet".to_owned(),
    };
    let _ = writeln!(out, "Report by {} ({range})", report.query.by);
    let mut lines = vec![head];
    lines.extend(rows);
    out.push_str(&aligned(&lines));
    let _ = writeln!(out, "\n{METHOD}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accountability::report::ReportQuery;
    use crate::domain::scorecard::{Entity, Tally};

    fn report() -> Report {
        let mut t = Tally::default();
        t.add("contacts", 3);
        t.add("answered", 2);
        t.add("negative", 1);
        t.add("flag:bribe_asked", 1);
        t.add("answer:rating=4", 1);
        t.add("rating_sum", 4);
        t.add("rating_n", 1);
        Report {
            query: ReportQuery::new(Dimension::Office),
            since: Some("2026-11-01".parse().unwrap()),
            until: Some("2026-11-01".parse().unwrap()),
            rows: vec![ReportRow {
                entity: Entity {
                    path: vec!["police".into(), "ଖୋର୍ଦ୍ଧା, ଥାନା".into()],
                },
                tally: t,
                rank: Some(1),
                negative_share: Some(0.5),
                wilson_lower: Some(0.0944),
                days: vec![],
            }],
        }
    }

    #[test]
    fn csv_has_a_bom_crlf_and_quotes() {
        let out = csv(&report());
        assert!(out.starts_with('\u{feff}'));
        let lines: Vec<&str> = out.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "rank,department,office,contacts,dialled,answered,completed,partial,opted_out,negative,negative_share,wilson_lower,mean_rating,flag:bribe_asked,answer:rating=4"
        );
        assert_eq!(
            lines[1],
            "1,police,\"ଖୋର୍ଦ୍ଧା, ଥାନା\",3,0,2,0,0,0,1,0.500,0.094,4.00,1,1"
        );
    }

    #[test]
    fn json_nests_answers() {
        let v = json(&report());
        assert_eq!(v["rows"][0]["answers"]["rating"]["4"], 1);
        assert_eq!(v["rows"][0]["entity"]["office"], "ଖୋର୍ଦ୍ଧା, ଥାନା");
        assert_eq!(v["method"], METHOD);
    }

    #[test]
    fn table_says_how_it_ranks() {
        let out = table(&report());
        assert!(out.contains("bribe_asked 1"));
        assert!(out.contains("Wilson"));
    }
}
