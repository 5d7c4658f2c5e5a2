//! The webhook/admin server over rustls TLS, with a self-signed test certificate.

mod support;

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sampark::store::memory::MemoryStore;
use sampark::telemetry::Metrics;
use sampark::webhook::{AdminRoutes, HttpServer, load_tls_config};
use support::daemon::{dialplans, http_config, repo_path};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let cert = repo_path("tests/fixtures/tls-cert.pem");
    let key = repo_path("tests/fixtures/tls-key.pem");
    let mut config = http_config();
    config.tls = Some(load_tls_config(&cert, &key).expect("test certificate loads"));
    let routes = AdminRoutes {
        eta: None,
        store: Arc::new(MemoryStore::new(1)),
        dialplans: dialplans(),
        metrics: Arc::new(Metrics::new()),
        access: Arc::new(sampark::webhook::AdminAccess::open()),
        console: sampark::webhook::Console::new(None),
        official_calls: sampark::webhook::OfficialCallDesk {
            dialplan: "official-call".into(),
            caller_id: "+916742100100".into(),
        },
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(HttpServer::new("admin", listener, config, Arc::new(routes)).run(cancel.clone()));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(repo_path("tests/fixtures/tls-ca.pem")).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("handshake");
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tls.read_to_string(&mut response).await.ok();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let (status, _) = support::http::raw(
        addr,
        &format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert_ne!(status, 200);
    cancel.cancel();
}

#[test]
fn missing_or_bad_certificate_files_are_clear_errors() {
    let missing = load_tls_config(
        &repo_path("tests/fixtures/nope.pem"),
        &repo_path("tests/fixtures/tls-key.pem"),
    );
    let Err(err) = missing else {
        panic!("a missing certificate is an error")
    };
    let err = err.to_string();
    assert!(err.contains("nope.pem"), "{err}");
    let swapped = load_tls_config(
        &repo_path("tests/fixtures/tls-key.pem"),
        &repo_path("tests/fixtures/tls-cert.pem"),
    );
    assert!(swapped.is_err());
}
