//! A campaign's `calling_window`: the schema of `[policy.calling_window]`
//! (`zone`, `weekdays`, `ranges`, `holidays`), checked by the same
//! [`CallingWindow::from_spec`], with every problem listed.
//!
//! A stored window never depends on files: `holiday_files` is read by the
//! submitting side (`sampark campaign submit` inlines the dates into
//! `holidays`, see `intake/holiday_files.rs`), so a document that still
//! names one here — on the intake stream or the admin API — is refused.
//!
//! A window is complete on its own: a key it leaves out takes the schema's
//! default (`Asia/Kolkata`, every day, `09:00-20:00`, no holidays), not the
//! daemon's value, so every instance of the fleet reads the same window
//! whatever its settings. A campaign without `calling_window` follows the
//! daemon's `[policy.calling_window]`.
//!
//! Owns: reading the field from JSON and the wording of its problems. Does
//! not own: the window's validation and arithmetic (`crate::policy`).

use serde_json::{Map, Value};

use super::did_you_mean;
use crate::policy::{CallingWindow, WindowSpec};

/// The keys `calling_window` may carry.
const KEYS: &[&str] = &["zone", "weekdays", "ranges", "holidays", "holiday_files"];

/// The document's `calling_window` object, or every problem with it, each
/// starting ``field `calling_window.KEY` ``.
pub fn parse_calling_window(value: &Value) -> Result<CallingWindow, Vec<String>> {
    let Some(obj) = value.as_object() else {
        return Err(vec![
            "field `calling_window` must be an object like {\"zone\": \"Asia/Kolkata\", \"ranges\": [\"09:00-20:00\"]}".into(),
        ]);
    };
    let mut problems = Vec::new();
    for key in obj.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        let hint = match did_you_mean(key, KEYS) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("use {}", KEYS.join(", ")),
        };
        problems.push(format!(
            "field `calling_window.{key}` is not known ({hint})"
        ));
    }
    let defaults = WindowSpec::default();
    let zone = match obj.get("zone") {
        None => defaults.zone,
        Some(Value::String(zone)) => zone.clone(),
        Some(_) => {
            problems.push(
                "field `calling_window.zone` must be a string such as \"Asia/Kolkata\"".into(),
            );
            defaults.zone
        }
    };
    let spec = WindowSpec {
        zone,
        weekdays: strings(obj, "weekdays", defaults.weekdays, &mut problems),
        ranges: strings(obj, "ranges", defaults.ranges, &mut problems),
        holidays: strings(obj, "holidays", defaults.holidays, &mut problems),
        holiday_files: Vec::new(),
    };
    if obj
        .get("holiday_files")
        .is_some_and(|files| files.as_array().is_none_or(|a| !a.is_empty()))
    {
        problems.push(
            "field `calling_window.holiday_files`: holiday files are read where the document is \
             submitted, never by the daemon: `sampark campaign submit` reads them and lists their \
             dates in `holidays`; a document sent to the intake stream or the admin API must list \
             the dates in `holidays` itself"
                .into(),
        );
    }
    match CallingWindow::from_spec(&spec) {
        Ok(window) if problems.is_empty() => Ok(window),
        Ok(_) => Err(problems),
        Err(found) => {
            problems.extend(found.iter().map(|p| match p.split_once(": ") {
                Some((field, reason)) => format!("field `calling_window.{field}`: {reason}"),
                None => format!("field `calling_window`: {p}"),
            }));
            Err(problems)
        }
    }
}

/// A list of strings under `key`: `default` when absent, and also when it is
/// malformed (after saying so), so the other fields are still checked
/// without a follow-on "none listed".
fn strings(
    obj: &Map<String, Value>,
    key: &str,
    default: Vec<String>,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let Some(value) = obj.get(key) else {
        return default;
    };
    let Some(items) = value.as_array() else {
        problems.push(format!(
            "field `calling_window.{key}` must be a list of strings"
        ));
        return default;
    };
    let mut found = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => found.push(s.to_owned()),
            None => problems.push(format!(
                "field `calling_window.{key}[{i}]` must be a string"
            )),
        }
    }
    if found.len() == items.len() {
        found
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{DocumentError, JobSpec, parse_campaign_document};

    fn document(extra: Value) -> String {
        let mut doc = json!({"version": 1, "id": "c", "name": "n", "dialplan": "d",
            "caller_id": "+916742000000", "department": "home",
            "contacts": [{"id": "k", "phone": "+919876543210", "official_id": "o",
                          "office": "x", "service": "y"}]});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc.to_string()
    }

    fn problems(value: Value) -> Vec<String> {
        parse_calling_window(&value).unwrap_err()
    }

    #[test]
    fn a_full_window_is_read() {
        let w = parse_calling_window(&json!({
            "zone": "Europe/London",
            "weekdays": ["Monday", "fri"],
            "ranges": ["14:00-17:00", "09:00-12:00"],
            "holidays": ["2026-12-25"],
        }))
        .unwrap();
        assert_eq!(w.zone_name(), "Europe/London");
        assert_eq!(w.ranges().len(), 2);
        assert_eq!(w.holidays().len(), 1);
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"zone":"Europe/London","weekdays":["mon","fri"],"ranges":["09:00-12:00","14:00-17:00"],"holidays":["2026-12-25"]}"#
        );
    }

    #[test]
    fn left_out_keys_take_the_schema_defaults() {
        let w = parse_calling_window(&json!({"ranges": ["10:00-18:00"]})).unwrap();
        let expected = CallingWindow::from_spec(&WindowSpec {
            ranges: vec!["10:00-18:00".into()],
            ..WindowSpec::default()
        })
        .unwrap();
        assert_eq!(w, expected);
        assert_eq!(
            parse_calling_window(&json!({})).unwrap(),
            CallingWindow::default()
        );
        // An empty list of files names no file.
        assert!(parse_calling_window(&json!({"holiday_files": []})).is_ok());
    }

    #[test]
    fn every_problem_is_listed_with_its_field() {
        let found = problems(json!({
            "zone": "Asia/Kolkatta",
            "weekdays": ["mon", "funday"],
            "ranges": ["09:00-13:00", "12:00-14:00", "25:00-26:00"],
            "holidays": ["2026-02-30"],
            "holiday_files": ["config/holidays/odisha-2026.txt"],
            "rangez": [],
        }));
        for prefix in [
            "field `calling_window.rangez` is not known (did you mean `ranges`?)",
            "field `calling_window.zone`: ",
            "field `calling_window.weekdays[1]`: ",
            "field `calling_window.ranges`: ",
            "field `calling_window.ranges[2]`: ",
            "field `calling_window.holidays[0]`: ",
            "field `calling_window.holiday_files`: holiday files are read where",
        ] {
            assert_eq!(
                found.iter().filter(|p| p.starts_with(prefix)).count(),
                1,
                "{prefix} in {found:#?}"
            );
        }
        assert_eq!(found.len(), 7, "{found:#?}");
    }

    #[test]
    fn wrong_types_are_named_and_the_rest_still_checked() {
        let found = problems(json!({
            "zone": 5,
            "weekdays": "mon",
            "ranges": ["09:00-13:00", 7],
            "holidays": ["2026-13-01"],
        }));
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(found[0].contains("`calling_window.zone` must be a string"));
        assert!(found[1].contains("`calling_window.weekdays` must be a list"));
        assert!(found[2].contains("`calling_window.ranges[1]` must be a string"));
        assert!(found[3].starts_with("field `calling_window.holidays[0]`: "));
        assert_eq!(problems(json!(["09:00-20:00"])).len(), 1);
        assert_eq!(problems(json!({"holiday_files": "x.txt"})).len(), 1);
    }

    #[test]
    fn the_document_field_reaches_the_header_and_every_job() {
        let doc = document(json!({"calling_window": {"zone": "UTC", "ranges": ["08:00-16:00"]}}));
        let parsed = parse_campaign_document(&doc, &|_| true).unwrap();
        assert!(
            parsed.warnings.is_empty(),
            "a known field: {:?}",
            parsed.warnings
        );
        let window = parsed.header.calling_window.clone().unwrap();
        assert_eq!(window.zone_name(), "UTC");
        let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
        assert_eq!(spec.calling_window, Some(window));
        let json = serde_json::to_string(&spec).unwrap();
        assert!(
            json.ends_with(r#","calling_window":{"zone":"UTC","weekdays":["mon","tue","wed","thu","fri","sat","sun"],"ranges":["08:00-16:00"]}}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<JobSpec>(&json).unwrap(), spec);
    }

    #[test]
    fn without_the_field_headers_and_specs_are_as_before() {
        let parsed = parse_campaign_document(&document(json!({})), &|_| true).unwrap();
        assert_eq!(parsed.header.calling_window, None);
        let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
        assert_eq!(
            serde_json::to_string(&spec).unwrap(),
            r#"{"campaign_id":"c","dialplan":"d","caller_id":"+916742000000","department":"home","contact":{"id":"k","phone":"+919876543210","language":null,"official_id":"o","office":"x","service":"y"}}"#
        );
        let header = serde_json::to_string(&parsed.header).unwrap();
        assert!(!header.contains("calling_window"), "{header}");
        // `null` is the same as leaving it out.
        let parsed =
            parse_campaign_document(&document(json!({"calling_window": null})), &|_| true).unwrap();
        assert_eq!(parsed.header.calling_window, None);
    }

    #[test]
    fn a_bad_window_refuses_the_document_with_the_other_problems() {
        let doc = document(json!({"department": "",
            "calling_window": {"zone": "Mars/Olympus", "ranges": ["09:00-13:00", "10:00-11:00"],
                               "weekdays": ["mon", "someday"],
                               "holiday_files": ["odisha-2026.txt"]}}));
        let Err(DocumentError::Invalid(problems)) = parse_campaign_document(&doc, &|_| true) else {
            panic!("refused");
        };
        let all = problems.join("\n");
        for want in [
            "field `department` is empty",
            "field `calling_window.zone`: \"Mars/Olympus\" is not an IANA time zone",
            "field `calling_window.ranges`: 09:00-13:00 and 10:00-11:00 overlap",
            "field `calling_window.weekdays[1]`: \"someday\" is not a weekday",
            "field `calling_window.holiday_files`: holiday files are read where",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
        assert_eq!(problems.len(), 5, "{all}");
    }
}
