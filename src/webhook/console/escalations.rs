//! The escalation pages: the list, open ones first, filtered by department,
//! severity and status (`/escalations`); one escalation with its answers
//! (`/escalations/{id}`); acknowledging it (`POST /escalations/{id}/ack`,
//! once: a second acknowledgement keeps the first).

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::auth::Access;
use super::campaigns::unavailable;
use super::router::{Form, Query};
use super::view::{self, Chrome, Clock, Nav};
use crate::domain::{Acknowledgement, EscalationView, Severity};
use crate::store::{AckOutcome, EscalationQuery, Store};

/// Escalations listed at most on one page.
pub const LIST_LIMIT: usize = 500;
/// The longest name and note kept with an acknowledgement.
const MAX_BY: usize = 100;
const MAX_NOTE: usize = 2_000;

/// One escalation's line.
pub struct EscalationRow {
    pub id: String,
    pub severity: &'static str,
    pub flags: String,
    pub department: String,
    pub office: String,
    pub official: String,
    pub service: String,
    pub campaign: String,
    pub at: String,
    pub open: bool,
    /// `by name, at time`, once acknowledged.
    pub acknowledged: Option<String>,
    pub note: Option<String>,
}

impl EscalationRow {
    fn of(view: &EscalationView, clock: &Clock) -> EscalationRow {
        let e = &view.escalation;
        EscalationRow {
            id: e.escalation_id.clone(),
            severity: e.severity.as_str(),
            flags: e.flags.join(", ").replace('_', " "),
            department: e.department.clone(),
            office: e.office.clone(),
            official: e.official_id.clone(),
            service: e.service.clone(),
            campaign: e.campaign_id.clone(),
            at: clock.at(e.at_ms),
            open: view.is_open(),
            acknowledged: view
                .acknowledged
                .as_ref()
                .map(|a| format!("{}, {}", a.by, clock.at(a.at_ms))),
            note: view.acknowledged.as_ref().and_then(|a| a.note.clone()),
        }
    }
}

/// The filter form's values, as given.
pub struct Filter {
    pub department: String,
    pub severity: String,
    /// `open` (default) or `all`.
    pub status: String,
}

#[derive(Template)]
#[template(path = "escalations.html")]
pub struct EscalationsPage {
    pub chrome: Chrome,
    pub filter: Filter,
    pub departments: Vec<String>,
    pub severities: [&'static str; 3],
    pub rows: Vec<EscalationRow>,
    pub open: usize,
    pub limit: usize,
}

#[derive(Template)]
#[template(path = "escalation.html")]
pub struct EscalationPage {
    pub chrome: Chrome,
    pub e: EscalationRow,
    pub direction: &'static str,
    /// `(question, label (value))`.
    pub answers: Vec<(String, String)>,
}

/// `GET /escalations?department=&severity=&status=open|all`.
pub async fn list_page(
    store: &dyn Store,
    clock: &Clock,
    access: &Access,
    query: &Query,
) -> Response<Full<Bytes>> {
    let filter = Filter {
        department: query.get("department").unwrap_or_default().to_owned(),
        severity: query.get("severity").unwrap_or_default().to_owned(),
        status: match query.get("status") {
            Some("all") => "all".to_owned(),
            _ => "open".to_owned(),
        },
    };
    let severity = match filter.severity.as_str() {
        "" => None,
        s => match s.parse::<Severity>() {
            Ok(s) => Some(s),
            Err(e) => return view::error(StatusCode::BAD_REQUEST, Some(access), e),
        },
    };
    let q = EscalationQuery {
        open_only: filter.status == "open",
        department: (!filter.department.is_empty()).then(|| filter.department.clone()),
        severity,
        limit: LIST_LIMIT,
    };
    // The departments to choose from: those with an open escalation, and
    // the one chosen.
    let every_open = EscalationQuery {
        open_only: true,
        ..EscalationQuery::default()
    };
    let (views, open) = match (
        store.escalations(&q).await,
        store.escalations(&every_open).await,
    ) {
        (Ok(views), Ok(open)) => (views, open),
        (Err(e), _) | (_, Err(e)) => return unavailable(access, &e),
    };
    let mut departments: Vec<String> = open
        .iter()
        .map(|v| v.escalation.department.clone())
        .chain((!filter.department.is_empty()).then(|| filter.department.clone()))
        .collect();
    departments.sort();
    departments.dedup();
    let page = EscalationsPage {
        chrome: Chrome::new("Escalations", Nav::Escalations, access),
        filter,
        departments,
        severities: [
            Severity::Urgent.as_str(),
            Severity::High.as_str(),
            Severity::Watch.as_str(),
        ],
        rows: views.iter().map(|v| EscalationRow::of(v, clock)).collect(),
        open: open.len(),
        limit: LIST_LIMIT,
    };
    view::page(StatusCode::OK, &page)
}

/// `GET /escalations/{id}`.
pub async fn detail_page(
    store: &dyn Store,
    clock: &Clock,
    access: &Access,
    id: &str,
    flash: Option<&'static str>,
) -> Response<Full<Bytes>> {
    match store.escalation(id).await {
        Ok(Some(v)) => {
            let answers = v
                .escalation
                .answers
                .iter()
                .map(|a| {
                    (
                        a.question.replace('_', " "),
                        format!("{} ({})", a.label, a.value),
                    )
                })
                .collect();
            let page = EscalationPage {
                chrome: Chrome::new(
                    format!("Escalation {}", v.escalation.escalation_id),
                    Nav::Escalations,
                    access,
                )
                .with_flash(flash),
                direction: if v.escalation.direction.is_outbound() {
                    "sampark called the citizen"
                } else {
                    "the citizen called the programme's number"
                },
                e: EscalationRow::of(&v, clock),
                answers,
            };
            view::page(StatusCode::OK, &page)
        }
        Ok(None) => view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such escalation.",
        ),
        Err(e) => unavailable(access, &e),
    }
}

/// `POST /escalations/{id}/ack` with `by` (required) and `note`.
pub async fn acknowledge(
    store: &dyn Store,
    access: &Access,
    id: &str,
    form: &Form,
) -> Response<Full<Bytes>> {
    let by = form.get("by").unwrap_or_default().trim();
    if by.is_empty() {
        return view::error(
            StatusCode::BAD_REQUEST,
            Some(access),
            "Say who acknowledges the escalation (your name or office).",
        );
    }
    let note = form.get("note").map(str::trim).filter(|n| !n.is_empty());
    let at_ms = match store.now_ms().await {
        Ok(ms) => ms,
        Err(e) => return unavailable(access, &e),
    };
    let ack = Acknowledgement {
        by: by.chars().take(MAX_BY).collect(),
        at_ms,
        note: note.map(|n| n.chars().take(MAX_NOTE).collect()),
    };
    let done = match store.ack_escalation(id, &ack).await {
        Ok(AckOutcome::Acknowledged) => "acknowledged",
        Ok(AckOutcome::Already(_)) => "already",
        Ok(AckOutcome::Unknown) => {
            return view::error(
                StatusCode::NOT_FOUND,
                Some(access),
                "There is no such escalation.",
            );
        }
        Err(e) => return unavailable(access, &e),
    };
    tracing::info!(
        escalation.id = id,
        "escalation acknowledged from the console"
    );
    view::redirect(&format!("/escalations/{}?done={done}", url_safe(id)))
}

/// An escalation id as it may stand in a URL: ids are `esc-` and hex, so
/// anything else is dropped rather than escaped.
pub fn url_safe(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}
