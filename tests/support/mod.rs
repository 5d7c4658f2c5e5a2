//! Shared helpers for integration tests.
#![allow(dead_code)]

pub mod admin;
pub mod campaign;
pub mod cli;
pub mod daemon;
pub mod evidence;
pub mod fault_proxy;
pub mod http;
pub mod intake;
pub mod intake_load;
pub mod invariants;
pub mod lb;
pub mod log_capture;
pub mod monitor;
pub mod placed_calls;
pub mod process;
pub mod provider;
pub mod redis_cluster;
pub mod redis_server;
pub mod scorecards;
pub mod serve;
pub mod test_redis;
pub mod tls;

use std::time::Duration;

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_explained(timeout, what, String::new, check).await
}

/// As [`eventually`], with what `explain` says (e.g. a daemon's log) after
/// the timeout's message.
pub async fn eventually_explained<T, F, Fut>(
    timeout: Duration,
    what: &str,
    explain: impl Fn() -> String,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out after {timeout:?} waiting for {what}{}",
                explain()
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
