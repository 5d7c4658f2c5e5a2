//! The provider-facing routes. HTTP only: find the route from the callback
//! URL contract, verify the request with the provider's `CallControl` (403
//! otherwise), hand it to the call core, and map the core's error classes to
//! status codes (400 malformed, 503 store unavailable so the provider
//! retries, 500 for data no retry will fix).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tracing::{Instrument, error, info_span, warn};

use super::{Admission, Routes, text_response};
use crate::calls::{
    CallCore, CallError, CallErrorClass, Callback, CallbackUrls, CarriedLeg, PendingStatuses,
    Reply, Route, UrlError,
};
use crate::failpoint::{self, points};
use crate::provider::{Params, Unverified, WebhookRequest};
use crate::telemetry::{Label, Metrics, Subsystem, WebhookKind, WebhookResult};

/// The provider webhook routes over one call core.
pub struct CallWebhooks {
    pub core: Arc<CallCore>,
    pub metrics: Arc<Metrics>,
    /// Status callbacks kept while the store is unreachable.
    pub pending: Arc<PendingStatuses>,
    /// This instance's name (`dialer.instance`), for logs and failpoints.
    pub instance: String,
}

/// Seconds a call is held per hold while the store is unreachable, and how
/// many holds before giving up: about 20 s of silence bridges a Redis
/// failover or restart; a longer outage ends the call (no session was saved
/// for the step, so it is redialled).
const HOLD_SECS: u32 = 2;
const MAX_HOLDS: u32 = 10;

fn metric_kind(route: Route) -> WebhookKind {
    match route {
        Route::Answer => WebhookKind::Answer,
        Route::Gather => WebhookKind::Gather,
        Route::Status => WebhookKind::Status,
        Route::Bridge => WebhookKind::Bridge,
        Route::Whisper => WebhookKind::Whisper,
        Route::Inbound => WebhookKind::Inbound,
        Route::InboundStatus => WebhookKind::InboundStatus,
    }
}

#[async_trait]
impl Routes for CallWebhooks {
    /// A callback without the provider's signature (or, for Exotel, a valid
    /// URL token) is refused 403 before its body is read; every body is
    /// held to `webhook.body_limit_bytes`.
    fn admit(&self, head: &Parts) -> Admission {
        if head.method != Method::POST {
            return Admission::Small;
        }
        let Some(route) = self.core.urls().route(head.uri.path()) else {
            return Admission::Small;
        };
        let path_and_query = head.uri.path_and_query().map_or("/", |p| p.as_str());
        if self
            .core
            .control()
            .may_be_signed(path_and_query, &head.headers)
        {
            return Admission::Full;
        }
        let kind = metric_kind(route);
        warn!(
            kind = kind.as_str(),
            "webhook without a signature; refused before its body"
        );
        self.metrics
            .webhook(kind, WebhookResult::Forbidden, std::time::Duration::ZERO);
        Admission::Refused(text_response(StatusCode::FORBIDDEN, "invalid signature\n"))
    }

    async fn route(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        if request.method() == Method::GET && request.uri().path() == "/healthz" {
            return text_response(StatusCode::OK, "ok\n");
        }
        let parsed = match request.method() {
            &Method::POST => self
                .core
                .urls()
                .parse(request.uri().path(), request.uri().query()),
            _ => None,
        };
        let Some(parsed) = parsed else {
            return text_response(StatusCode::NOT_FOUND, "not found\n");
        };
        let started = Instant::now();
        let kind = metric_kind(match &parsed {
            Ok(callback) => callback.route(),
            Err(e) => e.route,
        });
        let span = info_span!("webhook", kind = kind.as_str());
        let (result, response) = self.handle(parsed, &request).instrument(span).await;
        self.metrics.webhook(kind, result, started.elapsed());
        response
    }
}

impl CallWebhooks {
    /// The store is unreachable. The provider retries neither a call-control
    /// fetch nor a status callback, so a 503 would end the call or lose the
    /// event: a call is held (a pause, then the same request again, up to
    /// `MAX_HOLDS` times, then it ends and is redialled later), and a status
    /// callback is kept and applied when the store is back.
    fn unavailable(
        &self,
        callback: Callback,
        params: Params,
        path_and_query: &str,
        e: &CallError,
    ) -> (WebhookResult, Response<Full<Bytes>>) {
        let control = self.core.control();
        let markup = |body: String| {
            let mut response = Response::new(Full::new(Bytes::from(body)));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(control.content_type()),
            );
            response
        };
        match callback {
            Callback::Status(_) | Callback::InboundStatus => {
                if self.pending.keep(callback, params) {
                    warn!(error = %e, "store unavailable; status callback kept until it is back");
                    return (
                        WebhookResult::Kept,
                        text_response(StatusCode::NO_CONTENT, ""),
                    );
                }
                error!(error = %e, "store unavailable and too many status callbacks kept; refused");
                (
                    WebhookResult::StoreError,
                    text_response(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
                )
            }
            Callback::Answer { .. }
            | Callback::Gather { .. }
            | Callback::Bridge { .. }
            | Callback::Whisper(_)
            | Callback::Inbound => {
                let (_, query) = path_and_query
                    .split_once('?')
                    .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
                let holds = CallbackUrls::holds(query);
                if holds >= MAX_HOLDS {
                    error!(error = %e, holds, "store still unavailable; ending the call (it will be redialled)");
                    return (WebhookResult::StoreError, markup(self.core.hangup()));
                }
                let digits = match &callback {
                    Callback::Gather { digits: None, .. } => Some(control.digits(&params)),
                    _ => None,
                };
                // A redirect repeats neither the keys nor detection's verdict.
                let answered_by = match &callback {
                    Callback::Answer {
                        answered_by: None, ..
                    } => control.answered_by(&params),
                    _ => None,
                };
                // Nor the citizen's leg's outcome.
                let leg = match &callback {
                    Callback::Bridge { leg: None, .. } => {
                        control.bridge_result(&params).ok().map(CarriedLeg::from)
                    }
                    _ => None,
                };
                let again = self.core.urls().held(
                    path_and_query,
                    digits.as_deref(),
                    answered_by,
                    leg.as_ref(),
                );
                warn!(error = %e, holds, "store unavailable; holding the call");
                (
                    WebhookResult::Held,
                    markup(control.render_hold(HOLD_SECS, &again)),
                )
            }
        }
    }

    /// Verifies first (a forged request learns nothing, not even that its
    /// URL was malformed), then hands the callback to the core.
    async fn handle(
        &self,
        parsed: Result<Callback, UrlError>,
        request: &Request<Bytes>,
    ) -> (WebhookResult, Response<Full<Bytes>>) {
        let control = self.core.control();
        let path_and_query = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let verified = control.verify(&WebhookRequest {
            path_and_query,
            headers: request.headers(),
            body: request.body(),
        });
        let params = match verified {
            Ok(params) => params,
            Err(Unverified::Signature) => {
                warn!("webhook signature invalid; refused");
                return (
                    WebhookResult::Forbidden,
                    text_response(StatusCode::FORBIDDEN, "invalid signature\n"),
                );
            }
            Err(Unverified::Body(e)) => {
                warn!(reason = %e, "webhook body over its bounds or unreadable; refused");
                return (
                    WebhookResult::BadRequest,
                    text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
                );
            }
        };
        let callback = match parsed {
            Ok(callback) => callback,
            Err(e) => {
                warn!(reason = %e, "malformed webhook URL");
                return (
                    WebhookResult::BadRequest,
                    text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
                );
            }
        };
        match self.core.handle(&callback, &params).await {
            Ok(Reply::Markup(body)) => {
                failpoint::hit(points::BEFORE_REPLY, &self.instance).await;
                let mut response = Response::new(Full::new(Bytes::from(body)));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(control.content_type()),
                );
                (WebhookResult::Ok, response)
            }
            Ok(Reply::Empty) => (WebhookResult::Ok, text_response(StatusCode::NO_CONTENT, "")),
            Err(e) => match e.class() {
                CallErrorClass::Malformed => {
                    warn!(reason = %e, "bad webhook");
                    (
                        WebhookResult::BadRequest,
                        text_response(StatusCode::BAD_REQUEST, format!("{e}\n")),
                    )
                }
                CallErrorClass::Unavailable => {
                    self.metrics.store_error(Subsystem::Webhook);
                    self.unavailable(callback, params, path_and_query, &e)
                }
                CallErrorClass::Internal => {
                    self.metrics.store_error(Subsystem::Webhook);
                    error!(error = %e, "webhook failed on stored data; an operator must look");
                    (
                        WebhookResult::Internal,
                        text_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
                    )
                }
            },
        }
    }
}
