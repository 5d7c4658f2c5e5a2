//! A daemon's admin listener on its own, over the in-memory store, for the
//! admin API tests.

use std::sync::Arc;

use sampark::dialer::{EtaLimits, Quotas};
use sampark::store::Store;
use sampark::store::memory::MemoryStore;
use sampark::telemetry::Metrics;
use sampark::webhook::{AdminRoutes, HttpServer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::daemon::{dialplans, http_config};

/// The admin listener on port 0 (behind `token`, if any), with its store.
pub async fn admin(
    token: Option<&str>,
) -> (std::net::SocketAddr, Arc<dyn Store>, CancellationToken) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
    let (addr, cancel) = admin_over(store.clone(), token).await;
    (addr, store, cancel)
}

/// The admin listener on port 0 over `store` (e.g. a `RedisStore` on a
/// test redis-server), behind `token` if any.
pub async fn admin_over(
    store: Arc<dyn Store>,
    token: Option<&str>,
) -> (std::net::SocketAddr, CancellationToken) {
    admin_with(store, Arc::new(access(token))).await
}

/// The admin listener on port 0 over `store`, letting in whom `access` does.
pub async fn admin_with(
    store: Arc<dyn Store>,
    access: Arc<sampark::webhook::AdminAccess>,
) -> (std::net::SocketAddr, CancellationToken) {
    let routes = AdminRoutes {
        store,
        dialplans: dialplans(),
        metrics: Arc::new(Metrics::new()),
        access,
        eta: Some(EtaLimits {
            quotas: Quotas::uniform(sampark::store::Quota {
                burst: 5,
                period: std::time::Duration::from_secs(60),
            }),
            provider_cps: None,
            hours: sampark::policy::CallingWindow::always(),
        }),
        console: sampark::webhook::Console::new(None),
        official_calls: sampark::webhook::OfficialCallDesk {
            dialplan: "official-call".into(),
            caller_id: "+916742100100".into(),
        },
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let cancel = CancellationToken::new();
    tokio::spawn(
        HttpServer::new("admin", listener, http_config(), Arc::new(routes)).run(cancel.clone()),
    );
    (addr, cancel)
}

/// The admin access of one operator token named `admin` (`admin.token`),
/// or an open listener.
pub fn access(token: Option<&str>) -> sampark::webhook::AdminAccess {
    sampark::webhook::AdminAccess::from_settings(&sampark::config::AdminSettings {
        token: token.map(sampark::config::Secret::new),
        ..sampark::config::AdminSettings::default()
    })
    .unwrap()
}

/// One raw HTTP/1.1 request to the admin listener.
pub fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}
