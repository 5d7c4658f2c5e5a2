//! Health and readiness, and the admin listener's front door: the admin
//! listener starts before Redis is reachable, so a liveness probe finds the
//! process alive while it waits for its store.
//!
//! | path | while starting (no store yet) | once running |
//! |---|---|---|
//! | `GET /healthz` | 200 `ok` | 200 `ok` |
//! | `GET /readyz` | 503 `{"ready":false,"reason":…}` (e.g. Redis unreachable) | 200 `{"ready":true}`; 503 with the reason while Redis does not answer or dialling is paused (a hold after Redis came back empty) |
//! | `GET /metrics` | served | served |
//! | anything else | 503 `{"error":…}`, `Retry-After` | [`AdminRoutes`] |
//!
//! Owns: the health responses and the switch from starting to running. Does
//! not own: deciding readiness causes (the daemon reports why it waits; the
//! dial gate says why dialling pauses).

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use serde_json::json;

use super::access::{AdminAccess, client_of};
use super::admin::{AdminRoutes, denied_response, json_response};
use super::{Admission, Routes, text_response};
use crate::dialer::DialGate;
use crate::store::Store;
use crate::telemetry::Metrics;

/// Seconds a client is asked to wait before trying an admin route again
/// while the daemon starts.
const RETRY_AFTER_SECS: &str = "5";

/// `GET /healthz`: the process is alive and serving.
pub(super) fn alive() -> Response<Full<Bytes>> {
    text_response(StatusCode::OK, "ok\n")
}

/// `GET /metrics` for a request `access` lets read it (see
/// `AdminAccess::metrics`): 401 without the metrics token when one is set.
pub(super) fn guarded_metrics(
    metrics: &Metrics,
    access: &AdminAccess,
    request: &Request<Bytes>,
) -> Response<Full<Bytes>> {
    match access.metrics(request.headers(), client_of(request.extensions())) {
        Ok(()) => metrics_response(metrics),
        Err(denied) => denied_response(denied),
    }
}

/// `GET /metrics`.
fn metrics_response(metrics: &Metrics) -> Response<Full<Bytes>> {
    let mut r = text_response(StatusCode::OK, metrics.render());
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    r
}

/// `GET /readyz` of a running daemon: the store answers and, if a gate is
/// given, dialling is not paused.
pub(super) async fn readiness(store: &dyn Store, gate: Option<&DialGate>) -> Response<Full<Bytes>> {
    if let Err(e) = store.now_ms().await {
        return not_ready(format!("the store does not answer: {e}"));
    }
    let paused: Vec<&str> = gate
        .map(DialGate::causes)
        .unwrap_or_default()
        .into_iter()
        .map(|cause| cause.describe())
        .collect();
    if !paused.is_empty() {
        return not_ready(paused.join("; "));
    }
    json_response(StatusCode::OK, json!({"ready": true}))
}

fn not_ready(reason: String) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"ready": false, "reason": reason}),
    )
}

enum State {
    /// The daemon is not running yet; why, for `/readyz`.
    Starting(String),
    Running {
        routes: Arc<AdminRoutes>,
        gate: Option<DialGate>,
    },
}

/// The admin listener's routes from the moment it binds: health and metrics
/// at once, the admin API once the daemon runs (see the module docs).
pub struct AdminFront {
    metrics: Arc<Metrics>,
    access: Arc<AdminAccess>,
    state: RwLock<State>,
}

impl AdminFront {
    /// A front that is starting, for `reason` (e.g. "connecting to Redis").
    pub fn starting(
        metrics: Arc<Metrics>,
        access: Arc<AdminAccess>,
        reason: impl Into<String>,
    ) -> Self {
        AdminFront {
            metrics,
            access,
            state: RwLock::new(State::Starting(reason.into())),
        }
    }

    /// Says why the daemon is not running yet. Ignored once it runs.
    pub fn waiting(&self, reason: impl Into<String>) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if let State::Starting(old) = &mut *state {
            *old = reason.into();
        }
    }

    /// The daemon runs: serve the admin API; readiness follows the store
    /// and, when given, the dial gate.
    pub fn running(&self, routes: AdminRoutes, gate: Option<DialGate>) {
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = State::Running {
            routes: Arc::new(routes),
            gate,
        };
    }

    /// `Err(reason)` while starting.
    fn current(&self) -> Result<(Arc<AdminRoutes>, Option<DialGate>), String> {
        match &*self.state.read().unwrap_or_else(PoisonError::into_inner) {
            State::Starting(reason) => Err(reason.clone()),
            State::Running { routes, gate } => Ok((routes.clone(), gate.clone())),
        }
    }
}

#[async_trait]
impl Routes for AdminFront {
    /// Health and metrics take no body; while starting, every route
    /// answers 503 without reading one.
    fn admit(&self, head: &Parts) -> Admission {
        let health = matches!(head.uri.path(), "/healthz" | "/readyz" | "/metrics");
        match self.current() {
            Ok((routes, _)) if !health => routes.admit(head),
            _ => Admission::Small,
        }
    }

    async fn route(&self, request: Request<Bytes>) -> Response<Full<Bytes>> {
        let path = request.uri().path();
        let get = request.method() == Method::GET;
        if get && path == "/healthz" {
            return alive();
        }
        if get && path == "/metrics" {
            return guarded_metrics(&self.metrics, &self.access, &request);
        }
        match (self.current(), get && path == "/readyz") {
            (Err(reason), true) => not_ready(reason),
            (Ok((routes, gate)), true) => readiness(routes.store.as_ref(), gate.as_ref()).await,
            (Ok((routes, _)), false) => routes.route(request).await,
            (Err(reason), false) => {
                let mut r = json_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"error": format!("sampark is starting: {reason}")}),
                );
                r.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static(RETRY_AFTER_SECS),
                );
                r
            }
        }
    }

    fn log_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        match super::admin_dnc::masked_path(path) {
            Some(masked) => std::borrow::Cow::Owned(masked),
            None => std::borrow::Cow::Borrowed(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialer::PauseCause;
    use crate::dialplan::Dialplans;
    use crate::store::memory::MemoryStore;

    fn get(path: &str) -> Request<Bytes> {
        Request::builder()
            .method(Method::GET)
            .uri(path)
            .body(Bytes::new())
            .unwrap()
    }

    async fn answer(front: &AdminFront, path: &str) -> (StatusCode, serde_json::Value) {
        let response = front.route(get(path)).await;
        let status = response.status();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        let value =
            serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
        (status, value)
    }

    #[tokio::test]
    async fn starting_then_running_then_held() {
        let metrics = Arc::new(Metrics::new());
        let front = AdminFront::starting(
            metrics.clone(),
            Arc::new(AdminAccess::open()),
            "connecting to Redis",
        );
        assert_eq!(answer(&front, "/healthz").await.0, StatusCode::OK);
        assert_eq!(answer(&front, "/metrics").await.0, StatusCode::OK);
        front.waiting("cannot reach Redis at redis://127.0.0.1:1/");
        let (status, body) = answer(&front, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["ready"], false);
        assert_eq!(body["reason"], "cannot reach Redis at redis://127.0.0.1:1/");
        let (status, body) = answer(&front, "/admin/campaigns").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("cannot reach Redis")
        );

        let gate = DialGate::new();
        front.running(
            AdminRoutes {
                store: Arc::new(MemoryStore::new(1)),
                dialplans: Arc::new(Dialplans::default()),
                metrics,
                access: Arc::new(AdminAccess::open()),
                eta: None,
                console: crate::webhook::Console::new(None),
                official_calls: crate::webhook::OfficialCallDesk {
                    dialplan: "official-call".into(),
                    caller_id: "+916742100100".into(),
                },
            },
            Some(gate.clone()),
        );
        front.waiting("ignored once running");
        let (status, body) = answer(&front, "/readyz").await;
        assert_eq!((status, body), (StatusCode::OK, json!({"ready": true})));
        assert_eq!(answer(&front, "/admin/campaigns").await.0, StatusCode::OK);

        gate.pause(PauseCause::RedisEmpty);
        let (status, body) = answer(&front, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["reason"].as_str().unwrap().contains("accept-empty"),
            "{body}"
        );
    }
}
