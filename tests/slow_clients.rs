//! Slow and abusive clients cannot starve genuine webhooks: `sampark serve`
//! as a process (real redis-server, the simulator as provider) under 2,000
//! idle and slow connections (HTTP/1 idle, HTTP/1 dribbling a head one byte
//! a second, HTTP/1 dribbling a body, HTTP/2 holding streams open) still
//! answers signed webhooks, closes every slow connection by its deadlines,
//! and keeps its memory bounded; one address gets its share of connections
//! and no more; a request that cannot be authenticated is refused before
//! its body is read.

mod support;

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sampark::simulator::SimulatorConfig;
use support::daemon::{AUTH_TOKEN, start_simulator};
use support::eventually;
use support::http::raw;
use support::provider::Provider;
use support::redis_server::{RedisServer, free_port};
use support::serve::Serve;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

const ADMIN_TOKEN: &str = "slow-clients-admin-token-0000000001";
/// The deadlines the daemon runs with here (shorter than the defaults, so
/// the test sees them act): a head within 3 s of its first byte, 6 s idle.
const HEADER_SECS: u64 = 3;
const IDLE_SECS: u64 = 6;
/// What a genuine webhook may take while the flood is on.
const BUDGET: Duration = Duration::from_secs(2);
/// How much more memory the daemon may hold under the flood than idle.
const RSS_BOUND_KIB: u64 = 96 * 1024;
/// A status callback for a job that does not exist: signed, so the daemon
/// handles it (and answers the same with or without a flood).
const GENUINE: &str = "/twilio/status?job=slow%2Fnone&shard=0&attempt=1";

struct Daemon {
    serve: Serve,
    webhook: SocketAddr,
    admin: SocketAddr,
    _log: tempfile::TempDir,
}

/// The resident memory of process `pid`, from /proc (`None` once it is
/// gone).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `serve` with the repository's configuration, HTTP/2 on for the webhook
/// listener, the test's deadlines, an admin token; ready when it returns.
async fn serve(redis: &RedisServer, simulator: &str) -> Daemon {
    let webhook: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = tempfile::tempdir().unwrap();
    let (listen, public_url) = (webhook.to_string(), format!("http://{webhook}"));
    let (header, idle) = ((HEADER_SECS * 1000).to_string(), IDLE_SECS.to_string());
    let serve = support::serve::serve(
        &redis.url(),
        simulator,
        log.path().join("serve.log"),
        &[
            ("SAMPARK__PROVIDER__AUTH_TOKEN", AUTH_TOKEN),
            ("SAMPARK__WEBHOOK__LISTEN", &listen),
            ("SAMPARK__WEBHOOK__PUBLIC_URL", &public_url),
            ("SAMPARK__WEBHOOK__HTTP__HEADER_READ_TIMEOUT_MS", &header),
            ("SAMPARK__WEBHOOK__HTTP__IDLE_TIMEOUT_SECS", &idle),
            ("SAMPARK__WEBHOOK__HTTP__HTTP2", "true"),
            ("SAMPARK__WEBHOOK__MAX_CONNECTIONS_PER_SOURCE", "64"),
            ("SAMPARK__ADMIN__TOKEN", ADMIN_TOKEN),
            ("SAMPARK__LOG__LEVEL", "warn"),
        ],
    );
    let admin = serve.admin;
    eventually(
        Duration::from_secs(60),
        "the daemon to be ready",
        || async {
            TcpStream::connect(admin).await.ok()?;
            let (status, _) = raw(
                admin,
                &format!("GET /readyz HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n"),
            )
            .await;
            (status == 200).then_some(())
        },
    )
    .await;
    Daemon {
        serve,
        webhook,
        admin,
        _log: log,
    }
}

async fn genuine(addr: SocketAddr) -> u16 {
    let params = Provider::Twilio.status_params("CAslow", "completed");
    Provider::Twilio
        .post_webhook(addr, GENUINE, &params)
        .await
        .0
}

/// A connection from `source` (any address of 127/8 reaches the daemon on
/// 127.0.0.1, so each kind of client has addresses of its own).
async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind((source, 0).into()).unwrap();
    socket.connect(addr).await.expect("connect")
}

fn source(kind: u8, n: usize) -> Ipv4Addr {
    // Ten addresses per kind; 2,000 connections keep each under the
    // per-source limit (64).
    Ipv4Addr::new(127, 0, kind, 10 + (n % 10) as u8)
}

/// How a held connection ended.
#[derive(Debug)]
struct Ended {
    /// The status of the answer it got before the close, if any.
    status: Option<u16>,
}

/// Holds `stream` open, writing one byte of `dribble` a second, until the
/// server closes it.
async fn hold(mut stream: TcpStream, head: &[u8], dribble: u8) -> Ended {
    if !head.is_empty() && stream.write_all(head).await.is_err() {
        return Ended { status: None };
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick(), if dribble != 0 => {
                if stream.write_all(&[dribble]).await.is_err() {
                    // The server closed; what it answered is still readable.
                    let _ = stream.read_to_end(&mut seen).await;
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&seen);
    Ended {
        status: text.split_whitespace().nth(1).and_then(|c| c.parse().ok()),
    }
}

/// An HTTP/2 connection (prior knowledge) with `streams` requests whose
/// bodies never come: each stream's status, then whether the server closed
/// the connection.
async fn hold_h2(stream: TcpStream, addr: SocketAddr, streams: usize) -> (Vec<u16>, bool) {
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    let driver = tokio::spawn(connection);
    let mut requests = JoinSet::new();
    for _ in 0..streams {
        let body = StreamBody::new(futures_util::stream::pending::<
            Result<Frame<Bytes>, Infallible>,
        >());
        let request = http::Request::post(format!("http://{addr}{GENUINE}"))
            .header("x-twilio-signature", "not-checked-before-the-body")
            .body(body)
            .unwrap();
        let sent = sender.send_request(request);
        requests.spawn(async move { sent.await.map(|r| r.status().as_u16()).unwrap_or(0) });
    }
    let statuses = requests.join_all().await;
    let closed = tokio::time::timeout(Duration::from_secs(60), driver)
        .await
        .is_ok();
    (statuses, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_idle_and_slow_connections_does_not_starve_genuine_webhooks() {
    let redis = RedisServer::start();
    let (simulator, _sim) = start_simulator(SimulatorConfig::default()).await;
    let daemon = serve(&redis, &simulator.base_url()).await;
    let addr = daemon.webhook;
    let baseline = genuine(addr).await;
    assert!(
        (200..300).contains(&baseline),
        "a signed callback is handled: {baseline}"
    );
    let pid = daemon.serve.child.id();
    let idle_rss = rss_kib(pid).expect("the daemon runs");

    let peak = Arc::new(AtomicU64::new(idle_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // 600 idle, 600 dribbling a head (a header line one byte a second), 600 dribbling a body, 200 HTTP/2
    // connections with 16 streams each: 2,000 connections.
    let mut held = JoinSet::new();
    let slow_head = format!("POST {GENUINE} HTTP/1.1\r\nHost: {addr}\r\nX-Pad: ");
    let slow_body = format!(
        "POST {GENUINE} HTTP/1.1\r\nHost: {addr}\r\nX-Twilio-Signature: checked-after-the-body\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n"
    );
    for n in 0..600 {
        let stream = connect_from(source(1, n), addr).await;
        held.spawn(async move { ("idle", hold(stream, b"", 0).await) });
    }
    for n in 0..600 {
        let stream = connect_from(source(2, n), addr).await;
        let head = slow_head.clone();
        held.spawn(async move { ("head", hold(stream, head.as_bytes(), b'a').await) });
    }
    for n in 0..600 {
        let stream = connect_from(source(3, n), addr).await;
        let head = slow_body.clone();
        held.spawn(async move { ("body", hold(stream, head.as_bytes(), b'a').await) });
    }
    let mut h2 = JoinSet::new();
    for n in 0..200 {
        let stream = connect_from(source(4, n), addr).await;
        h2.spawn(hold_h2(stream, addr, 16));
    }

    // Genuine webhooks while every slow connection is open.
    for i in 0..20 {
        let started = tokio::time::Instant::now();
        let status = tokio::time::timeout(BUDGET, genuine(addr))
            .await
            .unwrap_or_else(|_| panic!("genuine webhook {i} got no answer within {BUDGET:?}"));
        assert_eq!(status, baseline, "genuine webhook {i}");
        eprintln!("genuine webhook {i}: {status} in {:?}", started.elapsed());
    }

    // Every slow connection is closed by a deadline (or gave way to a new
    // connection); slow bodies are answered 408.
    let mut by_kind = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    let all_closed = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(ended) = held.join_next().await {
            let (kind, ended) = ended.unwrap();
            let entry = by_kind.entry(kind).or_default();
            entry.0 += 1;
            if ended.status == Some(408) {
                entry.1 += 1;
            }
            if kind != "body" {
                assert_eq!(ended.status, None, "an {kind} connection gets no answer");
            }
        }
    })
    .await;
    assert!(
        all_closed.is_ok(),
        "slow connections left open: {by_kind:?}"
    );
    eprintln!("closed (count, answered 408) by kind: {by_kind:?}");
    assert_eq!(by_kind["idle"].0, 600);
    assert_eq!(by_kind["head"].0, 600);
    assert_eq!(by_kind["body"].0, 600);
    // A body connection whose head was not read yet may have given way
    // (closed without an answer); the others are answered 408.
    assert!(by_kind["body"].1 > 0, "slow bodies are answered 408");
    let mut streams_408 = 0;
    let mut h2_closed = 0;
    let h2_done = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(done) = h2.join_next().await {
            let (statuses, closed) = done.unwrap();
            streams_408 += statuses.iter().filter(|s| **s == 408).count();
            h2_closed += usize::from(closed);
        }
    })
    .await;
    assert!(h2_done.is_ok(), "HTTP/2 connections left open");
    eprintln!(
        "HTTP/2: {streams_408} of 3200 streams answered 408, {h2_closed} of 200 connections closed"
    );
    assert_eq!(h2_closed, 200, "every HTTP/2 connection is closed");

    sampler.abort();
    let peak = peak.load(Ordering::Relaxed);
    eprintln!(
        "daemon VmRSS: {idle_rss} KiB idle, {peak} KiB at the peak of the flood (+{} KiB; bound +{RSS_BOUND_KIB} KiB)",
        peak.saturating_sub(idle_rss)
    );
    assert!(
        peak.saturating_sub(idle_rss) < RSS_BOUND_KIB,
        "the flood cost {} KiB",
        peak - idle_rss
    );
    // And the daemon still answers as before.
    assert_eq!(genuine(addr).await, baseline);
}

/// Sends a head declaring a `total`-byte body, then the body in 64 KiB
/// chunks while reading: the answer's status and how many body bytes were
/// sent when it came.
async fn refused_early(addr: SocketAddr, head: &str, total: usize) -> (u16, usize) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = head.to_owned();
    let sent = Arc::new(AtomicU64::new(0));
    let writer = {
        let sent = sent.clone();
        tokio::spawn(async move {
            if write.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let mut left = total;
            while left > 0 {
                let n = left.min(chunk.len());
                if write.write_all(&chunk[..n]).await.is_err() {
                    return;
                }
                sent.fetch_add(n as u64, Ordering::Relaxed);
                left -= n;
            }
        })
    };
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let status = loop {
        let n = read.read(&mut buf).await.unwrap_or(0);
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen);
        if let Some(status) = text
            .strip_prefix("HTTP/1.1 ")
            .and_then(|t| t.get(..3))
            .and_then(|c| c.parse().ok())
        {
            break status;
        }
        assert!(n > 0, "closed without an answer");
    };
    let sent_then = sent.load(Ordering::Relaxed) as usize;
    let _ = writer.await;
    (status, sent_then)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_its_share_and_unauthenticated_bodies_are_never_read() {
    let redis = RedisServer::start();
    let (simulator, _sim) = start_simulator(SimulatorConfig::default()).await;
    let daemon = serve(&redis, &simulator.base_url()).await;
    let addr = daemon.webhook;

    // webhook.max_connections_per_source = 64: the 65th from one address
    // is closed at once, while the first 64 stay open.
    let me = Ipv4Addr::new(127, 0, 9, 1);
    let before_share = tokio::time::Instant::now();
    let mut share = Vec::new();
    for _ in 0..64 {
        share.push(connect_from(me, addr).await);
    }
    for extra in 0..5 {
        let mut stream = connect_from(me, addr).await;
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(IDLE_SECS), stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("connection {} over the share was not closed", 65 + extra))
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");
        let open = share
            .iter()
            .filter(|s| {
                let mut probe = [0u8; 1];
                matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            })
            .count();
        assert_eq!(open, 64, "the share stays open while the excess is refused");
    }
    // Another address is served meanwhile.
    assert!((200..300).contains(&genuine(addr).await));

    // Far from max_connections, the deadlines alone close what is idle or
    // slow: the share after webhook.http.idle_timeout_secs, a head dribbled
    // a byte a second after header_read_timeout_ms, without an answer.
    let opened = tokio::time::Instant::now();
    let slow_head = connect_from(Ipv4Addr::new(127, 0, 9, 2), addr).await;
    let head = format!("POST {GENUINE} HTTP/1.1\r\nHost: {addr}\r\nX-Pad: ");
    let ended = hold(slow_head, head.as_bytes(), b'a').await;
    assert_eq!(ended.status, None);
    let took = opened.elapsed();
    assert!(
        took >= Duration::from_secs(HEADER_SECS),
        "closed after {took:?}"
    );
    for stream in share {
        let ended = tokio::time::timeout(Duration::from_secs(60), hold(stream, b"", 0))
            .await
            .expect("an idle connection is closed");
        assert_eq!(ended.status, None);
    }
    let took = before_share.elapsed();
    assert!(
        took >= Duration::from_secs(IDLE_SECS),
        "closed after {took:?}"
    );
    eprintln!("a slow head and 64 idle connections closed by their deadlines");

    // Each close is counted, by listener and reason.
    let admin = daemon.admin;
    let (status, metrics) = raw(
        admin,
        &format!("GET /metrics HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    let closed = |reason: &str| {
        let series = format!(
            "sampark_http_connections_closed_total{{listener=\"webhook\",reason=\"{reason}\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {series}in {metrics}"))
    };
    assert_eq!(closed("per_source"), 5);
    assert!(closed("slow_headers") >= 1);
    assert!(closed("idle") >= 64);
    assert_eq!(closed("gave_way"), 0);

    // 60 MB to the admin API without a token: 401 before the body is read.
    let total = 60_000_000;
    let (status, sent) = refused_early(
        admin,
        &format!("POST /admin/campaigns HTTP/1.1\r\nHost: {admin}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{total:x}\r\n"),
        total,
    )
    .await;
    eprintln!("admin without a token: {status} after {sent} of {total} body bytes sent");
    assert_eq!(status, 401);
    assert!(sent < total / 4, "{sent} bytes sent before the answer");

    // A webhook without a signature and a large body: 403, body unread.
    let (status, sent) = refused_early(
        addr,
        &format!("POST {GENUINE} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {total}\r\n\r\n"),
        total,
    )
    .await;
    eprintln!("webhook without a signature: {status} after {sent} of {total} body bytes sent");
    assert_eq!(status, 403);
    assert!(sent < total / 4, "{sent} bytes sent before the answer");

    // With the token, the same route reads the body (here: not a campaign).
    let (status, _) = raw(
        admin,
        &format!("POST /admin/campaigns HTTP/1.1\r\nHost: {admin}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"),
    )
    .await;
    assert_eq!(status, 422);
}

/// Answers every request 200.
struct Healthy;

#[async_trait::async_trait]
impl sampark::webhook::Routes for Healthy {
    async fn route(
        &self,
        _request: http::Request<Bytes>,
    ) -> http::Response<http_body_util::Full<Bytes>> {
        sampark::webhook::text_response(http::StatusCode::OK, "ok\n")
    }
}

/// The protocol TLS settles on when the client offers `h2` and `http/1.1`.
async fn negotiated(http2: bool) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, ServerName};
    use support::tls::{TestCa, TlsDir};

    let ca = TestCa::new("slow-clients CA");
    let dir = TlsDir::new();
    let (cert, key) = dir.write_pair("server", &ca.server(1));
    let served = Arc::new(sampark::tls::ServerCert::load("webhook", &cert, &key).unwrap());
    let mut config = support::daemon::http_config();
    config.http.http2 = http2;
    config.tls = Some(served.server_config().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let server = sampark::webhook::HttpServer::new("webhook", listener, config, Arc::new(Healthy));
    tokio::spawn(server.run(cancel.clone()));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(
            ServerName::try_from("localhost").unwrap(),
            TcpStream::connect(addr).await.unwrap(),
        )
        .await
        .expect("handshake");
    let protocol = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    cancel.cancel();
    protocol
}

#[tokio::test]
async fn tls_offers_h2_only_when_http2_is_on() {
    assert_eq!(negotiated(false).await.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(negotiated(true).await.as_deref(), Some(&b"h2"[..]));
}
