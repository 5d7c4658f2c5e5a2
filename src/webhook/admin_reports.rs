//! The admin API's escalations and reports (the same as `sampark
//! escalations` and `sampark report`):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | /admin/escalations | `{"escalations": [...]}`, open first; `?all=true`, `department=`, `severity=`, `limit=` |
//! | GET | /admin/escalations/{id} | one escalation with its answers; 404 unknown |
//! | POST | /admin/escalations/{id}/ack | body `{"by", "note"?}`: 200 `{"acknowledged": true, "first": false \| <the first ack>}`; 404 unknown |
//! | GET | /admin/reports/{by} | a ranked report by official, office, department or service; `?department=`, `office=`, `since=`, `until=` (YYYY-MM-DD), `format=json\|csv` |
//!
//! Escalations carry `open` (no acknowledgement yet). An acknowledgement's
//! `by` is what the body says (there are no user accounts yet); its time is
//! the store's clock; each is logged at INFO as an audit trail. A query
//! parameter this API does not know, or one given twice, is refused (400)
//! rather than ignored: a misspelt filter would otherwise widen the answer
//! silently. An empty value (`department=`) means the filter is not set.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use tracing::info;

use super::admin::{AdminRoutes, json_response};
use crate::accountability::escalations::{ack_json, list_json, view_json};
use crate::accountability::format::Format;
use crate::accountability::report::{Report, ReportQuery, build_report, parse_day};
use crate::domain::scorecard::Dimension;
use crate::domain::{Acknowledgement, Severity};
use crate::store::{EscalationQuery, StoreError};

/// Whether `path` is one of this file's routes (under `/admin/escalations`
/// or `/admin/reports`).
pub(super) fn owns(path: &str) -> bool {
    ["/admin/escalations", "/admin/reports"]
        .iter()
        .any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// `POST /admin/escalations/{id}/ack`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckBody {
    by: String,
    #[serde(default)]
    note: Option<String>,
}

impl AdminRoutes {
    /// Routes a request [`owns`] says is ours.
    pub(super) async fn accountability(
        &self,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: &Bytes,
    ) -> Response<Full<Bytes>> {
        let params = match Params::parse(query) {
            Ok(params) => params,
            Err(e) => return bad_request(&e),
        };
        let segments: Vec<&str> = path
            .trim_start_matches("/admin/")
            .trim_end_matches('/')
            .split('/')
            .collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["escalations"]) => self.escalations(&params).await,
            (&Method::GET, ["escalations", id]) => self.escalation(id, &params).await,
            (&Method::POST, ["escalations", id, "ack"]) => self.ack(id, &params, body).await,
            (&Method::GET, ["reports", by]) => self.report(by, &params).await,
            (_, ["escalations"] | ["escalations", _] | ["escalations", _, "ack"])
            | (_, ["reports", _]) => json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "method not allowed here"}),
            ),
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }

    async fn escalations(&self, params: &Params) -> Response<Full<Bytes>> {
        let query = match escalation_query(params) {
            Ok(query) => query,
            Err(e) => return bad_request(&e),
        };
        match self.store.escalations(&query).await {
            Ok(views) => json_response(StatusCode::OK, list_json(&views)),
            Err(e) => unavailable(&e),
        }
    }

    async fn escalation(&self, id: &str, params: &Params) -> Response<Full<Bytes>> {
        if let Err(e) = params.only(&[]) {
            return bad_request(&e);
        }
        match self.store.escalation(id).await {
            Ok(Some(view)) => json_response(StatusCode::OK, view_json(&view)),
            Ok(None) => no_escalation(id),
            Err(e) => unavailable(&e),
        }
    }

    async fn ack(&self, id: &str, params: &Params, body: &Bytes) -> Response<Full<Bytes>> {
        if let Err(e) = params.only(&[]) {
            return bad_request(&e);
        }
        if let Some(refused) = super::json_body::refusal(body) {
            return refused;
        }
        let parsed: AckBody = match serde_json::from_slice(body) {
            Ok(parsed) => parsed,
            Err(e) => {
                return bad_request(&format!(
                    "the body must be a JSON object {{\"by\": \"…\", \"note\": \"…\"}} (note optional): {e}"
                ));
            }
        };
        let now = match self.store.now_ms().await {
            Ok(now) => now,
            Err(e) => return unavailable(&e),
        };
        let ack = match Acknowledgement::new(&parsed.by, parsed.note.as_deref(), now) {
            Ok(ack) => ack,
            Err(e) => return bad_request(&e),
        };
        let outcome = match self.store.ack_escalation(id, &ack).await {
            Ok(outcome) => outcome,
            Err(e) => return unavailable(&e),
        };
        match ack_json(&outcome) {
            Some(reply) => {
                if reply["first"] == json!(false) {
                    info!(escalation.id = %id, escalation.acknowledged_by = %ack.by, "Escalation acknowledged (admin API).");
                }
                json_response(StatusCode::OK, reply)
            }
            None => no_escalation(id),
        }
    }

    async fn report(&self, by: &str, params: &Params) -> Response<Full<Bytes>> {
        let (query, format) = match report_query(by, params) {
            Ok(parsed) => parsed,
            Err(e) => return bad_request(&e),
        };
        let report = match build_report(self.store.as_ref(), &query).await {
            Ok(report) => report,
            Err(e) => return unavailable(&e),
        };
        let mut response = Response::new(Full::new(Bytes::from(format.render(&report))));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        );
        if format == Format::Csv
            && let Ok(value) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{}\"",
                csv_file_name(&report)
            ))
        {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
        response
    }
}

/// `sampark-report-<by>-<since>-<until>.csv` (`none` for a bound of a
/// report with no scorecards): ASCII only, so a plain header value.
fn csv_file_name(report: &Report) -> String {
    let day = |d: Option<jiff::civil::Date>| d.map_or("none".to_owned(), |d| d.to_string());
    format!(
        "sampark-report-{}-{}-{}.csv",
        report.query.by,
        day(report.since),
        day(report.until)
    )
}

/// A request's query parameters, each given at most once (also read by
/// `admin_officials.rs`).
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(query: Option<&str>) -> Result<Params, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if pairs.iter().any(|(seen, _)| *seen == k) {
                return Err(format!("query parameter {k:?} is given twice"));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params(pairs))
    }

    /// Refuses any parameter not in `known`.
    pub(super) fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            None => Ok(()),
            Some((k, _)) if known.is_empty() => Err(format!(
                "unknown query parameter {k:?} (this route takes none)"
            )),
            Some((k, _)) => Err(format!(
                "unknown query parameter {k:?} (this route takes {})",
                known.join(", ")
            )),
        }
    }

    /// A parameter's value; an empty one counts as not given.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn escalation_query(params: &Params) -> Result<EscalationQuery, String> {
    params.only(&["all", "department", "severity", "limit"])?;
    let all = match params.get("all") {
        None | Some("false" | "0") => false,
        Some("true" | "1") => true,
        Some(other) => return Err(format!("all={other:?}: use true or false")),
    };
    let severity = params
        .get("severity")
        .map(str::parse::<Severity>)
        .transpose()?;
    let limit = match params.get("limit") {
        None => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| format!("limit={text:?} is not a whole number"))?,
    };
    Ok(EscalationQuery {
        open_only: !all,
        department: params.get("department").map(str::to_owned),
        severity,
        limit,
    })
}

fn report_query(by: &str, params: &Params) -> Result<(ReportQuery, Format), String> {
    params.only(&["department", "office", "since", "until", "format"])?;
    let by: Dimension = by.parse()?;
    let format = match params.get("format").unwrap_or("json") {
        "json" => Format::Json,
        "csv" => Format::Csv,
        other => return Err(format!("format={other:?}: use json or csv")),
    };
    let day = |key: &str| {
        params
            .get(key)
            .map(|text| parse_day(text).map_err(|e| format!("{key}: {e}")))
            .transpose()
    };
    let query = ReportQuery {
        by,
        department: params.get("department").map(str::to_owned),
        office: params.get("office").map(str::to_owned),
        since: day("since")?,
        until: day("until")?,
    };
    query.validate()?;
    Ok((query, format))
}

fn no_escalation(id: &str) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"error": format!("no escalation {id:?}")}),
    )
}

fn bad_request(error: &str) -> Response<Full<Bytes>> {
    json_response(StatusCode::BAD_REQUEST, json!({ "error": error }))
}

fn unavailable(e: &StoreError) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"error": e.to_string()}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(Some(q)).unwrap()
    }

    #[test]
    fn routes_are_claimed_by_prefix() {
        assert!(owns("/admin/escalations"));
        assert!(owns("/admin/escalations/esc-1/ack"));
        assert!(owns("/admin/reports/office"));
        assert!(!owns("/admin/escalationsx"));
        assert!(!owns("/admin/campaigns"));
    }

    #[test]
    fn escalation_filters() {
        let q = escalation_query(&params(
            "all=true&department=police&severity=urgent&limit=3",
        ))
        .unwrap();
        assert_eq!(
            q,
            EscalationQuery {
                open_only: false,
                department: Some("police".into()),
                severity: Some(Severity::Urgent),
                limit: 3
            }
        );
        let q = escalation_query(&params("department=&severity=&limit=")).unwrap();
        assert_eq!(
            q,
            EscalationQuery {
                open_only: true,
                ..Default::default()
            }
        );
        for (bad, says) in [
            ("severity=dire", "not a severity"),
            ("limit=-1", "whole number"),
            ("all=yes", "true or false"),
            ("departmnet=police", "unknown query parameter"),
        ] {
            let e = escalation_query(&params(bad)).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(Params::parse(Some("limit=1&limit=2")).is_err());
    }

    #[test]
    fn report_parameters() {
        let (q, f) = report_query(
            "office",
            &params("department=police&office=%E0%AC%96&since=2026-11-01&format=csv"),
        )
        .unwrap();
        assert_eq!(f, Format::Csv);
        assert_eq!(q.office.as_deref(), Some("ଖ"));
        assert_eq!(q.since, Some("2026-11-01".parse().unwrap()));
        assert_eq!(report_query("office", &params("")).unwrap().1, Format::Json);
        for (by, q, says) in [
            ("officer", "", "not a report dimension"),
            ("office", "since=2026-11-31", "since"),
            ("office", "until=01-12-2026", "YYYY-MM-DD"),
            ("office", "format=table", "json or csv"),
            ("service", "office=x", "office filter"),
            ("office", "since=2026-12-02&until=2026-12-01", "after"),
        ] {
            let e = report_query(by, &params(q)).unwrap_err();
            assert!(e.contains(says), "{by}?{q}: {e}");
        }
    }
}
