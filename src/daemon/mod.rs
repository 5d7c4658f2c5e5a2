//! Wiring and lifecycle: starts every subsystem on one `TaskTracker` and
//! shuts them down in the order ARCHITECTURE.md gives, so nothing is lost.
//!
//! Owns: which tasks run, in what order they start (the admin listener
//! before Redis is reachable: `startup.rs`) and stop, and the small tasks
//! that belong to no other module: the data watch, the feedback relay,
//! the campaign log, the heartbeat and the wake reader (wakes from other
//! instances). Does not own: what the others do.

mod campaign_log;
mod citizen_keys;
mod heartbeat;
mod parts;
mod relay;
mod run;
mod startup;
mod wake;
mod watch;

pub use campaign_log::CampaignLog;
pub use citizen_keys::{
    LEGACY_SCAN_BUDGET, SECRET_ENV, missing_secret_message, refuse_unless_keys_settled,
};
pub use heartbeat::Heartbeat;
pub use parts::{
    DaemonParts, Listeners, PartsError, ServerTls, admin_http_config, dialer_config,
    metrics_registry,
};
pub use relay::{Relay, flush_feedback};
pub use run::{Daemon, stop_signal, wait_for_signal};
pub use startup::Startup;
pub use wake::WakeReader;
pub use watch::{CHECK_EVERY, DataWatch, refuse_unless_durable};
