//! Named events: one function per thing worth telling an operator, so the
//! message, level and fields are decided once (after vector's
//! `internal_events`). Fields first, then a sentence. ERROR means data is
//! lost or an operator must act; a failure that is retried is a WARN.

use std::time::Duration;

use super::labels::{Label, Subsystem};
use super::metrics::Metrics;
use crate::config::Settings;
use crate::store::StoreError;

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

/// A store call failed while `doing` something; counted per subsystem. A
/// transient failure (Redis unreachable) is retried, so it is a warning; a
/// corrupt or refused operation will not fix itself, so it is an error.
pub fn store_error(metrics: &Metrics, subsystem: Subsystem, error: &StoreError, doing: &str) {
    metrics.store_error(subsystem);
    if error.is_transient() {
        tracing::warn!(
            subsystem = subsystem.as_str(),
            error = %error,
            doing,
            "Store unavailable; will retry."
        );
    } else {
        tracing::error!(
            subsystem = subsystem.as_str(),
            error = %error,
            doing,
            "Store refused the operation or holds data this version cannot read; an operator must look."
        );
    }
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

/// Redis would lose data on a restart, or may evict keys. `pausing`: under
/// `redis.persistence = "require"` dialling pauses until it is fixed.
pub fn redis_not_durable(problems: &[String], pausing: bool) {
    let consequence = if pausing {
        "dialling is paused until Redis is fixed (redis.persistence = require)"
    } else {
        "running anyway (redis.persistence = warn)"
    };
    tracing::error!(
        problems = %problems.join("; "),
        consequence,
        "Redis is not set up to keep sampark's data; an operator must change the Redis settings named."
    );
}

/// The Redis settings are fine again (or were fixed while running).
pub fn redis_durable_again() {
    tracing::info!("Redis persistence and eviction settings are fine again.");
}

/// The persistence settings could not be read (e.g. CONFIG refused).
pub fn redis_durability_unchecked(reason: &str) {
    tracing::warn!(
        error = reason,
        "Could not read Redis persistence settings; make sure appendonly is yes and maxmemory-policy is noeviction."
    );
}

/// Advice about the Redis settings that does not break the guarantees.
pub fn redis_durability_note(note: &str) {
    tracing::warn!(note, "Redis persistence could be safer.");
}

/// Dialling is held (Redis came back empty): logged when the pause starts,
/// and as a reminder while it lasts.
pub fn dialling_held(reason: &str, held_at_ms: Option<i64>) {
    tracing::error!(
        reason,
        held_at_ms,
        "Dialling is paused on every instance so that no citizen is called twice. Find out why Redis lost its data, fix its persistence, then run `sampark redis accept-empty` (or POST /admin/redis/accept-empty) to resume. Webhooks and calls in progress go on."
    );
}

/// Dialling resumed after a hold was lifted.
pub fn dialling_resumed(epoch: &str) {
    tracing::info!(
        epoch,
        "An operator accepted the data in Redis; dialling resumes."
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
        let err = StoreError::Unavailable("connection refused".into());
        store_error(&m, Subsystem::Relay, &err, "relaying");
        let corrupt = StoreError::Corrupt {
            key: "k".into(),
            detail: "d".into(),
        };
        store_error(&m, Subsystem::Relay, &corrupt, "relaying");
        assert_eq!(m.store_errors().get(Subsystem::Relay), 2);
        assert_eq!(m.store_errors().get(Subsystem::Dialer), 0);
        starting(&Settings::default());
    }
}
