//! What dial decisions cost Redis, counted by Redis itself (`MONITOR`,
//! `INFO commandstats`), never timed:
//!
//! - a backlog behind one official costs a constant number of script calls
//!   per dial: the daemon's dialer (against the simulator) calls about as
//!   many scripts per placed call with 120 contacts behind one official as
//!   with the same contacts spread over 120 officials — where the old layout
//!   spent one script call per waiting contact per dial — and the official's
//!   GCRA bound holds over every window of its calls;
//! - a paused campaign's backlog, once parked, adds nothing to the dialer's
//!   look over the shards: the same commands as on an empty Redis;
//! - a round's authorisations go to Redis together, not one round trip
//!   each: with Redis held after the first, the dialer has sent many.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{CampaignId, JobState, ParsedDocument};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::redis::RedisStore;
use sampark::store::{CampaignAction, Quota, ShardId, Store};
use serde_json::{Value, json};
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, dialer_config, every_call_answered, start_daemon, start_simulator,
};
use support::eventually;
use support::fault_proxy::{FaultProxy, Mode};
use support::monitor::{Monitor, authorize_sha};
use support::redis_server::{RedisServer, command_calls};

const CONTACTS: usize = 120;
/// The dialer's scripts (`src/store/redis/dispatch.rs`, `transitions.rs`,
/// `authorize_slots.rs`), as `support::monitor` names them: its look over
/// the shards, its reads, its decisions and what it does with a grant.
/// Not counted: intake's, the webhooks', the relay's and the scorer's,
/// which a placed call costs alike behind one official or spread out.
const DIALER_SCRIPTS: &[&str] = &[
    "probe_shard",
    "promote_due",
    "read_ready",
    "read_subjects",
    "authorize",
    "authorize_slots/job",
    "authorize_slots/citizen",
    "authorize_slots/fleet",
    "authorize_slots/grant",
    "authorize_slots/refund",
    "defer",
    "mark_originated",
    "requeue",
];
/// Allowance for the delay between authorisation and the simulator's log.
const JITTER_MS: i64 = 400;

fn campaign(id: &str, officials: usize) -> String {
    let contacts: Vec<Value> = (0..CONTACTS)
        .map(|i| {
            json!({"id": format!("c-{i:03}"), "phone": format!("+9196{:08}", 52_000_000 + i),
                   "official_id": format!("off-{}", i % officials),
                   "office": "Khurda Tahasil Office", "service": "Income certificate"})
        })
        .collect();
    json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
    .to_string()
}

async fn stats(url: &str) -> HashMap<String, u64> {
    let mut conn = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    command_calls(&mut conn).await.into_iter().collect()
}

fn delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>, name: &str) -> u64 {
    after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0)
}

/// Originate times (simulator's clock, ms) of every placed call.
/// Waits until `contacts` contacts of `campaign` have concluded (neither
/// queued, dialling, in a call nor waiting for a retry).
async fn until_concluded(store: &Arc<RedisStore>, campaign: &CampaignId, contacts: usize) {
    eventually(Duration::from_secs(120), "every contact concluded", || {
        let store = store.clone();
        let campaign = campaign.clone();
        async move {
            let status = store.campaign_status(&campaign).await.ok()??;
            let live: u64 = ["queued", "dialing", "in_call", "retry_wait"]
                .iter()
                .map(|s| status.counts.get(*s).copied().unwrap_or(0))
                .sum();
            let done: u64 = status.counts.values().sum::<u64>() - live;
            (done == contacts as u64).then_some(())
        }
    })
    .await;
}

/// Queues campaign document `doc`'s contacts with the store itself, no
/// daemon's intake: they are all ready before any dialer looks.
async fn enqueue_directly(store: &RedisStore, doc: &str) -> ParsedDocument {
    let parsed = sampark::domain::parse_campaign_document(doc, &|_| true).unwrap();
    store.put_campaign(&parsed.header).await.unwrap();
    for contact in &parsed.contacts {
        let spec = sampark::domain::JobSpec::new(&parsed.header, contact.clone());
        store.enqueue(&spec).await.unwrap();
    }
    parsed
}

fn starts(ledger: &[LedgerEntry]) -> Vec<i64> {
    ledger
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::Originate { at_ms, .. } => Some(*at_ms),
            _ => None,
        })
        .collect()
}

/// Runs a campaign of `CONTACTS` over `officials` officials to its end:
/// (the dialer's script calls per placed call, the calls' start times).
async fn run(officials: usize, quota: Quota) -> (f64, Vec<i64>) {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 31,
        ..SimulatorConfig::default()
    })
    .await;
    let mut dialer = dialer_config(quota);
    // The default look over the shards: the cost measured is the dialer's
    // own, event-driven work, not the tests' fast polling.
    dialer.poll_interval = Duration::from_secs(5);
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    let monitor = Monitor::start(redis.port, None);
    let id = format!("cost-{officials}");
    store.submit(&campaign(&id, officials)).await.unwrap();
    let campaign = CampaignId::parse(&id).unwrap();
    until_concluded(&store, &campaign, CONTACTS).await;
    let counts = monitor.stop();
    let placed = starts(&simulator.ledger());
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    assert!(
        !counts.contains_key("evalsha ?"),
        "a script the test cannot name: extend support::monitor::script_names"
    );
    assert!(!counts.contains_key("eval"), "a script sent whole: name it");
    let calls = placed.len().max(1) as f64;
    let mut scripts = 0;
    for name in DIALER_SCRIPTS {
        if let Some(&n) = counts.get(&format!("evalsha {name}")) {
            eprintln!(
                "  {officials} official(s): {:>5.2} {name}",
                n as f64 / calls
            );
            scripts += n;
        }
    }
    (scripts as f64 / calls, placed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_behind_one_official_costs_constant_scripts_per_dial() {
    let quota = Quota {
        burst: 2,
        period: Duration::from_millis(40),
    };
    let (spread, _) = run(CONTACTS, quota).await;
    let (backlog, mut times) = run(1, quota).await;
    eprintln!(
        "dialer script calls per placed call: {backlog:.2} behind one official, {spread:.2} spread out"
    );
    // The dialer's scripts per dial behind one official: its wakes' probes
    // (`probe_shard`, the five plain commands of before in one script: about
    // 2.2 per dial, one the promotion's own first step; the decision itself
    // reports the official's next allow time, `authorize.lua`), one promotion
    // of the official's head, one read and the read of its subjects, the
    // decision and `mark_originated` — about 8 — against about 3.1 spread
    // out, where reads and probes are shared (measured 2026-12-01: 7.99
    // against 3.11; 9.09 against 3.26 while each contact was decided once on
    // arrival only to join the official's held queue, and the dialer probed
    // the shard after each decision). Constant in the backlog: the old
    // layout spent one promotion, read and decision per waiting contact per
    // dial (here about a hundred).
    assert!(
        backlog <= spread + 6.0,
        "{backlog:.2} dialer script calls per dial behind one official, {spread:.2} spread out"
    );
    // The official's GCRA over every window of its calls.
    times.sort_unstable();
    let per_ms = quota.period.as_millis() as f64;
    for i in 0..times.len() {
        for j in i..times.len() {
            let span = times[j] - times[i];
            let allowed = i64::from(quota.burst) + ((span + JITTER_MS) as f64 / per_ms) as i64;
            assert!(
                (j - i + 1) as i64 <= allowed,
                "{} starts within {span} ms exceed {allowed}",
                j - i + 1
            );
        }
    }
}

/// The dialer's look over every shard (`dialer/dispatch.rs`): promote each
/// shard's due work, then read the shards whose streams hold entries.
async fn look_over(store: &RedisStore) -> usize {
    let mut ready: Vec<ShardId> = Vec::new();
    for shard in 0..store.shards() {
        if store.promote(shard, 64).await.unwrap().ready {
            ready.push(shard);
        }
    }
    store
        .read_ready_from(&ready, "cost", 64, Duration::from_secs(600))
        .await
        .unwrap()
        .len()
}

/// Every command one look over the shards costs.
async fn look_cost(server: &RedisServer, store: &RedisStore) -> u64 {
    let before = stats(&server.url()).await;
    assert_eq!(look_over(store).await, 0);
    let after = stats(&server.url()).await;
    after
        .keys()
        .filter(|k| k.as_str() != "info")
        .map(|k| delta(&before, &after, k))
        .sum()
}

#[tokio::test]
async fn a_paused_backlog_costs_nothing_per_look() {
    let empty = RedisServer::start();
    let empty_store = RedisStore::connect(&empty.url(), "sampark", 16)
        .await
        .unwrap();
    let paused = RedisServer::start();
    let store: Arc<RedisStore> = Arc::new(
        RedisStore::connect(&paused.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let parsed = enqueue_directly(&store, &campaign("paused", 12)).await;
    let id = CampaignId::parse("paused").unwrap();
    store
        .control_campaign(&id, CampaignAction::Pause)
        .await
        .unwrap();
    // Each waiting job is read once and parked: one ready entry per
    // official, the rest promoted from its held queue one at a time.
    let limits = sampark::store::DialLimits::official(Quota {
        burst: 1,
        period: Duration::from_secs(60),
    });
    loop {
        let mut promoted = 0;
        for shard in 0..store.shards() {
            promoted += store.promote(shard, 64).await.unwrap().promoted;
        }
        let entries = store
            .read_ready("cost", 64, Duration::from_secs(600))
            .await
            .unwrap();
        if entries.is_empty() && promoted == 0 {
            break;
        }
        for entry in &entries {
            store
                .authorize(entry, &limits, Duration::from_secs(60))
                .await
                .unwrap();
        }
    }
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(status.counts.get("queued"), Some(&(CONTACTS as u64)));
    let job = store
        .load_job(&store.job_ref_of(&sampark::domain::JobSpec::new(
            &parsed.header,
            parsed.contacts[0].clone(),
        )))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.reason.as_deref(), Some("campaign paused"));

    // Each store's scripts loaded first, so that neither look pays for it.
    look_over(&store).await;
    look_over(&empty_store).await;
    let with_backlog = look_cost(&paused, &store).await;
    let without = look_cost(&empty, &empty_store).await;
    assert_eq!(with_backlog, without, "a parked backlog is never looked at");
}

/// The dialer sends a round's authorisations together: with every contact
/// ready before the daemon starts and Redis held from the first
/// `authorize` on, the scripts that reached the proxy are counted. One at a
/// time, the dialer would wait for that first reply and send no other.
/// Released, every contact is called once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rounds_authorisations_are_sent_together() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap();
    enqueue_directly(&store, &campaign("together", CONTACTS)).await;
    let authorize = authorize_sha();
    let proxy = FaultProxy::start(std::net::SocketAddr::from(([127, 0, 0, 1], redis.port))).await;
    proxy.hold_from(authorize.as_bytes());
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        seed: 37,
        ..every_call_answered()
    })
    .await;
    let quota = Quota {
        burst: 10,
        period: Duration::from_millis(10),
    };
    let (daemon, store) =
        start_daemon(&proxy.url(), &simulator.base_url(), dialer_config(quota)).await;
    // Held from the first: every authorisation counted was sent before any
    // verdict came back.
    let sent = eventually(
        Duration::from_secs(30),
        "authorisations sent together",
        || {
            let (hits, held) = (proxy.stats().needle_hits, proxy.mode() == Mode::BlackHole);
            async move { (held && hits >= 16).then_some(hits) }
        },
    )
    .await;
    assert!(simulator.ledger().is_empty(), "nothing dialled while held");
    eprintln!("{sent} authorisations sent before the first verdict");
    proxy.set_mode(Mode::Pass);
    let campaign = CampaignId::parse("together").unwrap();
    until_concluded(&store, &campaign, CONTACTS).await;
    let placed = starts(&simulator.ledger());
    let status = store.campaign_status(&campaign).await.unwrap().unwrap();
    assert_eq!(
        status.counts.get("completed").copied(),
        Some(CONTACTS as u64),
        "every survey completed: {:?}",
        status.counts
    );
    assert_eq!(placed.len(), CONTACTS, "each contact called once");
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}
