//! The admin listener: submit and inspect campaigns, `/metrics`, health.
//!
//! | method | path                  | does                                         |
//! |--------|-----------------------|----------------------------------------------|
//! | GET    | /healthz              | 200 while the process runs                   |
//! | GET    | /readyz               | 200 when the store answers, else 503 (JSON)  |
//! | GET    | /metrics              | Prometheus text format                       |
//! | POST   | /admin/campaigns      | check + submit a campaign document (202; 409, 422) |
//! | GET    | /admin/campaigns/{id} | counts by state (JSON), 404 if unknown       |
//! | POST   | /admin/redis/accept-empty | lift a dialling hold (Redis came back empty) |
//! | *      | /admin/dnc…           | the do-not-call list (`admin_dnc.rs`)        |
//! | GET    | /admin/escalations    | escalations, open first (`admin_reports.rs`) |
//! | GET    | /admin/escalations/{id} | one escalation with its answers; 404       |
//! | POST   | /admin/escalations/{id}/ack | acknowledge once (`{"by", "note"?}`)   |
//! | GET    | /admin/reports/{by}   | a ranked report as JSON or CSV               |
//! | *      | /admin/officials…     | the officials' registry (`admin_officials.rs`) |
//! | POST   | /admin/official-calls | an official asks to call a citizen (`admin_official_calls.rs`) |
//! | *      | /, /login, …          | the operator console (`console/`)            |
//!
//! A submission's reply lists its invalid contacts (`rejected_contacts`) and
//! unknown fields (`warnings`); with `?strict=true` either refuses it (422).
//! Every check `intake::check` can make before queueing is made: a document
//! that cannot be used at all (a bad header, a bad calling window, a
//! `holiday_files` the daemon will not read), an unknown dialplan, no valid
//! contact (422), a header other than the stored campaign's (409). The reply
//! names the first (`code`) and lists every reason (`reasons`, and their
//! messages in `problems`). A campaign's status carries its intake tally
//! (`intake`), also in the 404 of a campaign whose documents were all refused.
//!
//! Access (`access.rs`): `/admin/*` requires `Authorization: Bearer <token>`
//! naming one of the configured tokens (any, when none is configured, which
//! validation allows on loopback only). A `read` token may GET; every other
//! method needs an `operator` token (403 otherwise) and is written to the
//! audit log (`audit.rs`) whatever its outcome. Wrong tokens count against
//! the client's budget (429 once spent). `/metrics` needs
//! `admin.metrics_token` (or an admin token) when one is set.
//!
//! The daemon serves these routes behind [`AdminFront`](super::AdminFront)
//! (`health.rs`), which answers health and metrics before the store is
//! reachable and adds the dial gate to readiness.

use std::sync::Arc;

use super::access::{AdminAccess, Denied};
use super::{Admission, Routes, audit, text_response};
use crate::dialplan::Dialplans;
use crate::domain::{CampaignId, ParsedDocument};
use crate::intake::{
    CHUNK_SIZE, Checked, KnownDialplans, Refusal, RefusalKind, check_document, check_stored_header,
    deciding, submit_document,
};
use crate::store::guard::Accepted;
use crate::store::{IntakeStats, Store};
use crate::telemetry::Metrics;
use async_trait::async_trait;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

pub struct AdminRoutes {
    pub store: Arc<dyn Store>,
    pub dialplans: Arc<Dialplans>,
    pub metrics: Arc<Metrics>,
    /// The tokens and roles that may use it.
    pub access: Arc<AdminAccess>,
    /// The daemon's limits, for the estimate in a campaign's status
    /// (`None`: no estimate).
    pub eta: Option<crate::dialer::EtaLimits>,
    /// The operator console's state (sessions, measured rates).
    pub console: super::Console,
    /// How requested officials' calls are placed.
    pub official_calls: super::OfficialCallDesk,
}

pub(super) fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

#[async_trait]
impl Routes for AdminRoutes {
    /// `/admin/*` without the token is refused (401) before its body is
    /// read; the console's pages take a large body only from a request with
    /// the token or a live session (the login form and the rest: 64 KiB).
    fn admit(&self, head: &Parts) -> Admission {
        let path = head.uri.path();
        if path.starts_with("/admin/") {
            return match self.let_in(&head.method, &head.headers, &head.extensions, path) {
                Ok(_) => Admission::Full,
                Err(refused) => Admission::Refused(*refused),
            };
        }
        let console = super::Console::serves(path) && path != "/login";
        if console && self.console.lets_in(&self.access, &head.headers) {
            return Admission::Full;
        }
        Admission::Small
    }

    async fn route(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        match (request.method(), path.as_str()) {
            (&Method::GET, "/healthz") => super::health::alive(),
            (&Method::GET, "/readyz") => super::health::readiness(self.store.as_ref(), None).await,
            (&Method::GET, "/metrics") => {
                super::health::guarded_metrics(&self.metrics, &self.access, &request)
            }
            (_, p) if p.starts_with("/admin/") => {
                let client = super::access::client_of(request.extensions());
                let caller =
                    match self.let_in(request.method(), request.headers(), request.extensions(), p)
                    {
                        Ok(caller) => caller,
                        Err(refused) => return *refused,
                    };
                if !audit::is_write(request.method()) {
                    return self.api(request).await;
                }
                let method = request.method().clone();
                let response = if caller.may_write() {
                    self.api(request).await
                } else {
                    json_response(
                        StatusCode::FORBIDDEN,
                        json!({"error": format!("token {:?} is read-only; this needs an operator token", caller.name)}),
                    )
                };
                audit::record(
                    Some(&caller),
                    &method,
                    &self.log_path(p),
                    client,
                    response.status(),
                );
                response
            }
            (_, p) if super::Console::serves(p) => self.console(request).await,
            _ => text_response(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    fn log_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        match super::admin_dnc::masked_path(path) {
            Some(masked) => std::borrow::Cow::Owned(masked),
            None => std::borrow::Cow::Borrowed(path),
        }
    }
}

/// The reply to a request whose token was not let in.
pub(super) fn denied_response(denied: Denied) -> Response<Full<Bytes>> {
    match denied {
        Denied::Missing | Denied::Wrong => json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong bearer token"}),
        ),
        Denied::TooMany(wait) => {
            let mut r = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": "too many wrong tokens from this address; wait a minute"}),
            );
            if let Ok(v) = http::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                r.headers_mut().insert(http::header::RETRY_AFTER, v);
            }
            r
        }
    }
}

impl AdminRoutes {
    /// Who the bearer token of an `/admin/*` request names; a refusal is the
    /// reply, and a refused write is audit-logged. Called on the request's
    /// head (before its body is read) and again when it is routed: a right
    /// token is let in both times, a wrong one never gets past the first.
    fn let_in(
        &self,
        method: &Method,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
        path: &str,
    ) -> Result<super::access::Caller, Box<Response<Full<Bytes>>>> {
        let client = super::access::client_of(extensions);
        self.access.bearer(headers, client).map_err(|denied| {
            let response = denied_response(denied);
            if audit::is_write(method) {
                audit::record(
                    None,
                    method,
                    &self.log_path(path),
                    client,
                    response.status(),
                );
            }
            Box::new(response)
        })
    }

    /// The `/admin/*` routes, for a caller already let in.
    async fn api(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        let path = request.uri().path().to_owned();
        let p = path.as_str();
        if p == "/admin/redis/accept-empty" && request.method() == Method::POST {
            return self.accept_empty().await;
        }
        if super::admin_reports::owns(p) {
            let query = request.uri().query();
            return self
                .accountability(request.method(), p, query, request.body())
                .await;
        }
        if super::admin_officials::owns(p) {
            return self.officials(&request).await;
        }
        if p == "/admin/official-calls" && request.method() == Method::POST {
            return self.request_official_call(request.body()).await;
        }
        if let Some(rest) = p.strip_prefix("/admin/dnc")
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return self.dnc(request.method(), rest, request.body()).await;
        }
        match (request.method(), p.strip_prefix("/admin/campaigns")) {
            (&Method::POST, Some("")) => {
                self.submit(request.body(), strict(request.uri().query()))
                    .await
            }
            (&Method::GET, Some("")) => self.list().await,
            (&Method::POST, Some(rest)) if rest.starts_with('/') => {
                self.control(&rest[1..], request.uri().query()).await
            }
            (&Method::GET, Some(rest)) if rest.starts_with('/') => self.status(&rest[1..]).await,
            _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }

    pub(super) async fn submit(&self, body: &Bytes, strict: bool) -> Response<Full<Bytes>> {
        let Ok(doc) = std::str::from_utf8(body) else {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": "body is not UTF-8"}),
            );
        };
        let known = KnownDialplans {
            names: self.dialplans.names().map(str::to_owned).collect(),
            place: "is loaded by this daemon".into(),
        };
        let Checked {
            parsed,
            mut refusals,
        } = check_document(doc, Some(&known));
        let (rejected, warnings) = parsed.as_ref().map(problems).unwrap_or_default();
        if let Some(parsed) = &parsed {
            match check_stored_header(self.store.as_ref(), &parsed.header).await {
                Ok(conflict) => refusals.extend(conflict),
                Err(e) => {
                    return json_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        json!({"error": e.to_string()}),
                    );
                }
            }
            if strict && !(parsed.rejected.is_empty() && parsed.warnings.is_empty()) {
                refusals.push(Refusal::new(
                    RefusalKind::Strict,
                    format!(
                        "refused (strict): {} invalid contact(s), {} unknown field(s)",
                        rejected.len(),
                        warnings.len()
                    ),
                ));
            }
        }
        if let Some(kind) = deciding(&refusals) {
            // Every reason on its own too (`problems`), so a client can show each.
            let messages: Vec<&str> = refusals.iter().map(|r| r.message.as_str()).collect();
            let status = StatusCode::from_u16(kind.http_status())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            return json_response(
                status,
                json!({
                    "error": format!("refused: {}", messages.join("; ")),
                    "code": kind,
                    "reasons": refusals,
                    "problems": messages,
                    "rejected_contacts": rejected,
                    "warnings": warnings,
                }),
            );
        }
        let Some(parsed) = parsed else {
            // INVARIANT: a document that did not parse has a refusal.
            return json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": "invalid campaign document"}),
            );
        };
        match submit_document(self.store.as_ref(), doc, CHUNK_SIZE).await {
            Ok(entries) => json_response(
                StatusCode::ACCEPTED,
                json!({
                    "campaign_id": parsed.header.id.as_str(),
                    "entries": entries,
                    "contacts": parsed.contacts.len(),
                    "rejected_contacts": rejected,
                    "warnings": warnings,
                }),
            ),
            Err(e) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": e.to_string()}),
            ),
        }
    }

    /// As `sampark redis accept-empty`.
    async fn accept_empty(&self) -> Response<Full<Bytes>> {
        let Some(guard) = self.store.data_guard() else {
            return json_response(
                StatusCode::NOT_FOUND,
                json!({"error": "this store cannot come back empty"}),
            );
        };
        match guard.accept_if_held().await {
            Ok(Accepted::Lifted { reason, epoch }) => json_response(
                StatusCode::OK,
                json!({"lifted": true, "reason": reason, "epoch": epoch}),
            ),
            Ok(Accepted::NotHeld) => json_response(StatusCode::OK, json!({"lifted": false})),
            Err(e) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": e.to_string()}),
            ),
        }
    }

    async fn status(&self, raw_id: &str) -> Response<Full<Bytes>> {
        let id = match CampaignId::parse(raw_id) {
            Ok(id) => id,
            Err(e) => {
                return json_response(StatusCode::BAD_REQUEST, json!({"error": e.to_string()}));
            }
        };
        let intake = match self.store.intake_stats(&id).await {
            Ok(intake) => intake.as_ref().map_or(json!(null), IntakeStats::summary),
            Err(e) => {
                return json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": e.to_string()}),
                );
            }
        };
        match self.store.campaign_status(&id).await {
            Ok(Some(status)) => {
                let mut summary = status.detail();
                let waiting = self.store.waiting(&id).await;
                let now = self.store.now_ms().await;
                match waiting.and_then(|w| Ok((w, now?))) {
                    Ok((waiting, now)) => {
                        summary["waiting"] = crate::dialer::waiting_report(
                            &status,
                            &waiting,
                            self.eta.as_ref(),
                            now,
                        );
                    }
                    Err(e) => {
                        return json_response(
                            StatusCode::SERVICE_UNAVAILABLE,
                            json!({"error": e.to_string()}),
                        );
                    }
                }
                summary["intake"] = intake;
                json_response(StatusCode::OK, summary)
            }
            // A campaign whose every document was refused has only a tally.
            Ok(None) => json_response(
                StatusCode::NOT_FOUND,
                json!({"error": format!("no campaign {id}"), "intake": intake}),
            ),
            Err(e) => json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": e.to_string()}),
            ),
        }
    }
}

/// `?strict=true` (or `1`, or a bare `strict`) on a submission.
fn strict(query: Option<&str>) -> bool {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .any(|(k, v)| k == "strict" && matches!(v.as_ref(), "" | "true" | "1"))
}

/// The rejected contacts and the unknown fields of a document, as JSON.
fn problems(parsed: &ParsedDocument) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let rejected = parsed
        .rejected
        .iter()
        .map(|r| json!({"index": r.index, "id": r.id, "reason": r.reason}))
        .collect();
    let warnings = parsed
        .warnings
        .iter()
        .map(|w| {
            json!({
                "level": w.level,
                "field": w.field,
                "count": w.count,
                "contacts": w.contacts,
                "did_you_mean": w.did_you_mean,
                "message": w.to_string(),
            })
        })
        .collect();
    (rejected, warnings)
}
