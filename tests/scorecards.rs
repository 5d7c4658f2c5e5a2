//! Escalations and scorecards against a real redis-server: an escalation
//! per flagged record written with it, acknowledged once; scorecards that
//! count every record exactly once whoever counts it, and that a rebuild
//! from the feedback stream reproduces.

mod support;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::accountability::scorer::{rebuild, score_pending};
use sampark::domain::{Acknowledgement, FeedbackRecord, Outcome, escalation_id_of};
use sampark::simulator::SimulatorConfig;
use sampark::store::redis::RedisStore;
use sampark::store::{AckOutcome, EscalationQuery, Quota, Store};
use serde_json::json;
use support::daemon::{Killable, citizen_key, dialer_config, every_call_answered, start_simulator};
use support::eventually;
use support::evidence::read_records;
use support::redis_server::RedisServer;
use support::scorecards::{department_total, expected_cards, scoring, stored_cards};

async fn store(redis: &RedisServer) -> Arc<RedisStore> {
    Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap()
            .with_citizen_key(citizen_key()),
    )
}

/// A completed record of `official` in `department`, with a bribe reported
/// when `bribe`.
fn record(i: usize, department: &str, official: &str, bribe: bool) -> FeedbackRecord {
    let answers = json!([
        {"question": "treated_well", "digits": "1", "value": "yes", "label": "Yes", "at_ms": 1},
        {"question": "asked_money", "digits": if bribe {"1"} else {"2"},
         "value": if bribe {"yes"} else {"no"}, "label": "-",
         "flag": if bribe {json!("bribe_asked")} else {json!(null)}, "at_ms": 2},
        {"question": "rating", "digits": "4", "value": "4", "label": "Good", "at_ms": 3},
    ]);
    let answers: Vec<sampark::domain::Answer> = serde_json::from_value(answers).unwrap();
    FeedbackRecord {
        version: 1,
        record_id: format!("camp/c-{i}"),
        campaign_id: "camp".into(),
        contact_id: format!("c-{i}"),
        official_id: official.into(),
        department: department.into(),
        office: "ଖୋର୍ଦ୍ଧା ଥାନା".into(),
        service: "FIR".into(),
        outcome: Outcome::Completed,
        reason: None,
        attempts: 1,
        flags: sampark::domain::flags_of(&answers),
        answers,
        queued_at_ms: 1_796_000_000_000,
        first_dialled_at_ms: Some(1_796_000_000_000),
        // Spread over three days.
        finished_at_ms: 1_796_000_000_000 + (i as i64 % 3) * 86_400_000,
        direction: Default::default(),
        attributed: true,
        bridge: None,
    }
}

async fn add_to_feedback(conn: &mut redis::aio::MultiplexedConnection, records: &[FeedbackRecord]) {
    for r in records {
        let _: String = conn
            .xadd(
                "sampark:feedback",
                "*",
                &[("record", serde_json::to_string(r).unwrap())],
            )
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_relayed_twice_counts_once_and_escalates_once() {
    let redis = RedisServer::start();
    let store = store(&redis).await;
    let cx = scoring();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let flagged = record(1, "police", "off-1", true);
    let plain = record(2, "police", "off-1", false);
    // The same record twice in an outbox, as after a relay whose
    // acknowledgement was lost and whose entry was written again.
    for r in [&flagged, &flagged, &plain] {
        let _: String = conn
            .xadd(
                "sampark:{s00}:outbox",
                "*",
                &[("record", serde_json::to_string(r).unwrap())],
            )
            .await
            .unwrap();
    }
    store.relay_feedback(0, 10, &cx.rules).await.unwrap();
    let records = read_records(&mut conn).await;
    assert_eq!(records.len(), 2, "the second copy is not relayed");
    let escalations: usize = conn.xlen("{sampark:feedback}:escalations").await.unwrap();
    assert_eq!(
        escalations, 1,
        "one escalation, for the flagged record only"
    );

    let counted = score_pending(store.as_ref(), &cx, "t", |_| {})
        .await
        .unwrap();
    assert_eq!(counted.records, 2);
    let cards = stored_cards(store.as_ref()).await;
    assert_eq!(department_total(&cards, "contacts"), 2);
    assert_eq!(department_total(&cards, "negative"), 1);
    assert_eq!(cards, expected_cards(&records, &cx));
    // Counting again finds nothing new.
    let again = score_pending(store.as_ref(), &cx, "t", |_| {})
        .await
        .unwrap();
    assert_eq!(again.records, 0);

    // The escalation: open, then acknowledged once.
    let id = escalation_id_of(&flagged.record_id);
    let open = store
        .escalations(&EscalationQuery {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].escalation.escalation_id, id);
    assert_eq!(open[0].escalation.severity.as_str(), "urgent");
    assert_eq!(open[0].escalation.flags, ["bribe_asked"]);
    assert_eq!(open[0].escalation.answers.len(), 3);
    let first = Acknowledgement {
        by: "khurda-sp-office".into(),
        at_ms: 10,
        note: Some("called the citizen".into()),
    };
    assert_eq!(
        store.ack_escalation(&id, &first).await.unwrap(),
        AckOutcome::Acknowledged
    );
    let second = Acknowledgement {
        by: "someone-else".into(),
        at_ms: 20,
        note: None,
    };
    assert_eq!(
        store.ack_escalation(&id, &second).await.unwrap(),
        AckOutcome::Already(first.clone())
    );
    assert_eq!(
        store.ack_escalation("esc-unknown", &second).await.unwrap(),
        AckOutcome::Unknown
    );
    let open = store
        .escalations(&EscalationQuery {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.is_empty());
    let all = store
        .escalations(&EscalationQuery::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].acknowledged.as_ref(), Some(&first));
    let one = store.escalation(&id).await.unwrap().unwrap();
    assert_eq!(one.acknowledged, Some(first));
    // No phone number anywhere in the escalation stream.
    let raw: redis::streams::StreamRangeReply = conn
        .xrange_all("{sampark:feedback}:escalations")
        .await
        .unwrap();
    let text = format!("{:?}", raw.ids);
    assert!(!text.contains("+91"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scorers_racing_count_each_record_once_and_a_rebuild_agrees() {
    let redis = RedisServer::start();
    let store = store(&redis).await;
    let cx = scoring();
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let records: Vec<FeedbackRecord> = (0..1_200)
        .map(|i| {
            let dept = if i % 2 == 0 { "police" } else { "health" };
            record(i, dept, &format!("off-{}", i % 7), i % 5 == 0)
        })
        .collect();
    let (first, rest) = records.split_at(400);
    add_to_feedback(&mut conn, first).await;
    // Three scorers count at once while more records arrive.
    let mut tasks = Vec::new();
    for n in 0..3 {
        let (store, cx) = (store.clone(), cx.clone());
        tasks.push(tokio::spawn(async move {
            let mut total = 0;
            for _ in 0..20 {
                total += score_pending(store.as_ref(), &cx, &format!("s{n}"), |_| {})
                    .await
                    .unwrap()
                    .records;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            total
        }));
    }
    add_to_feedback(&mut conn, rest).await;
    let mut counted = 0;
    for t in tasks {
        counted += t.await.unwrap();
    }
    counted += score_pending(store.as_ref(), &cx, "last", |_| {})
        .await
        .unwrap()
        .records;
    assert_eq!(
        counted,
        records.len(),
        "each record counted by exactly one scorer"
    );
    let live = stored_cards(store.as_ref()).await;
    assert_eq!(department_total(&live, "contacts"), 1_200);
    assert_eq!(live, expected_cards(&records, &cx));

    let rebuilt = rebuild(store.as_ref(), &cx, "rebuild").await.unwrap();
    assert_eq!(rebuilt.records, 1_200);
    assert_eq!(stored_cards(store.as_ref()).await, live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_daemons_escalate_and_count_a_campaign_exactly_once() {
    let redis = RedisServer::start();
    let (simulator, sim_cancel) = start_simulator(SimulatorConfig {
        seed: 9,
        ..every_call_answered()
    })
    .await;
    let quota = Quota {
        burst: 10,
        period: Duration::from_millis(10),
    };
    let mut instances = Vec::new();
    for name in ["a", "b"] {
        let mut dialer = dialer_config(quota);
        dialer.consumer = name.into();
        instances.push(Killable::start(
            &redis.url(),
            &simulator.base_url(),
            dialer,
            |_| {},
        ));
    }
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    const CONTACTS: usize = 30;
    for (campaign, department, prefix) in [
        ("police-dec", "police", "98100"),
        ("health-dec", "health", "98200"),
    ] {
        let contacts: Vec<_> = (0..CONTACTS / 2)
            .map(|i| {
                json!({"id": format!("c-{i}"), "phone": format!("+91{prefix}{i:05}"),
                       "language": "en", "official_id": format!("{department}-off-{}", i % 3),
                       "office": if i % 2 == 0 { "Puri Sadar" } else { "ଖୋର୍ଦ୍ଧା ଥାନା" },
                       "service": "FIR registration"})
            })
            .collect();
        let doc = json!({"version": 1, "id": campaign, "name": campaign,
                         "dialplan": "mo-sarkar-feedback", "caller_id": "+916742000000",
                         "department": department, "contacts": contacts});
        let _: String = conn
            .xadd("sampark:campaigns", "*", &[("campaign", doc.to_string())])
            .await
            .unwrap();
    }
    let store = store(&redis).await;
    let cx = scoring();
    eventually(
        Duration::from_secs(120),
        "every record counted in the scorecards",
        || {
            let (store, mut conn) = (store.clone(), conn.clone());
            async move {
                let records = read_records(&mut conn).await.len();
                let cards = stored_cards(store.as_ref()).await;
                (records == CONTACTS && department_total(&cards, "contacts") == CONTACTS as i64)
                    .then_some(())
            }
        },
    )
    .await;
    let records = read_records(&mut conn).await;
    assert_eq!(
        stored_cards(store.as_ref()).await,
        expected_cards(&records, &cx)
    );

    // One escalation per record with an escalating flag, none for others.
    let flagged: Vec<&FeedbackRecord> = records
        .iter()
        .filter(|r| cx.rules.escalating(r).is_some())
        .collect();
    assert!(!flagged.is_empty(), "the seeded citizens report something");
    assert!(flagged.len() < records.len(), "and not everything");
    let all = store
        .escalations(&EscalationQuery::default())
        .await
        .unwrap();
    let mut got: Vec<&str> = all
        .iter()
        .map(|e| e.escalation.record_id.as_str())
        .collect();
    let mut want: Vec<&str> = flagged.iter().map(|r| r.record_id.as_str()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    let xlen: usize = conn.xlen("{sampark:feedback}:escalations").await.unwrap();
    assert_eq!(xlen, flagged.len());

    drop(instances);
    sim_cancel.cancel();
    simulator.wait().await;
}
