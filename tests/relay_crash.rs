//! Failpoint scenario (feature `failpoints`), alone in its binary because it
//! arms the relay of any instance: an instance dies after writing records to
//! the feedback stream and before acknowledging their outbox entries.

#![cfg(feature = "failpoints")]

mod support;

use std::time::Duration;

use sampark::failpoint::{arm, points};
use sampark::simulator::SimulatorConfig;
use sampark::store::Quota;
use serde_json::json;
use support::daemon::{ACCOUNT_SID, AUTH_TOKEN, Killable, dialer_config, start_simulator};
use support::eventually;
use support::evidence::{read_leftovers, read_records};
use support::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_that_died_before_its_ack_writes_each_record_once() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        ..SimulatorConfig::default()
    })
    .await;
    let quota = Quota {
        burst: 5,
        period: Duration::from_millis(10),
    };
    let stuck = arm(points::BEFORE_ACK, None);
    let mut first = Killable::start(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(quota),
        |_| {},
    );
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let contacts: Vec<_> = (0..3)
        .map(|i| {
            json!({"id": format!("c-{i}"), "phone": format!("+9198000000{i:02}"),
                        "official_id": "off-1", "office": "Puri Sadar PS",
                        "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "relay-crash", "name": "relay", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    let _: String = redis::cmd("XADD")
        .arg("sampark:campaigns")
        .arg("*")
        .arg("campaign")
        .arg(doc.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();
    // The first relay pass writes its records, then the instance dies.
    stuck.caught().await;
    let written = read_records(&mut conn).await.len();
    assert!(written >= 1);
    first.kill();
    drop(stuck);
    // A new instance takes the unacknowledged entries over (after the
    // reclaim time) and relays them again: nothing is written twice.
    let _second = Killable::start(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(quota),
        |_| {},
    );
    eventually(
        Duration::from_secs(120),
        "every record, and an empty outbox",
        || {
            let mut conn = conn.clone();
            async move {
                let records = read_records(&mut conn).await;
                let left = read_leftovers(&mut conn).await;
                (records.len() >= 3 && left.is_empty()).then_some(())
            }
        },
    )
    .await;
    let records = read_records(&mut conn).await;
    let mut ids: Vec<_> = records.iter().map(|r| r.record_id.clone()).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["relay-crash/c-0", "relay-crash/c-1", "relay-crash/c-2"]
    );
    sim_cancel.cancel();
    simulator.wait().await;
}
