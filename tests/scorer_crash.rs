//! Failpoint scenario (feature `failpoints`), alone in its binary because it
//! arms the scorer of any instance: an instance dies after its records
//! reached the feedback stream and before it counted them.

#![cfg(feature = "failpoints")]

mod support;

use std::time::Duration;

use redis::AsyncCommands;
use sampark::failpoint::{arm, points};
use sampark::simulator::SimulatorConfig;
use sampark::store::Quota;
use sampark::store::redis::RedisStore;
use serde_json::json;
use support::daemon::{
    ACCOUNT_SID, AUTH_TOKEN, Killable, citizen_key, dialer_config, start_simulator,
};
use support::eventually;
use support::evidence::read_records;
use support::redis_server::RedisServer;
use support::scorecards::{department_total, expected_cards, scoring, stored_cards};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_an_instance_died_before_counting_are_counted_once_by_the_next() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        seed: 5,
        ..SimulatorConfig::default()
    })
    .await;
    let quota = Quota {
        burst: 5,
        period: Duration::from_millis(10),
    };
    let stuck = arm(points::BEFORE_SCORE, None);
    let mut first = Killable::start(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(quota),
        |_| {},
    );
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let contacts: Vec<_> = (0..4)
        .map(|i| {
            json!({"id": format!("c-{i}"), "phone": format!("+9198000001{i:02}"),
                   "official_id": "off-1", "office": "Puri Sadar PS",
                   "service": "Passport verification"})
        })
        .collect();
    let doc = json!({"version": 1, "id": "score-crash", "name": "score", "dialplan": "mo-sarkar-feedback",
                     "caller_id": "+916742000000", "department": "home", "contacts": contacts});
    let _: String = conn
        .xadd("sampark:campaigns", "*", &[("campaign", doc.to_string())])
        .await
        .unwrap();
    // The first scorer pass with records in hand is caught before it
    // counts them; then the instance dies.
    stuck.caught().await;
    assert!(!read_records(&mut conn).await.is_empty());
    let store = RedisStore::connect(&redis.url(), "sampark", 16)
        .await
        .unwrap()
        .with_citizen_key(citizen_key());
    assert!(stored_cards(&store).await.is_empty(), "nothing counted yet");
    first.kill();
    drop(stuck);

    let _second = Killable::start(
        &redis.url(),
        &simulator.base_url(),
        dialer_config(quota),
        |_| {},
    );
    eventually(Duration::from_secs(120), "every record counted", || {
        let (store, mut conn) = (&store, conn.clone());
        async move {
            let records = read_records(&mut conn).await.len();
            let cards = stored_cards(store).await;
            (records == 4 && department_total(&cards, "contacts") == 4).then_some(())
        }
    })
    .await;
    let records = read_records(&mut conn).await;
    assert_eq!(
        stored_cards(&store).await,
        expected_cards(&records, &scoring())
    );
    sim_cancel.cancel();
    simulator.wait().await;
}
