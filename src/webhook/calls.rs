//! The provider-facing routes. HTTP only: find the route from the callback
//! URL contract, verify the request with the provider's `CallControl` (403
//! otherwise), hand it to the call core, and map the core's error classes to
//! status codes (400 malformed, 503 store unavailable so the provider
//! retries, 500 for data no retry will fix).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tracing::{Instrument, error, info_span, warn};

use super::{Routes, text_response};
use crate::calls::{CallCore, CallErrorClass, Callback, Reply, Route, UrlError};
use crate::failpoint::{self, points};
use crate::provider::WebhookRequest;
use crate::telemetry::{Label, Metrics, Subsystem, WebhookKind, WebhookResult};

/// The provider webhook routes over one call core.
pub struct CallWebhooks {
    pub core: Arc<CallCore>,
    pub metrics: Arc<Metrics>,
    /// This instance's name (`dialer.instance`), for logs and failpoints.
    pub instance: String,
}

fn metric_kind(route: Route) -> WebhookKind {
    match route {
        Route::Answer => WebhookKind::Answer,
        Route::Gather => WebhookKind::Gather,
        Route::Status => WebhookKind::Status,
        Route::Inbound => WebhookKind::Inbound,
        Route::InboundStatus => WebhookKind::InboundStatus,
    }
}

#[async_trait]
impl Routes for CallWebhooks {
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
        let Some(params) = verified else {
            warn!("webhook signature invalid; refused");
            return (
                WebhookResult::Forbidden,
                text_response(StatusCode::FORBIDDEN, "invalid signature\n"),
            );
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
                    warn!(error = %e, "store unavailable; the provider will retry");
                    (
                        WebhookResult::StoreError,
                        text_response(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
                    )
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
