//! Failpoints: named places where a test can freeze an instance, to make a
//! crash or a stall happen exactly there instead of by chance. Compiled in
//! only with the `failpoints` cargo feature (the test script enables it);
//! without it `hit` is an empty inline function.
//!
//! | point | where |
//! |---|---|
//! | `dialer.before_originate` | a dial is authorised, the originate not yet sent |
//! | `dialer.after_originate` | the provider placed the call, it is not yet recorded |
//! | `calls.before_reply` | an IVR step is saved, its reply not yet returned |
//! | `relay.before_ack` | records are on the feedback stream, the outbox not yet acknowledged |
//! | `scorer.before_apply` | records are on the feedback stream, not yet counted in the scorecards |
//! | `authorize.before_grant` | on a Redis Cluster, a dial's citizen and fleet units are spent, its shard's grant step not yet run |
//!
//! A test arms a point for one instance (its `dialer.instance` name) or for
//! any; the first task to reach it waits there until the test releases it,
//! or forever: with the instance's runtime shut down, that is a crash at
//! exactly that point.

/// The points, so call sites and tests spell them one way.
pub mod points {
    pub const BEFORE_ORIGINATE: &str = "dialer.before_originate";
    pub const AFTER_ORIGINATE: &str = "dialer.after_originate";
    pub const BEFORE_REPLY: &str = "calls.before_reply";
    pub const BEFORE_ACK: &str = "relay.before_ack";
    pub const BEFORE_SCORE: &str = "scorer.before_apply";
    pub const BEFORE_GRANT: &str = "authorize.before_grant";
}

#[cfg(feature = "failpoints")]
pub use armed::{Armed, arm, hit};

/// Reaching a point does nothing without the `failpoints` feature.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub async fn hit(_point: &'static str, _instance: &str) {}

#[cfg(feature = "failpoints")]
mod armed {
    use std::sync::{Arc, Mutex, PoisonError};

    use tokio::sync::watch;

    struct Trap {
        point: &'static str,
        instance: Option<String>,
        /// The instance that was caught, once one was.
        caught: watch::Sender<Option<String>>,
        released: watch::Sender<bool>,
    }

    static TRAPS: Mutex<Vec<Arc<Trap>>> = Mutex::new(Vec::new());

    /// A point armed by a test; dropping it releases and disarms it.
    pub struct Armed(Arc<Trap>);

    /// Arms `point` for `instance` (`None`: any): the first task to reach
    /// it waits until `release`. Later tasks pass.
    pub fn arm(point: &'static str, instance: Option<&str>) -> Armed {
        let trap = Arc::new(Trap {
            point,
            instance: instance.map(str::to_owned),
            caught: watch::channel(None).0,
            released: watch::channel(false).0,
        });
        traps().push(trap.clone());
        Armed(trap)
    }

    fn traps() -> std::sync::MutexGuard<'static, Vec<Arc<Trap>>> {
        TRAPS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    impl Armed {
        /// Waits until a task is caught; returns its instance name.
        pub async fn caught(&self) -> String {
            let mut rx = self.0.caught.subscribe();
            let caught = rx.wait_for(Option::is_some).await;
            caught.ok().and_then(|c| c.clone()).unwrap_or_default()
        }

        /// Lets the caught task (if any) go on, and disarms the point.
        pub fn release(&self) {
            traps().retain(|t| !Arc::ptr_eq(t, &self.0));
            self.0.released.send_replace(true);
        }
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            self.release();
        }
    }

    /// Waits here if a test armed `point` for `instance` and nothing was
    /// caught by it yet.
    pub async fn hit(point: &'static str, instance: &str) {
        let trap = {
            let mut traps = traps();
            let found = traps.iter().position(|t| {
                t.point == point
                    && t.instance.as_deref().is_none_or(|i| i == instance)
                    && t.caught.borrow().is_none()
            });
            found.map(|i| traps.remove(i))
        };
        let Some(trap) = trap else {
            return;
        };
        tracing::warn!(
            point,
            instance,
            "failpoint: waiting until the test releases it"
        );
        let mut released = trap.released.subscribe();
        trap.caught.send_replace(Some(instance.to_owned()));
        let _ = released.wait_for(|r| *r).await;
    }
}
