//! Intake on this machine: `cargo bench --bench intake`.
//!
//! The daemon's router ingesting campaign documents of 5,000 contacts (as
//! `campaign submit` chunks a file) into a real redis-server on this
//! machine: contacts per second, with the calling window open (each contact
//! made ready) and closed (each parked in the delayed set by the enqueue
//! script), and Redis memory per queued contact (`INFO memory` used_memory
//! before and after), with the CPU time Redis and this process (the
//! router) spent per contact (`INFO cpu`, `/proc/self/stat`): on a machine
//! shared with other work the rate is a floor, the CPU times are not.
//! Realistic contacts: name, language, office, service,
//! visit time. Size from BENCH_INTAKE (default 100,000 contacts).
//!
//! Prints one line per figure; record them in docs/performance.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sampark::intake::IntakeRouter;
use sampark::policy::CallingWindow;
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use sampark::telemetry::Metrics;
use support::intake_load::{CHUNK, closed_window, document, info, used_memory};
use support::redis_server::RedisServer;

/// Redis's CPU time so far (user + system, seconds).
async fn redis_cpu(conn: &mut redis::aio::MultiplexedConnection) -> f64 {
    info::<f64>(conn, "cpu", "used_cpu_user").await + info::<f64>(conn, "cpu", "used_cpu_sys").await
}

async fn run(label: &str, contacts: usize, window: CallingWindow) {
    let redis = RedisServer::start_without_persistence();
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let router = IntakeRouter::new(
        store,
        Arc::new(|_: &str| true),
        "bench".into(),
        Duration::from_secs(60),
        Arc::new(Metrics::new()),
        window,
    );
    // Documents are prepared first: the figure is the daemon's ingestion.
    let documents: Vec<String> = (0..contacts)
        .step_by(CHUNK)
        .map(|from| document("intake", from, (from + CHUNK).min(contacts)))
        .collect();
    let before = used_memory(&mut conn).await;
    let (redis_before, own_before) = (
        redis_cpu(&mut conn).await,
        support::process::cpu_secs("self"),
    );
    let started = Instant::now();
    let mut accepted = 0;
    for (n, doc) in documents.iter().enumerate() {
        accepted += router
            .ingest(&format!("{}-0", n + 1), doc)
            .await
            .unwrap()
            .accepted;
    }
    let elapsed = started.elapsed();
    let (redis_spent, own_spent) = (
        redis_cpu(&mut conn).await - redis_before,
        support::process::cpu_secs("self") - own_before,
    );
    let after = used_memory(&mut conn).await;
    assert_eq!(accepted, contacts);
    println!(
        "intake, window {label}: {contacts} contacts in {:.2} s = {:.0} contacts/s; \
         {} bytes of Redis memory per contact; CPU per contact: Redis {:.1} µs, \
         the router {:.1} µs",
        elapsed.as_secs_f64(),
        contacts as f64 / elapsed.as_secs_f64(),
        (after - before) / i64::try_from(contacts).unwrap_or(1),
        redis_spent * 1e6 / contacts as f64,
        own_spent * 1e6 / contacts as f64,
    );
}

fn main() {
    let contacts = std::env::var("BENCH_INTAKE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run("open", contacts, CallingWindow::always()));
    runtime.block_on(run("closed", contacts, closed_window()));
}
