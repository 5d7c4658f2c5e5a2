//! A round-robin HTTP/1.1 reverse proxy: several daemon instances behind
//! one public URL, as a load balancer would put them.
//!
//! Owns: the listener on 127.0.0.1:0, the backend list, the choice of
//! backend per request. Does not own: health checks — the test takes a
//! killed instance out with `remove_backend`, as a health check would.
//!
//! Each *request* (not connection) goes to the next backend in turn, over a
//! fresh backend connection (no pooling, so a backend that died is noticed
//! at once). A backend that refuses the connection is skipped for the next
//! one; any other failure answers 502, since the request may have reached
//! it. Method, path and query, headers (`Host` and `X-Twilio-Signature`
//! included) and body reach the backend unchanged; only hop-by-hop headers
//! are dropped. Webhook signatures are computed over the public URL, so the
//! daemons' `webhook.public_url` must be this proxy's `url()`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A snapshot of the balancer's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LbStats {
    pub requests: u64,
    /// Backends skipped because they refused the connection.
    pub connect_failures: u64,
    /// Requests answered 502/503 by the balancer itself.
    pub failed: u64,
    /// Requests each backend answered.
    pub served: HashMap<SocketAddr, u64>,
}

struct Shared {
    backends: Mutex<Vec<SocketAddr>>,
    next: AtomicUsize,
    client: Client<HttpConnector, Full<Bytes>>,
    requests: AtomicU64,
    connect_failures: AtomicU64,
    failed: AtomicU64,
    served: Mutex<HashMap<SocketAddr, u64>>,
}

/// The balancer; dropping it stops every task it started.
pub struct RoundRobin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl RoundRobin {
    /// Listens on 127.0.0.1:0; `backends` may be empty and set later (the
    /// daemons need this URL before they start).
    pub async fn start(backends: Vec<SocketAddr>) -> RoundRobin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind lb");
        let addr = listener.local_addr().expect("lb address");
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        let shared = Arc::new(Shared {
            backends: Mutex::new(backends),
            next: AtomicUsize::new(0),
            client,
            requests: AtomicU64::new(0),
            connect_failures: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            served: Mutex::new(HashMap::new()),
        });
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(accept_loop(
            listener,
            shared.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        RoundRobin {
            addr,
            shared,
            cancel,
            tracker,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, the public URL to give the daemons.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn backends(&self) -> Vec<SocketAddr> {
        lock(&self.shared.backends).clone()
    }

    pub fn set_backends(&self, backends: Vec<SocketAddr>) {
        *lock(&self.shared.backends) = backends;
    }

    pub fn add_backend(&self, backend: SocketAddr) {
        lock(&self.shared.backends).push(backend);
    }

    /// Takes a backend out of rotation (a failed health check).
    pub fn remove_backend(&self, backend: SocketAddr) {
        lock(&self.shared.backends).retain(|b| *b != backend);
    }

    /// Requests `backend` answered so far.
    pub fn served(&self, backend: SocketAddr) -> u64 {
        lock(&self.shared.served)
            .get(&backend)
            .copied()
            .unwrap_or(0)
    }

    pub fn stats(&self) -> LbStats {
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        LbStats {
            requests: get(&self.shared.requests),
            connect_failures: get(&self.shared.connect_failures),
            failed: get(&self.shared.failed),
            served: lock(&self.shared.served).clone(),
        }
    }

    /// Stops accepting, drops open connections, waits for every task.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

impl Drop for RoundRobin {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.tracker.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            let service = service_fn(move |req| forward(shared.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = conn => {}
            }
        });
    }
}

/// Sends one request to the next backend that accepts a connection.
async fn forward(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(own_reply(
            &shared,
            StatusCode::BAD_REQUEST,
            "unreadable body",
        ));
    };
    let backends = lock(&shared.backends).clone();
    if backends.is_empty() {
        return Ok(own_reply(
            &shared,
            StatusCode::SERVICE_UNAVAILABLE,
            "no backends",
        ));
    }
    let first = shared.next.fetch_add(1, Ordering::SeqCst);
    let path = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    for i in 0..backends.len() {
        let backend = backends[(first + i) % backends.len()];
        let mut outgoing = Request::new(Full::new(body.clone()));
        *outgoing.method_mut() = parts.method.clone();
        *outgoing.uri_mut() = match format!("http://{backend}{path}").parse() {
            Ok(uri) => uri,
            Err(_) => return Ok(own_reply(&shared, StatusCode::BAD_REQUEST, "bad path")),
        };
        *outgoing.headers_mut() = end_to_end(&parts.headers);
        match shared.client.request(outgoing).await {
            Ok(response) => {
                *lock(&shared.served).entry(backend).or_insert(0) += 1;
                return Ok(relay_response(&shared, response).await);
            }
            Err(e) if e.is_connect() => {
                shared.connect_failures.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                return Ok(own_reply(
                    &shared,
                    StatusCode::BAD_GATEWAY,
                    "backend failed",
                ));
            }
        }
    }
    Ok(own_reply(
        &shared,
        StatusCode::BAD_GATEWAY,
        "no backend accepted the connection",
    ))
}

async fn relay_response(shared: &Shared, response: Response<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return own_reply(shared, StatusCode::BAD_GATEWAY, "backend body failed");
    };
    let mut out = Response::new(Full::new(body));
    *out.status_mut() = parts.status;
    *out.headers_mut() = end_to_end(&parts.headers);
    out
}

/// The headers without hop-by-hop ones (RFC 9110 §7.6.1); the body is
/// re-framed with a `Content-Length` by hyper.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::TE,
        header::TRAILER,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        out.remove(name);
    }
    out.remove("keep-alive");
    out.remove("proxy-connection");
    out
}

fn own_reply(shared: &Shared, status: StatusCode, why: &'static str) -> Response<Full<Bytes>> {
    shared.failed.fetch_add(1, Ordering::SeqCst);
    let mut response = Response::new(Full::new(Bytes::from_static(why.as_bytes())));
    *response.status_mut() = status;
    response
}
