//! Status callbacks that arrived while the store was unreachable. The
//! provider does not retry a status callback (Twilio does not), so answering
//! 503 would lose it: it is kept here, in this process, and applied once the
//! store answers again. A crash in between loses the kept events; the
//! reconciler then asks the provider about those calls when their leases run
//! out, so they are late, not lost.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{CallCore, CallErrorClass, Callback};
use crate::provider::Params;

/// How often kept events are tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Status callbacks waiting for the store, oldest first, at most `cap`.
#[derive(Debug)]
pub struct PendingStatuses {
    queue: Mutex<VecDeque<(Callback, Params)>>,
    cap: usize,
}

impl PendingStatuses {
    pub fn new(cap: usize) -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            cap,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<(Callback, Params)>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps an event; `false` when full (the caller must refuse it).
    pub fn keep(&self, callback: Callback, params: Params) -> bool {
        let mut queue = self.queue();
        if queue.len() >= self.cap {
            return false;
        }
        queue.push_back((callback, params));
        true
    }

    pub fn len(&self) -> usize {
        self.queue().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies kept events through `core` until `cancel`, in arrival order;
    /// stops a pass at the first event the store still cannot take.
    pub async fn run(self: Arc<Self>, core: Arc<CallCore>, cancel: CancellationToken) {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
            let applied = self.drain(&core).await;
            if applied > 0 {
                info!(
                    applied,
                    left = self.len(),
                    "status callbacks kept during a store outage applied"
                );
            }
        }
        let left = self.len();
        if left > 0 {
            warn!(
                left,
                "status callbacks still waiting for the store at shutdown; the reconciler will settle those calls"
            );
        }
    }

    async fn drain(&self, core: &CallCore) -> usize {
        let mut applied = 0;
        loop {
            let Some((callback, params)) = self.queue().pop_front() else {
                return applied;
            };
            match core.handle(&callback, &params).await {
                Ok(_) => applied += 1,
                Err(e) if e.class() == CallErrorClass::Unavailable => {
                    self.queue().push_front((callback, params));
                    return applied;
                }
                Err(e) => warn!(error = %e, "a kept status callback cannot be applied; dropped"),
            }
        }
    }
}
