//! The in-memory store's clock: the system clock, or one that follows
//! tokio's clock from a chosen instant, so tests can drive every time rule
//! (calling windows, retries, leases, GCRA) with `tokio::time::pause()` and
//! `advance` instead of sleeping.
//!
//! Owns: reading the time in Unix microseconds. Does not own: when it is
//! read (`store.rs` reads it under the lock, once per step).

use std::time::{SystemTime, UNIX_EPOCH};

/// Where a `MemoryStore` reads the time.
#[derive(Clone, Copy, Debug, Default)]
pub enum MemoryClock {
    /// The system clock.
    #[default]
    System,
    /// `start_us` plus the time tokio's clock has moved since `origin`. With
    /// tokio's clock paused, the store's time moves only when the test
    /// advances it (or the runtime auto-advances to its next timer).
    Tokio {
        start_us: i64,
        origin: tokio::time::Instant,
    },
}

impl MemoryClock {
    /// A clock reading `start_ms` (Unix ms) now, then moving with tokio's
    /// clock (call it inside the runtime whose clock the test controls).
    pub fn following_tokio_from(start_ms: i64) -> MemoryClock {
        MemoryClock::Tokio {
            start_us: start_ms.saturating_mul(1000),
            origin: tokio::time::Instant::now(),
        }
    }

    /// Unix time in microseconds (0 if the system clock is before 1970).
    pub fn now_us(&self) -> i64 {
        match self {
            MemoryClock::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            MemoryClock::Tokio { start_us, origin } => {
                let moved = i64::try_from(origin.elapsed().as_micros()).unwrap_or(i64::MAX);
                start_us.saturating_add(moved)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time_from_its_start() {
        let clock = MemoryClock::following_tokio_from(1_769_000_000_000);
        assert_eq!(clock.now_us(), 1_769_000_000_000_000);
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(clock.now_us(), 1_769_003_600_000_000);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(clock.now_us(), 1_769_003_601_500_000);
    }

    #[test]
    fn system_clock_is_now() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64;
        assert!(MemoryClock::System.now_us() >= before);
    }
}
