//! The heartbeat: each instance tells the store it is alive every
//! [`EVERY`], so an operator sees which instances run (the console's
//! health page, `Store::instances`). One task per daemon, on the back token.
//! One script call per instance every ten seconds.
//!
//! Owns: how often, and how long a silent instance stays listed. A missed
//! heartbeat (Redis unreachable) is only retried at the next one: the
//! listing is for people, nothing decides on it.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::store::Store;

/// How often an instance says it is alive.
pub const EVERY: Duration = Duration::from_secs(10);
/// An instance silent this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct Heartbeat {
    pub store: Arc<dyn Store>,
    pub instance: String,
}

impl Heartbeat {
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.store.heartbeat(&self.instance, FORGET_AFTER).await {
                debug!(error = %e, "heartbeat not recorded");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(EVERY) => {}
            }
        }
    }
}
