//! Every dial limit at once, fleet-wide: two daemon instances on one Redis,
//! two campaigns of one department sharing citizens, the simulator over
//! HTTP. Each number is called once (the citizens' day cap across campaigns
//! and instances), the department's quota, the provider's calls per second
//! and the live-call cap hold over the dial starts of both instances
//! together, and the backlog drains. A second test: the provider's 429s give
//! the citizen's cap unit back, so a throttled contact is still called today.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::{CampaignId, ContactId, JobId, JobState, Outcome};
use sampark::simulator::{LedgerEntry, SimulatorConfig};
use sampark::store::{CitizenCaps, JobRef, Quota, Store};
use serde_json::{Value, json};
use support::daemon::{ACCOUNT_SID, AUTH_TOKEN, dialer_config, start_daemon, start_simulator};
use support::eventually;
use support::redis_server::RedisServer;

/// Allowance for the delay between authorisation and the simulator's log.
const JITTER_MS: i64 = 400;

fn contact(id: &str, phone: &str, official: &str) -> Value {
    json!({"id": id, "phone": phone, "official_id": official,
           "office": "Khurda Tahasil Office", "service": "Income certificate"})
}

fn campaign(id: &str, contacts: Vec<Value>) -> String {
    json!({"version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "revenue", "contacts": contacts})
    .to_string()
}

/// Originates in the simulator's ledger: (job id from the answer URL, time).
fn starts(ledger: &[LedgerEntry]) -> Vec<(String, i64)> {
    ledger
        .iter()
        .filter_map(|e| match e {
            LedgerEntry::Originate { url, at_ms, .. } => {
                let job = url.split("job=").nth(1)?.split('&').next()?;
                Some((job.replace("%2F", "/"), *at_ms))
            }
            _ => None,
        })
        .collect()
}

/// GCRA bound over every window of the sorted start times.
fn assert_rate(what: &str, times: &mut [i64], burst: i64, per_ms: f64) {
    times.sort_unstable();
    for i in 0..times.len() {
        for j in i..times.len() {
            let span = times[j] - times[i];
            let allowed = burst + ((span + JITTER_MS) as f64 / per_ms) as i64;
            assert!(
                (j - i + 1) as i64 <= allowed,
                "{what}: {} starts within {span} ms exceed {allowed}",
                j - i + 1
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_limit_holds_at_once_across_two_instances() {
    const LIVE: usize = 3;
    const CPS: u32 = 6;
    let dept = Quota {
        burst: 2,
        period: Duration::from_millis(250),
    };
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 23,
        ..SimulatorConfig::default()
    })
    .await;
    let mut daemons = Vec::new();
    for name in ["limits-a", "limits-b"] {
        let mut dialer = dialer_config(Quota {
            burst: 1,
            period: Duration::from_millis(400),
        });
        dialer.consumer = name.into();
        dialer.provider_cps = Some(CPS);
        dialer.max_live_calls = Some(LIVE as u32);
        dialer.citizen_caps = CitizenCaps {
            per_day: 1,
            per_week: 2,
        };
        dialer.quotas.departments.insert("revenue".into(), dept);
        daemons.push(start_daemon(&redis.url(), &simulator.base_url(), dialer).await);
    }
    let store = daemons[0].1.clone();
    // Campaign A: 24 citizens. Campaign B: 8 of the same citizens and 8 more.
    let phone = |i: usize| format!("+9196{:08}", 41_000_000 + i);
    let mut numbers: HashMap<String, String> = HashMap::new();
    let a: Vec<Value> = (0..24)
        .map(|i| {
            numbers.insert(format!("limits-a/a-{i:02}"), phone(i));
            contact(&format!("a-{i:02}"), &phone(i), &format!("off-{}", i % 6))
        })
        .collect();
    let b: Vec<Value> = (0..16)
        .map(|i| {
            let n = if i < 8 { phone(i) } else { phone(100 + i) };
            numbers.insert(format!("limits-b/b-{i:02}"), n.clone());
            contact(&format!("b-{i:02}"), &n, &format!("off-{}", 6 + i % 4))
        })
        .collect();
    store.submit(&campaign("limits-a", a)).await.unwrap();
    store.submit(&campaign("limits-b", b)).await.unwrap();

    // 32 citizens: each is called once today, whichever campaign or
    // instance got there first; nothing else may be dialled.
    let distinct: HashSet<&String> = numbers.values().collect();
    assert_eq!(distinct.len(), 32);
    eventually(Duration::from_secs(90), "every citizen called", || async {
        (starts(&simulator.ledger()).len() >= distinct.len()).then_some(())
    })
    .await;
    let client = redis::Client::open(redis.url()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    eventually(Duration::from_secs(60), "no call in progress", || {
        let mut conn = conn.clone();
        async move {
            let mut live = 0u64;
            for s in 0..16 {
                let n: u64 = conn
                    .zcard(format!("sampark:{{s{s:02}}}:inflight"))
                    .await
                    .ok()?;
                live += n;
            }
            (live == 0).then_some(())
        }
    })
    .await;
    // Held back long enough for a stray second call to show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ledger = simulator.ledger();
    let placed = starts(&ledger);
    let mut per_number: HashMap<&String, usize> = HashMap::new();
    for (job, _) in &placed {
        *per_number.entry(&numbers[job]).or_default() += 1;
    }
    assert_eq!(
        placed.len(),
        distinct.len(),
        "one call per citizen: {per_number:?}"
    );
    assert!(per_number.values().all(|&n| n == 1), "{per_number:?}");
    // The 8 shared citizens: one campaign's contact was called, the other
    // waits for the citizen's day with the reason.
    let (mut capped, mut opted_out) = (0, 0);
    for i in 0..8 {
        let called_a = placed
            .iter()
            .any(|(j, _)| j == &format!("limits-a/a-{i:02}"));
        let waiting = if called_a {
            format!("limits-b/b-{i:02}")
        } else {
            format!("limits-a/a-{i:02}")
        };
        let job = job_of(&store, &waiting).await;
        assert_eq!(job.attempt, 0, "{waiting} was never dialled");
        match job.state {
            JobState::Queued => {
                assert_eq!(job.reason.as_deref(), Some("citizen's call cap reached"));
                capped += 1;
            }
            // The citizen asked on the call not to be called again.
            JobState::Done(Outcome::OptedOut) => {
                assert_eq!(job.reason.as_deref(), Some("citizen opted out earlier"));
                opted_out += 1;
            }
            other => panic!("{waiting}: {other:?}"),
        }
    }
    assert_eq!(capped + opted_out, 8);
    assert!(capped > 0, "no contact waited for the citizen's cap");

    // The department's quota and the provider's rate over both instances.
    let mut times: Vec<i64> = placed.iter().map(|(_, t)| *t).collect();
    assert_rate(
        "department",
        &mut times,
        i64::from(dept.burst),
        dept.period.as_millis() as f64,
    );
    assert_rate(
        "provider",
        &mut times,
        i64::from(CPS),
        1000.0 / f64::from(CPS),
    );
    // Live calls (by the provider's own order of events) never above the cap.
    let mut live: i64 = 0;
    let mut most = 0;
    for e in &ledger {
        match e {
            LedgerEntry::Originate { .. } => live += 1,
            LedgerEntry::End { .. } => live -= 1,
            _ => {}
        }
        most = most.max(live);
    }
    assert!(most <= LIVE as i64, "{most} live calls, cap {LIVE}");
    // The backlog drained at the allowed rate, not slower than the binding
    // limits allow (generous: shared CI machines are slow, not fast).
    let span = times[times.len() - 1] - times[0];
    assert!(span < 60_000, "32 calls took {span} ms");

    for (daemon, _) in daemons {
        daemon.shutdown().await;
    }
    sim_cancel.cancel();
    simulator.wait().await;
}

/// The provider throttles (429): the attempt was never placed, so the
/// citizen's cap unit it took comes back and the contact is called today.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn throttled_dials_give_the_citizens_cap_back() {
    const CALLS: usize = 6;
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 29,
        calls_per_second: Some(1),
        ..SimulatorConfig::default()
    })
    .await;
    let mut dialer = dialer_config(Quota {
        burst: 100,
        period: Duration::from_millis(1),
    });
    dialer.citizen_caps = CitizenCaps {
        per_day: 1,
        per_week: 0,
    };
    dialer.provider_backoff = Duration::from_millis(300);
    let (daemon, store) = start_daemon(&redis.url(), &simulator.base_url(), dialer).await;
    let contacts: Vec<Value> = (0..CALLS)
        .map(|i| {
            contact(
                &format!("t-{i}"),
                &format!("+9195{:08}", 52_000_000 + i),
                &format!("off-{i}"),
            )
        })
        .collect();
    store
        .submit(&campaign("throttled", contacts))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "every contact called", || async {
        (starts(&simulator.ledger()).len() >= CALLS).then_some(())
    })
    .await;
    // The dialer asked for all six at once; the simulator took one a second
    // and refused the rest (429), so the calls it took are spread out, and
    // each refused attempt's cap unit came back (else a throttled contact
    // would wait for tomorrow).
    let mut times: Vec<i64> = starts(&simulator.ledger())
        .iter()
        .map(|(_, t)| *t)
        .collect();
    times.sort_unstable();
    assert_eq!(times.len(), CALLS, "each contact placed once");
    let span = times[CALLS - 1] - times[0];
    assert!(
        span >= (CALLS as i64 - 2) * 1000,
        "not throttled? {span} ms"
    );
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
}

/// The job `campaign/contact`, whichever shard holds it.
async fn job_of(store: &sampark::store::redis::RedisStore, id: &str) -> sampark::store::Job {
    let (campaign, contact) = id.split_once('/').unwrap();
    let id = JobId::new(
        CampaignId::parse(campaign).unwrap(),
        ContactId::parse(contact).unwrap(),
    );
    for shard in 0..store.shards() {
        if let Some(job) = store
            .load_job(&JobRef::new(shard, id.clone()))
            .await
            .unwrap()
        {
            return job;
        }
    }
    panic!("no job {id}");
}
