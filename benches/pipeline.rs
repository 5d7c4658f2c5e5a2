//! Throughput of the real parts on this machine: `cargo bench --bench pipeline`.
//!
//! 1. `authorize`: the dial-authorising Lua script (GCRA + state transition)
//!    against a real redis-server, from 1 and from 32 concurrent tasks.
//! 2. `pipeline`: whole contacts — intake, dialling, Twilio REST originate to
//!    the simulator, answer/gather/status webhooks, IVR, feedback records —
//!    with Redis, the daemon and the simulator on this machine.
//!
//! Prints one line per figure; record them in docs/performance.md with the
//! machine they ran on. Sizes can be set with BENCH_JOBS and BENCH_CONTACTS.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sampark::simulator::SimulatorConfig;
use sampark::store::redis::RedisStore;
use sampark::store::{Authorize, DialLimits, Quota, Store};
use serde_json::json;
use support::daemon::{dialer_config, every_call_answered, start_daemon, start_simulator};
use support::redis_server::RedisServer;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn campaign(id: &str, n: usize, officials: usize) -> String {
    let contacts: Vec<_> = (0..n)
        .map(|i| {
            json!({"id": format!("c-{i:07}"), "phone": format!("+9198{:08}", i), "language": "en",
                   "official_id": format!("off-{}", i % officials), "office": "Office", "service": "Service"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": "bench", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "bench", "contacts": contacts})
    .to_string()
}

async fn bench_authorize(jobs: usize, tasks: usize) {
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let doc = campaign("auth", jobs, 500);
    let parsed = sampark::domain::parse_campaign_document(&doc, &|_| true).unwrap();
    store.put_campaign(&parsed.header).await.unwrap();
    for c in parsed.contacts {
        store
            .enqueue(&sampark::domain::JobSpec::new(&parsed.header, c))
            .await
            .unwrap();
    }
    let mut entries = Vec::new();
    while entries.len() < jobs {
        entries.extend(
            store
                .read_ready("bench", 1_000, Duration::from_secs(600))
                .await
                .unwrap(),
        );
    }
    let limits = DialLimits::official(Quota {
        burst: 1_000_000,
        period: Duration::from_micros(1),
    });
    let chunks: Vec<Vec<_>> = entries
        .chunks(jobs.div_ceil(tasks))
        .map(<[_]>::to_vec)
        .collect();
    let started = Instant::now();
    let mut handles = Vec::new();
    for chunk in chunks {
        let (store, limits) = (store.clone(), limits.clone());
        handles.push(tokio::spawn(async move {
            for e in chunk {
                let r = store
                    .authorize(&e, &limits, Duration::from_secs(60))
                    .await
                    .unwrap();
                assert!(matches!(r, Authorize::Granted { .. }));
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "authorize: {jobs} dials from {tasks} task(s) in {secs:.2} s = {:.0} authorisations/s",
        jobs as f64 / secs
    );
}

async fn bench_pipeline(contacts: usize) {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        ring_delay: (Duration::ZERO, Duration::from_millis(1)),
        think_delay: (Duration::ZERO, Duration::from_millis(1)),
        ..every_call_answered()
    })
    .await;
    let mut config = dialer_config(Quota {
        burst: 1_000,
        period: Duration::from_micros(100),
    });
    config.max_concurrent_originates = 64;
    config.batch_size = 256;
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), config).await;
    let started = Instant::now();
    sampark::intake::submit_document(store.as_ref(), &campaign("pipe", contacts, 200), 5_000)
        .await
        .unwrap();
    let id = sampark::domain::CampaignId::parse("pipe").unwrap();
    loop {
        if let Some(s) = store.campaign_status(&id).await.unwrap()
            && s.total() == contacts as u64
            && s.finished() == contacts as u64
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    // Each completed contact: 1 originate, 4 status callbacks, 1 answer and 3 gather webhooks.
    println!(
        "pipeline: {contacts} completed surveys in {secs:.2} s = {:.0} contacts/s ({:.0} webhooks/s)",
        contacts as f64 / secs,
        contacts as f64 * 8.0 / secs
    );
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let jobs = env_usize("BENCH_JOBS", 20_000);
    let contacts = env_usize("BENCH_CONTACTS", 2_000);
    rt.block_on(async {
        bench_authorize(jobs, 1).await;
        bench_authorize(jobs, 32).await;
        bench_pipeline(contacts).await;
    });
}
