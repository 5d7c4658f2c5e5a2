//! The fault suite: two instances behind one public URL (a round-robin
//! balancer, as in production), each on a runtime of its own so it can be
//! killed outright, talking to a real redis-server through a fault proxy
//! that stalls it or loses replies on demand, and the simulator running
//! calls as Twilio does (pauses take real time, status callbacks are not
//! retried). After each scenario every invariant of `support::invariants` is
//! checked from Redis, the ledger and the logs. Failpoint scenarios (an
//! instance frozen at one exact line) are in `tests/freeze.rs`.
//!
//! | scenario | fault | providers |
//! |---|---|---|
//! | `redis_stalls_cost_no_call_and_no_attempt` | Redis answers nothing for 3 s, four times; held commands run late | Twilio, Exotel |
//! | `lost_redis_replies_cost_no_call_and_no_attempt` | a command runs but its reply is lost, twelve times | Twilio, Exotel |
//! | `an_instance_killed_mid_campaign_loses_no_call` | one of two instances killed outright mid-campaign | Twilio, Exotel |

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use sampark::dialplan::CallContext;
use sampark::simulator::{Simulator, SimulatorConfig};
use sampark::store::{Quota, Store};
use serde_json::json;
use support::daemon::{Killable, dialer_config, dialplans, start_simulator};
use support::eventually;
use support::evidence::Evidence;
use support::fault_proxy::FaultProxy;
use support::invariants::{Expectations, assert_no_violations, check_all};
use support::lb::RoundRobin;
use support::log_capture::LogCapture;
use support::placed_calls::dialplan_replay;
use support::provider::Provider;
use support::redis_server::RedisServer;
use tokio_util::sync::CancellationToken;

struct Contact {
    id: String,
    phone: String,
    language: String,
}

fn contacts(n: usize, seed: usize) -> Vec<Contact> {
    let languages = ["or", "hi", "en"];
    (0..n)
        .map(|i| Contact {
            id: format!("c-{i:03}"),
            phone: format!("+9197{:08}", seed * 1000 + i),
            language: languages[i % 3].to_owned(),
        })
        .collect()
}

fn document(campaign: &str, contacts: &[Contact]) -> String {
    let contacts: Vec<_> = contacts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({"id": c.id, "phone": c.phone, "language": c.language,
                   "official_id": format!("off-{}", i % 4), "office": "Puri Sadar PS",
                   "service": "Passport verification"})
        })
        .collect();
    json!({"version": 1, "id": campaign, "name": "stalls", "dialplan": "mo-sarkar-feedback",
           "caller_id": "+916742000000", "department": "home", "contacts": contacts})
    .to_string()
}

struct Fleet {
    redis: RedisServer,
    proxy: FaultProxy,
    lb: RoundRobin,
    simulator: Simulator,
    sim_cancel: CancellationToken,
    daemons: Vec<Killable>,
    store: sampark::store::redis::RedisStore,
}

impl Fleet {
    async fn start(provider: Provider, instances: &[&str], seed: u64) -> Fleet {
        let redis = RedisServer::start();
        let upstream: SocketAddr = format!("127.0.0.1:{}", redis.port).parse().unwrap();
        let proxy = FaultProxy::start(upstream).await;
        let lb = RoundRobin::start(Vec::new()).await;
        let (simulator, sim_cancel) = start_simulator(provider.simulator(SimulatorConfig {
            seed,
            answer_rate: 0.6,
            busy_rate: 0.3,
            no_answer_rate: 0.1,
            failed_rate: 0.0,
            // As Twilio: a status callback is sent once; a pause is real.
            status_retries: 0,
            pause_scale: 1.0,
            think_delay: (Duration::from_millis(50), Duration::from_millis(250)),
            http_timeout: Duration::from_secs(5),
            ..SimulatorConfig::default()
        }))
        .await;
        let mut daemons = Vec::new();
        for name in instances {
            // Slow enough that dialling spans every fault injected.
            let mut dialer = dialer_config(Quota {
                burst: 1,
                period: Duration::from_millis(700),
            });
            dialer.consumer = (*name).to_owned();
            dialer.originate_lease = Duration::from_secs(6);
            dialer.originate_timeout = Duration::from_secs(2);
            let public = lb.url();
            let sim_base = simulator.base_url();
            let daemon = Killable::start(&proxy.url(), &simulator.base_url(), dialer, move |s| {
                provider.configure(s, &sim_base);
                s.webhook.public_url = public;
                s.provider.request_timeout_ms = 2_000;
            });
            lb.add_backend(daemon.webhook_addr());
            daemons.push(daemon);
        }
        let store = sampark::store::redis::RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap();
        Fleet {
            redis,
            proxy,
            lb,
            simulator,
            sim_cancel,
            daemons,
            store,
        }
    }

    /// Waits for a record per contact (read straight from Redis), then
    /// checks every invariant.
    async fn settle_and_check(self, campaign: &str, contacts: &[Contact], logs: &LogCapture) {
        let url = self.redis.url();
        let n = contacts.len();
        eventually(
            Duration::from_secs(120),
            "a record for every contact",
            || {
                let url = url.clone();
                async move {
                    let client = redis::Client::open(url).ok()?;
                    let mut conn = client.get_multiplexed_async_connection().await.ok()?;
                    let records = support::evidence::read_records(&mut conn).await;
                    let mut ids: Vec<_> = records.iter().map(|r| r.record_id.clone()).collect();
                    ids.sort();
                    ids.dedup();
                    (ids.len() >= n).then_some(())
                }
            },
        )
        .await;
        // A record can be on the feedback stream before its outbox entry is
        // acknowledged: after a stall the relay's acknowledgement may be
        // lost, and the entry is taken again once `reclaim_after` passes.
        // Wait for the outboxes to drain (the invariant below still checks
        // that they did).
        eventually(Duration::from_secs(60), "every outbox drained", || {
            let url = url.clone();
            async move {
                let client = redis::Client::open(url).ok()?;
                let mut conn = client.get_multiplexed_async_connection().await.ok()?;
                let mut left = 0u64;
                for shard in 0..16 {
                    let key = format!("sampark:{{s{shard:02}}}:outbox");
                    let n: u64 = redis::cmd("XLEN")
                        .arg(&key)
                        .query_async(&mut conn)
                        .await
                        .ok()?;
                    left += n;
                }
                (left == 0).then_some(())
            }
        })
        .await;
        // Let stragglers (a duplicate relay, a late originate) show up.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        for mut daemon in self.daemons {
            daemon.kill();
        }
        self.sim_cancel.cancel();
        let ledger = self.simulator.ledger();
        self.simulator.wait().await;
        let text = logs.text();
        let evidence = Evidence::gather(&url, ledger, Some(text)).await;
        let by_id: HashMap<&str, &Contact> = contacts.iter().map(|c| (c.id.as_str(), c)).collect();
        let plans = dialplans();
        let plan = plans.get("mo-sarkar-feedback").unwrap();
        let replay = dialplan_replay(&plan, |record| CallContext {
            language: Some(by_id[record.contact_id.as_str()].language.clone()),
            office: record.office.clone(),
            service: record.service.clone(),
        });
        let ids: Vec<String> = contacts.iter().map(|c| c.id.clone()).collect();
        let phones: Vec<String> = contacts.iter().map(|c| c.phone.clone()).collect();
        let expect = Expectations {
            campaign_id: campaign,
            contacts: &ids,
            phones: &phones,
            answers: &replay,
        };
        assert_no_violations(&check_all(&expect, &evidence));
        drop(self.lb);
        drop(self.proxy);
    }
}

/// Redis stops answering for 3 s, four times, while two instances dial a
/// campaign with many busy lines (so retries are close together). Grants
/// run late, replies are lost, TwiML fetches and status callbacks arrive
/// with no Redis behind them; still: one record per contact, one call per
/// attempt, `attempts` equal to the calls really placed, answers from the
/// keys pressed, nothing left over, no phone number in the logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stalls_cost_no_call_and_no_attempt() {
    redis_stalls(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stalls_cost_no_call_and_no_attempt_on_exotel() {
    redis_stalls(Provider::Exotel).await;
}

async fn redis_stalls(provider: Provider) {
    let logs = LogCapture::global();
    let fleet = Fleet::start(provider, &["stall-a", "stall-b"], 11).await;
    let people = contacts(48, 1);
    fleet
        .store
        .submit(&document("stalls", &people))
        .await
        .unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        fleet.proxy.stall_for(Duration::from_secs(3));
        tokio::time::sleep(Duration::from_millis(3_500)).await;
    }
    fleet.settle_and_check("stalls", &people, &logs).await;
}

/// Scripts run but their replies are lost (the connection is reset after
/// forwarding), again and again through the campaign: every step the daemon
/// takes must be safe to repeat or to leave to the reconciler.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_redis_replies_cost_no_call_and_no_attempt() {
    lost_replies(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_redis_replies_cost_no_call_and_no_attempt_on_exotel() {
    lost_replies(Provider::Exotel).await;
}

async fn lost_replies(provider: Provider) {
    let logs = LogCapture::global();
    let fleet = Fleet::start(provider, &["lost-a", "lost-b"], 12).await;
    let people = contacts(30, 2);
    fleet
        .store
        .submit(&document("lost-replies", &people))
        .await
        .unwrap();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        fleet.proxy.reset_after_forward(1);
    }
    fleet.settle_and_check("lost-replies", &people, &logs).await;
}

/// One of two instances is killed outright while it has calls in progress,
/// dials in flight and ready entries read: the balancer takes it out, the
/// other instance gets the webhooks of its calls, reclaims its entries and
/// reconciles its dials.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_mid_campaign_loses_no_call() {
    instance_killed(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_mid_campaign_loses_no_call_on_exotel() {
    instance_killed(Provider::Exotel).await;
}

async fn instance_killed(provider: Provider) {
    let logs = LogCapture::global();
    let mut fleet = Fleet::start(provider, &["kill-a", "kill-b"], 13).await;
    let people = contacts(40, 3);
    fleet
        .store
        .submit(&document("killed", &people))
        .await
        .unwrap();
    let originates = || {
        fleet
            .simulator
            .ledger()
            .iter()
            .filter(|e| matches!(e, sampark::simulator::LedgerEntry::Originate { .. }))
            .count()
    };
    eventually(
        Duration::from_secs(60),
        "the campaign under way",
        || async { (originates() >= 10).then_some(()) },
    )
    .await;
    let victim = fleet.daemons.remove(0);
    fleet.lb.remove_backend(victim.webhook_addr());
    drop(victim);
    fleet.settle_and_check("killed", &people, &logs).await;
}
