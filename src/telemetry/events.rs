//! Named events: one function per thing worth telling an operator, so the
//! message, level and fields are decided once (after vector's
//! `internal_events`). Fields first, then a sentence. ERROR means data is
//! lost or an operator must act; a failure that is retried is a WARN.

use std::time::Duration;

use super::labels::{Label, Subsystem};
use super::metrics::Metrics;
use crate::config::Settings;

/// The daemon is starting with these settings (secrets stay out).
pub fn starting(settings: &Settings) {
    tracing::info!(
        redis.url = %settings.redis.url.redacted(),
        redis.shards = settings.redis.shards,
        provider.base_url = %settings.provider.base_url,
        webhook.listen = %settings.webhook.listen,
        webhook.public_url = %settings.webhook.public_url,
        webhook.tls = settings.webhook.tls.paths().is_some(),
        admin.listen = %settings.admin.listen,
        admin.token = settings.admin.token.is_some(),
        "sampark starting."
    );
}

/// A store call failed; the caller retries (so this is a warning) and the
/// failure is counted per subsystem.
pub fn store_error(metrics: &Metrics, subsystem: Subsystem, error: &dyn std::error::Error) {
    metrics.store_error(subsystem);
    tracing::warn!(
        subsystem = subsystem.as_str(),
        error = %error,
        "Store operation failed; will retry."
    );
}

/// Shutdown began: intake and dialling stop, webhooks drain for `grace`.
pub fn shutdown_started(grace: Duration, calls_in_flight: i64) {
    tracing::info!(
        grace_secs = grace.as_secs(),
        calls_in_flight,
        "Shutdown requested; draining in-flight calls."
    );
}

/// The grace period ran out with calls still in flight; they will be
/// reconciled by the next instance, but an operator should know.
pub fn shutdown_grace_expired(calls_in_flight: i64) {
    tracing::warn!(
        calls_in_flight,
        "Grace period over with calls in flight; they will be reconciled on restart."
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{LogFormat, init};

    #[test]
    fn store_error_event_counts() {
        init(LogFormat::Json, "warn").unwrap();
        let m = Metrics::new();
        let err = std::io::Error::other("connection refused");
        store_error(&m, Subsystem::Relay, &err);
        store_error(&m, Subsystem::Relay, &err);
        assert_eq!(m.store_errors().get(Subsystem::Relay), 2);
        assert_eq!(m.store_errors().get(Subsystem::Dialer), 0);
        starting(&Settings::default());
    }
}
