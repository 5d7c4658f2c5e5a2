//! The wake reader: turns the wakes other instances leave in the store
//! (`store::WakeFeed`; Redis: the `<prefix>:wakes` stream, read with a
//! blocking `XREAD` on a connection of its own) into this instance's notes
//! (`store::WorkSignal`), so its dialer looks at a shard as soon as another
//! instance enqueued or resumed work there, and its reconciler at the
//! hang-up requests as soon as another cancelled with `--hangup`. One task
//! per daemon, on the back token; none for a store without a feed.
//!
//! | event | does |
//! |---|---|
//! | start | reads from the newest wake on (older ones were before this instance) |
//! | `Shards` wake | each shard due now for the dialer |
//! | `Hangup` wake | the reconciler's next pass due now |
//! | nothing for [`BLOCK`] | reads again (one command per [`BLOCK`] while idle) |
//! | the read fails | waits [`RETRY`], then reads again from where it was; on the first read that works, every shard due now for the dialer (wakes may have been lost with Redis) |

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::store::{Store, Wake, WakeFeed, WorkSignal};

/// How long one blocking read waits for a wake.
pub const BLOCK: Duration = Duration::from_secs(30);
/// The pause after a failed read.
const RETRY: Duration = Duration::from_secs(1);

pub struct WakeReader {
    pub store: Arc<dyn Store>,
}

impl WakeReader {
    pub async fn run(self, cancel: CancellationToken) {
        let Some(feed) = self.store.wake_feed() else {
            return;
        };
        let signal = self.store.work_signal();
        let mut position: Option<String> = None;
        let mut failed = false;
        while !cancel.is_cancelled() {
            let read = tokio::select! {
                _ = cancel.cancelled() => break,
                read = read_once(feed, position.as_deref()) => read,
            };
            match read {
                Ok((next, wakes)) => {
                    if std::mem::replace(&mut failed, false) {
                        info!("wake stream readable again; looking over every shard");
                        (0..self.store.shards()).for_each(|s| signal.now(s));
                    }
                    apply(signal, &wakes);
                    position = Some(next);
                }
                Err(e) => {
                    if !std::mem::replace(&mut failed, true) {
                        debug!(error = %e, "cannot read the wake stream; retrying");
                    }
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
        info!("wake reader stopped");
    }
}

/// One blocking read after `position` (the stream's newest entry first).
async fn read_once(
    feed: &dyn WakeFeed,
    position: Option<&str>,
) -> Result<(String, Vec<Wake>), crate::store::StoreError> {
    let position = match position {
        Some(p) => p.to_owned(),
        None => feed.wake_tail().await?,
    };
    feed.read_wakes(&position, BLOCK).await
}

fn apply(signal: &WorkSignal, wakes: &[Wake]) {
    for wake in wakes {
        match wake {
            Wake::Shards(shards) => shards.iter().for_each(|&s| signal.now(s)),
            Wake::Hangup => signal.hangup(),
        }
    }
}
