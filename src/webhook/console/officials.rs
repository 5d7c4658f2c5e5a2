//! The officials pages: the registry (`/officials`, numbers masked) and,
//! per official, a form that asks sampark to call a citizen on their behalf
//! (`/officials/{id}`, posting to `/officials/{id}/call`): the same request
//! as `POST /admin/official-calls`, queued in the standing campaign of the
//! department.

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};

use super::auth::Access;
use super::campaigns::unavailable;
use super::router::Form;
use super::view::{self, Chrome, Nav};
use crate::domain::{Official, OfficialId, mask_digit_runs};
use crate::store::OfficialQuery;
use crate::webhook::admin::AdminRoutes;
use crate::webhook::admin_official_calls::CallRequest;

pub struct OfficialRow {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub office: String,
    pub department: String,
    pub languages: String,
}

impl OfficialRow {
    fn of(o: &Official) -> OfficialRow {
        OfficialRow {
            id: o.official_id().to_string(),
            name: o.name().to_owned(),
            phone: o.phone().masked(),
            office: o.office().to_owned(),
            department: o.department().to_owned(),
            languages: o.languages().join(", "),
        }
    }
}

#[derive(Template)]
#[template(path = "officials.html")]
pub struct OfficialsPage {
    pub chrome: Chrome,
    pub rows: Vec<OfficialRow>,
}

#[derive(Template)]
#[template(path = "official.html")]
pub struct OfficialPage {
    pub chrome: Chrome,
    pub o: OfficialRow,
    /// Why the last request was refused (digits masked).
    pub error: Option<String>,
}

/// `GET /officials`.
pub async fn list_page(routes: &AdminRoutes, access: &Access) -> Response<Full<Bytes>> {
    match routes.store.officials(&OfficialQuery::default()).await {
        Ok(officials) => view::page(
            StatusCode::OK,
            &OfficialsPage {
                chrome: Chrome::new("Officials", Nav::Officials, access),
                rows: officials.iter().map(OfficialRow::of).collect(),
            },
        ),
        Err(e) => unavailable(access, &e),
    }
}

/// `GET /officials/{id}`.
pub async fn detail_page(
    routes: &AdminRoutes,
    access: &Access,
    raw_id: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response<Full<Bytes>> {
    let Ok(id) = OfficialId::parse(raw_id) else {
        return view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such official.",
        );
    };
    match routes.store.official(&id).await {
        Ok(Some(o)) => view::page(
            status,
            &OfficialPage {
                chrome: Chrome::new(format!("Official {}", o.name()), Nav::Officials, access),
                o: OfficialRow::of(&o),
                error,
            },
        ),
        Ok(None) => view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such official.",
        ),
        Err(e) => unavailable(access, &e),
    }
}

/// `POST /officials/{id}/call`: queues the call, then shows the campaign.
pub async fn call(
    routes: &AdminRoutes,
    access: &Access,
    raw_id: &str,
    form: &Form,
) -> Response<Full<Bytes>> {
    let Ok(id) = OfficialId::parse(raw_id) else {
        return view::error(
            StatusCode::NOT_FOUND,
            Some(access),
            "There is no such official.",
        );
    };
    let official = match routes.store.official(&id).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return view::error(
                StatusCode::NOT_FOUND,
                Some(access),
                "There is no such official.",
            );
        }
        Err(e) => return unavailable(access, &e),
    };
    let mut contact = Map::new();
    let text = |key: &str| form.get(key).map(str::trim).filter(|v| !v.is_empty());
    // A contact id the citizen's visit is known by, else one for this request.
    let contact_id = text("contact_id").map_or_else(|| format!("req-{}", now_ms()), str::to_owned);
    contact.insert("id".into(), json!(contact_id));
    for key in ["phone", "first_name", "service", "language"] {
        if let Some(v) = text(key) {
            contact.insert(key.into(), json!(v));
        }
    }
    contact.insert(
        "office".into(),
        json!(text("office").unwrap_or(official.office())),
    );
    if let Some(date) = text("visit_date") {
        // A date alone (the form's date field) is the visit at noon in the
        // programme's zone; a malformed one is passed on for the document
        // check to refuse with its reason.
        let zone = routes
            .eta
            .as_ref()
            .map_or_else(|| jiff::tz::TimeZone::UTC, |e| e.hours.zone().clone());
        let at = date
            .parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| {
                zone.to_ambiguous_timestamp(d.at(12, 0, 0, 0))
                    .compatible()
                    .ok()
            })
            .map_or_else(|| date.to_owned(), |ts| ts.to_string());
        contact.insert("visit_at".into(), json!(at));
    }
    let request = CallRequest {
        official_id: id.to_string(),
        department: text("department")
            .unwrap_or(official.department())
            .to_owned(),
        recording: form.checked("recording"),
        contact,
    };
    let refused = match routes.official_call_document(request).await {
        Ok(document) => {
            let response = routes
                .submit(&Bytes::from(document.to_string()), true)
                .await;
            if response.status() == StatusCode::ACCEPTED {
                let campaign = document["id"].as_str().unwrap_or_default();
                return view::redirect(&format!("/campaigns/{campaign}?done=call-queued"));
            }
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let reason = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "the request was refused".into());
            (status, reason)
        }
        Err(refused) => (refused.status, refused.message),
    };
    detail_page(
        routes,
        access,
        raw_id,
        Some(mask_digit_runs(&refused.1)),
        refused.0,
    )
    .await
}

/// Milliseconds since the epoch, for a request's contact id.
fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}
