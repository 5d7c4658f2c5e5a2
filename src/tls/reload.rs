//! The task that reloads the listeners' certificates: on SIGHUP (every
//! certificate, changed or not) and when a certificate or key file changes
//! (polled by inode, size and modification time, which also sees a
//! Kubernetes secret's symbolic links swapped). A pair that does not load
//! is refused with an ERROR and the previous one is served on.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::server::ServerCert;

/// How often `serve` looks at the certificate files.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Reloads `certs` until `cancel`: at once on SIGHUP, and within `poll` of
/// a file change. With no certificates it still takes SIGHUP (logging that
/// there is nothing to reload), so the signal never stops the daemon
/// without its drain.
pub async fn watch_certificates(
    certs: Vec<Arc<ServerCert>>,
    poll: Duration,
    cancel: CancellationToken,
) {
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => Some(hangup),
        Err(e) => {
            warn!(error = %e, "Cannot take SIGHUP; certificates reload only when their files change.");
            None
        }
    };
    let mut ticks = tokio::time::interval(poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let all = tokio::select! {
            _ = cancel.cancelled() => return,
            Some(()) = async { hangup.as_mut()?.recv().await } => true,
            _ = ticks.tick() => false,
        };
        if all && certs.is_empty() {
            info!("SIGHUP: no TLS certificate to reload.");
        }
        for cert in certs.iter().filter(|c| all || c.files_changed()) {
            reload(cert, if all { "SIGHUP" } else { "file change" });
        }
    }
}

fn reload(cert: &ServerCert, trigger: &'static str) {
    let path = cert.cert_path().display();
    match cert.reload() {
        Ok(()) => info!(
            server = cert.name(),
            tls.cert_path = %path,
            tls.trigger = trigger,
            "Reloaded the TLS certificate; new connections get it, open ones keep theirs."
        ),
        Err(e) => error!(
            server = cert.name(),
            tls.cert_path = %path,
            tls.trigger = trigger,
            error = %e,
            "Refused the new TLS certificate; still serving the previous one. Fix the files (or put the previous ones back)."
        ),
    }
}
