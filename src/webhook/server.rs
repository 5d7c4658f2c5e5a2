//! A small hyper 1.x server: one task per connection, connection slots
//! per client address and in all (`slots.rs`), TLS handshakes inside the
//! connection task, deadlines on every connection and request body
//! (`deadlines.rs`), each route's admission decided from the request head
//! before any body is read, and a graceful drain of open connections on
//! shutdown.
//!
//! A request goes: head read (within `header_read_timeout`) →
//! [`Routes::admit`] (refused here, the body is never read and the
//! connection closes) → body read up to the allowed limit, by the request
//! deadline and at the minimum rate → [`Routes::route`] within what is left
//! of the request deadline.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use super::deadlines::{self, Activity, BodyError, Deadlines, Watched};
use super::slots::{Slots, Ticket};
use crate::config::HttpSettings;
use crate::telemetry::{ConnectionClosed, Listener, Metrics};

/// What a route decides from a request's head, before its body is read.
#[derive(Debug)]
pub enum Admission {
    /// Read the body, up to the server's `body_limit`.
    Full,
    /// Read at most [`ANONYMOUS_BODY_LIMIT`] (or `body_limit` if smaller):
    /// the request has not shown who sent it (a login form, a health check).
    Small,
    /// Answer this; the body is never read and the connection closes.
    Refused(Response<Full<Bytes>>),
}

/// The body limit of a request its route did not admit in full.
pub const ANONYMOUS_BODY_LIMIT: usize = 64 * 1024;

/// Routes a request whose body has been read in full.
#[async_trait]
pub trait Routes: Send + Sync + 'static {
    /// Decides from the head alone, before any body is read, whether the
    /// request may go on and how much body it may bring; a refusal is the
    /// answer (the connection then closes, its body unread).
    fn admit(&self, _head: &Parts) -> Admission {
        Admission::Full
    }

    async fn route(&self, request: Request<Bytes>) -> Response<Full<Bytes>>;

    /// The path as the request's log span shows it: routes whose paths can
    /// hold a phone number mask it.
    fn log_path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(path)
    }
}

/// The address of the client a request came from (a request extension set
/// by the server), e.g. for limiting failed logins per client. Behind a
/// proxy it is the proxy's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Limits of one server.
#[derive(Clone)]
pub struct HttpServerConfig {
    /// Largest body of a request its route admitted in full.
    pub body_limit: usize,
    /// Time from the end of a request's head to its answer (body included).
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// Connections one client address may hold; more are closed at once.
    pub max_connections_per_source: usize,
    /// How long open connections may take to finish after shutdown starts.
    pub drain_timeout: Duration,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Header, idle and body-rate deadlines, head size, HTTP/2.
    pub http: HttpSettings,
}

impl HttpServerConfig {
    fn deadlines(&self) -> Deadlines {
        Deadlines {
            header: self.http.header_read_timeout(),
            idle: self.http.idle_timeout(),
            min_body_rate: Some(self.http.min_body_rate_bytes_per_sec).filter(|r| *r > 0),
        }
    }

    /// The connection builder: HTTP/1.1 only unless HTTP/2 is on, then with
    /// its stream and window limits.
    fn builder(&self) -> Builder<TokioExecutor> {
        let http = &self.http;
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            // A backstop: hyper times the wait for a head, idle included.
            .header_read_timeout(http.idle_timeout() + http.header_read_timeout())
            .max_buf_size(http.max_header_bytes.max(8 * 1024));
        if !http.http2 {
            return builder.http1_only();
        }
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(http.http2_max_concurrent_streams)
            .initial_stream_window_size(http.http2_stream_window_bytes)
            .initial_connection_window_size(http.http2_connection_window_bytes)
            .adaptive_window(false)
            .max_header_list_size(u32::try_from(http.max_header_bytes).unwrap_or(u32::MAX));
        builder
    }

    /// The TLS configuration with ALPN offering only what is served.
    fn tls_acceptor(&self) -> Option<TlsAcceptor> {
        let tls = self.tls.as_ref()?;
        let mut tls = rustls::ServerConfig::clone(tls);
        tls.alpn_protocols = if self.http.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Some(TlsAcceptor::from(Arc::new(tls)))
    }
}

/// A bound server, ready to run.
pub struct HttpServer {
    listener: TcpListener,
    config: HttpServerConfig,
    routes: Arc<dyn Routes>,
    name: &'static str,
    closes: Closes,
}

/// Where a listener counts the connections it closes under its limits
/// (`sampark_http_connections_closed_total`), if anywhere.
#[derive(Clone)]
struct Closes(Option<(Arc<Metrics>, Listener)>);

impl Closes {
    fn count(&self, reason: ConnectionClosed) {
        if let Some((metrics, listener)) = &self.0 {
            metrics.connection_closed(*listener, reason);
        }
    }
}

/// A plain-text response.
pub fn text_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

impl HttpServer {
    pub fn new(
        name: &'static str,
        listener: TcpListener,
        config: HttpServerConfig,
        routes: Arc<dyn Routes>,
    ) -> Self {
        Self {
            listener,
            config,
            routes,
            name,
            closes: Closes(None),
        }
    }

    /// Counts the connections it closes under its limits and deadlines in
    /// `metrics`, as `listener`.
    pub fn counting(mut self, metrics: Arc<Metrics>, listener: Listener) -> Self {
        self.closes = Closes(Some((metrics, listener)));
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then drains open connections.
    pub async fn run(self, shutdown: CancellationToken) {
        let slots = Slots::new(
            self.config.max_connections,
            self.config.max_connections_per_source,
        );
        let graceful = GracefulShutdown::new();
        let acceptor = self.config.tls_acceptor();
        let builder = Arc::new(self.config.builder());
        let config = Arc::new(self.config);
        let addr = self
            .listener
            .local_addr()
            .map_or_else(|e| format!("unknown ({e})"), |a| a.to_string());
        info!(server = self.name, addr = %addr, tls = acceptor.is_some(), http2 = config.http.http2, "listening");
        loop {
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        warn!(server = self.name, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // Refused before making room, so it costs no one their slot.
            if slots.at_share(peer.ip()) {
                debug!(server = self.name, client = %peer.ip(), "too many connections from this address; closed");
                self.closes.count(ConnectionClosed::PerSource);
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = slots.room() => {}
            }
            let activity = Activity::new();
            let Ok(ticket) = slots.admit(peer.ip(), activity.clone()) else {
                self.closes.count(ConnectionClosed::PerSource);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let connection = Connection {
                routes: self.routes.clone(),
                config: config.clone(),
                builder: builder.clone(),
                peer,
                activity,
                ticket,
                name: self.name,
                closes: self.closes.clone(),
            };
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let stream = Watched::new(stream, connection.activity.clone());
                match acceptor {
                    None => connection.serve(stream, watcher).await,
                    Some(acceptor) => {
                        let deadline = connection.config.http.header_read_timeout();
                        match tokio::time::timeout(deadline, acceptor.accept(stream)).await {
                            Ok(Ok(tls)) => connection.serve(tls, watcher).await,
                            Ok(Err(e)) => {
                                debug!(server = connection.name, peer = %connection.peer, error = %e, "TLS handshake failed");
                                connection.closes.count(ConnectionClosed::TlsFailed);
                            }
                            Err(_) => {
                                debug!(server = connection.name, peer = %connection.peer, "TLS handshake timed out");
                                connection.closes.count(ConnectionClosed::TlsTimeout);
                            }
                        }
                    }
                }
            });
        }
        drop(self.listener);
        tokio::select! {
            _ = graceful.shutdown() => info!(server = self.name, "connections drained"),
            _ = tokio::time::sleep(config.drain_timeout) => warn!(server = self.name, "drain timed out; closing connections"),
        }
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    routes: Arc<dyn Routes>,
    config: Arc<HttpServerConfig>,
    builder: Arc<Builder<TokioExecutor>>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    /// Its slot, freed when the connection ends.
    ticket: Ticket,
    name: &'static str,
    closes: Closes,
}

impl Connection {
    /// Serves requests until the client leaves, a deadline closes the
    /// connection while no request is in flight, or it gives way.
    async fn serve<S>(self, stream: S, watcher: Watcher)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            routes,
            config,
            builder,
            peer,
            activity,
            ticket,
            name,
            closes,
        } = self;
        let deadlines = config.deadlines();
        let requests = activity.clone();
        let service = service_fn(move |mut req: Request<Incoming>| {
            // Counted as soon as the head is read: from here the connection
            // is not closed under the request.
            let in_flight = requests.request();
            req.extensions_mut().insert(ClientAddr(peer));
            let (routes, config) = (routes.clone(), config.clone());
            async move {
                let response = handle(routes, config, deadlines, req).await;
                drop(in_flight);
                response
            }
        });
        let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::pin!(connection);
        tokio::select! {
            result = &mut connection => {
                if let Err(e) = result {
                    debug!(server = name, %peer, error = %e, "connection ended with an error");
                }
            }
            closing = deadlines::closable(&activity, deadlines, &ticket.give_way) => {
                debug!(server = name, %peer, reason = closing.as_str(), "connection closed");
                closes.count(closing.counted());
            }
        }
    }
}

async fn handle(
    routes: Arc<dyn Routes>,
    config: Arc<HttpServerConfig>,
    deadlines: Deadlines,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let deadline = Instant::now() + config.request_timeout;
    let span = info_span!("http", http.method = %request.method(), http.path = %routes.log_path(request.uri().path()), http.status = tracing::field::Empty);
    async move {
        let (parts, body) = request.into_parts();
        let response = match admitted_body(
            routes.as_ref(),
            &config,
            &parts,
            body,
            deadline,
            deadlines,
        )
        .await
        {
            Ok(body) => {
                let request = Request::from_parts(parts, body);
                match tokio::time::timeout_at(deadline, routes.route(request)).await {
                    Ok(response) => response,
                    Err(_) => text_response(StatusCode::SERVICE_UNAVAILABLE, "request timed out\n"),
                }
            }
            // HTTP/2 ends just the stream (hyper drops connection headers there).
            Err(refusal) if parts.version >= http::Version::HTTP_2 => refusal,
            Err(refusal) => closing(refusal),
        };
        tracing::Span::current().record("http.status", response.status().as_u16());
        Ok(response)
    }
    .instrument(span)
    .await
}

/// The body of a request its route admits, read within its limits; the
/// answer to send instead otherwise.
async fn admitted_body(
    routes: &dyn Routes,
    config: &HttpServerConfig,
    parts: &Parts,
    body: Incoming,
    deadline: Instant,
    deadlines: Deadlines,
) -> Result<Bytes, Response<Full<Bytes>>> {
    let limit = match routes.admit(parts) {
        Admission::Full => config.body_limit,
        Admission::Small => config.body_limit.min(ANONYMOUS_BODY_LIMIT),
        Admission::Refused(answer) => return Err(answer),
    };
    let too_large = || text_response(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n");
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    deadlines::read_body(body, limit, deadline, deadlines)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => too_large(),
            BodyError::TooSlow => {
                text_response(StatusCode::REQUEST_TIMEOUT, "request body too slow\n")
            }
            BodyError::Deadline => text_response(
                StatusCode::REQUEST_TIMEOUT,
                "request body not complete in time\n",
            ),
            BodyError::Broken => {
                text_response(StatusCode::BAD_REQUEST, "could not read the request body\n")
            }
        })
}

/// `response`, closing the connection after it: the request's body was
/// not read (or not all of it), so the connection cannot carry another.
fn closing(mut response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    response.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    response
}
