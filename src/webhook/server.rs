//! A small hyper 1.x server: one task per connection, a connection limit
//! taken before `accept()`, TLS handshakes inside the connection task, the
//! body read up to a limit before routing, a timeout per request, and a
//! graceful drain of open connections on shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

/// Routes a request whose body has been read in full.
#[async_trait]
pub trait Routes: Send + Sync + 'static {
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
    pub body_limit: usize,
    pub request_timeout: Duration,
    pub max_connections: usize,
    /// How long open connections may take to finish after shutdown starts.
    pub drain_timeout: Duration,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// A bound server, ready to run.
pub struct HttpServer {
    listener: TcpListener,
    config: HttpServerConfig,
    routes: Arc<dyn Routes>,
    name: &'static str,
}

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
        }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then drains open connections.
    pub async fn run(self, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.config.max_connections.max(1)));
        let graceful = GracefulShutdown::new();
        let acceptor = self.config.tls.clone().map(TlsAcceptor::from);
        let config = Arc::new(self.config);
        let addr = self
            .listener
            .local_addr()
            .map_or_else(|e| format!("unknown ({e})"), |a| a.to_string());
        info!(server = self.name, addr = %addr, tls = acceptor.is_some(), "listening");
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
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
            let _ = stream.set_nodelay(true);
            let routes = self.routes.clone();
            let config = config.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            let name = self.name;
            tokio::spawn(async move {
                let service = service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(ClientAddr(peer));
                    handle(routes.clone(), config.clone(), req)
                });
                let builder = Builder::new(TokioExecutor::new());
                let result = match acceptor {
                    None => {
                        watcher
                            .watch(builder.serve_connection(TokioIo::new(stream), service))
                            .await
                    }
                    Some(acceptor) => {
                        match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(tls)) => {
                                watcher
                                    .watch(builder.serve_connection(TokioIo::new(tls), service))
                                    .await
                            }
                            Ok(Err(e)) => {
                                debug!(server = name, %peer, error = %e, "TLS handshake failed");
                                Ok(())
                            }
                            Err(_) => {
                                debug!(server = name, %peer, "TLS handshake timed out");
                                Ok(())
                            }
                        }
                    }
                };
                if let Err(e) = result {
                    debug!(server = name, %peer, error = %e, "connection ended with an error");
                }
                drop(permit);
            });
        }
        drop(self.listener);
        tokio::select! {
            _ = graceful.shutdown() => info!(server = self.name, "connections drained"),
            _ = tokio::time::sleep(config.drain_timeout) => warn!(server = self.name, "drain timed out; closing connections"),
        }
    }
}

async fn handle(
    routes: Arc<dyn Routes>,
    config: Arc<HttpServerConfig>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let span = info_span!("http", http.method = %request.method(), http.path = %routes.log_path(request.uri().path()), http.status = tracing::field::Empty);
    async move {
        let (parts, body) = request.into_parts();
        let body = match tokio::time::timeout(
            config.request_timeout,
            Limited::new(body, config.body_limit).collect(),
        )
        .await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e))
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                return Ok(text_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large\n",
                ));
            }
            Ok(Err(_)) => {
                return Ok(text_response(
                    StatusCode::BAD_REQUEST,
                    "could not read the request body\n",
                ));
            }
            Err(_) => {
                return Ok(text_response(
                    StatusCode::REQUEST_TIMEOUT,
                    "request body too slow\n",
                ));
            }
        };
        let request = Request::from_parts(parts, body);
        let response =
            match tokio::time::timeout(config.request_timeout, routes.route(request)).await {
                Ok(response) => response,
                Err(_) => text_response(StatusCode::SERVICE_UNAVAILABLE, "request timed out\n"),
            };
        tracing::Span::current().record("http.status", response.status().as_u16());
        Ok(response)
    }
    .instrument(span)
    .await
}
