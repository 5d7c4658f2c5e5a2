//! Named events: one function per thing worth telling an operator, so the
//! message, level and fields are decided once (after vector's
//! `internal_events`). Fields first, then a sentence. ERROR means data is
//! lost or an operator must act; a failure that is retried is a WARN.

use std::time::Duration;

use super::labels::{Label, Subsystem};
use super::metrics::Metrics;
use crate::config::Settings;
use crate::store::{CampaignState, CampaignStatus, StoreError};

/// The daemon is starting with these settings (secrets stay out).
pub fn starting(settings: &Settings) {
    tracing::info!(
        redis.url = %settings.redis.url.redacted(),
        redis.shards = settings.redis.shards,
        provider.kind = settings.provider.kind.as_str(),
        provider.base_url = match settings.provider.kind {
            crate::config::ProviderKind::Twilio => settings.provider.base_url.as_str(),
            crate::config::ProviderKind::Exotel => settings.provider.exotel.api_base_url(),
        },
        webhook.listen = %settings.webhook.listen,
        webhook.public_url = %settings.webhook.public_url,
        webhook.tls = settings.webhook.tls.paths().is_some(),
        admin.listen = %settings.admin.listen,
        admin.tokens = settings.admin.token_specs().len(),
        admin.metrics_token = settings.admin.metrics_token_source().is_some(),
        admin.tls = settings.admin.tls.paths().is_some(),
        redis.tls.custom = settings.redis.tls.is_set(),
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

/// A campaign's state change, as the daemon's campaign log reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignChange {
    Accepted,
    Paused,
    Resumed,
    Cancelled,
    /// Every contact has an outcome.
    Finished,
    /// A finished campaign got new contacts.
    Reopened,
}

impl CampaignChange {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignChange::Accepted => "accepted",
            CampaignChange::Paused => "paused",
            CampaignChange::Resumed => "resumed",
            CampaignChange::Cancelled => "cancelled",
            CampaignChange::Finished => "finished",
            CampaignChange::Reopened => "reopened",
        }
    }

    fn sentence(self) -> &'static str {
        match self {
            CampaignChange::Accepted => "Campaign accepted.",
            CampaignChange::Paused => {
                "Campaign paused: no new calls until it is resumed; calls in progress finish."
            }
            CampaignChange::Resumed => "Campaign resumed.",
            CampaignChange::Cancelled => {
                "Campaign cancelled: contacts not yet called end as cancelled."
            }
            CampaignChange::Finished => "Campaign finished: every contact has an outcome.",
            CampaignChange::Reopened => "Campaign has new contacts; it is no longer finished.",
        }
    }
}

/// A campaign's contacts, counted for a log line.
struct Tally {
    total: u64,
    finished: u64,
    /// Queued or waiting to retry (held by a limit, the window or a delay).
    waiting: u64,
    /// Being dialled or in a call.
    in_call: u64,
    /// Every state with contacts in it, `queued 3, completed 10, …`.
    by_state: String,
}

impl Tally {
    fn of(status: &CampaignStatus) -> Tally {
        let count = |state: &str| status.counts.get(state).copied().unwrap_or(0);
        // Lifecycle order first, then the outcomes by name.
        let order = |state: &str| match state {
            "queued" => 0,
            "retry_wait" => 1,
            "dialing" => 2,
            "in_call" => 3,
            _ => 4,
        };
        let mut states: Vec<(&String, &u64)> =
            status.counts.iter().filter(|(_, n)| **n > 0).collect();
        states.sort_by_key(|(state, _)| order(state));
        Tally {
            total: status.total(),
            finished: status.finished(),
            waiting: count("queued") + count("retry_wait"),
            in_call: count("dialing") + count("in_call"),
            by_state: states
                .iter()
                .map(|(state, n)| format!("{state} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A campaign changed state (see `daemon/campaign_log.rs`).
pub fn campaign_changed(change: CampaignChange, status: &CampaignStatus, instance: &str) {
    let t = Tally::of(status);
    let hangup = match status.state {
        CampaignState::Cancelled { hangup } => Some(hangup),
        _ => None,
    };
    tracing::info!(
        campaign.id = %status.header.id,
        campaign.name = %status.header.name,
        campaign.event = change.as_str(),
        campaign.state = status.state.as_str(),
        campaign.hangup = hangup,
        contacts.total = t.total,
        contacts.finished = t.finished,
        contacts.waiting = t.waiting,
        contacts.in_call = t.in_call,
        contacts.by_state = %t.by_state,
        instance,
        "{}",
        change.sentence()
    );
}

/// Where an unfinished campaign stands (hourly, and at start).
pub fn campaign_progress(status: &CampaignStatus, instance: &str) {
    let t = Tally::of(status);
    tracing::info!(
        campaign.id = %status.header.id,
        campaign.name = %status.header.name,
        campaign.event = "progress",
        campaign.state = status.state.as_str(),
        contacts.total = t.total,
        contacts.finished = t.finished,
        contacts.waiting = t.waiting,
        contacts.in_call = t.in_call,
        contacts.by_state = %t.by_state,
        instance,
        "Campaign progress."
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
