//! Personal data (issue 11): whatever path refuses a document or a contact,
//! the dead-letter stream in Redis holds no citizen's number — read raw from
//! the `sampark:deadletter` stream, not through the store; and
//! `sampark privacy erase` leaves nothing in Redis holding the number —
//! every key and every value scanned.

mod support;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::domain::CampaignId;
use sampark::store::CampaignAction;
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use serde_json::json;
use support::cli::{run, sampark};
use support::daemon::{
    CITIZEN_KEY_SECRET, citizen_key, dialer_config, start_daemon, start_simulator,
};
use support::eventually;
use support::intake::RunningRouter;
use support::redis_server::RedisServer;

/// Numbers the refused documents hold, as their E.164 digits.
const NUMBERS: &[&str] = &["9876500031", "9876500032", "9876500033", "9437012345"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_in_redis_hold_masked_numbers_only() {
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap(),
    );
    let router = RunningRouter::start(store.clone());

    let contacts = json!([
        {"id": "c-1", "phone": "98765 00031", "official_id": "o-1", "office": "PS 1", "service": "FIR"},
        {"id": "c-2", "phone": "+91-98765-00032", "official_id": "o-1", "office": "PS 1", "service": "FIR"},
        {"id": "c-3", "phone": "98765_00033", "official_id": "o-1", "office": "PS 1", "service": "FIR"},
    ]);
    let header = |id: &str, window: serde_json::Value| {
        json!({"version": 1, "id": id, "name": "Privacy", "dialplan": "mo-sarkar-feedback",
               "caller_id": "+916742000000", "department": "revenue",
               "calling_window": window, "contacts": contacts})
    };
    // Refused whole (a bad window), refused whole (not JSON), and a
    // document with one bad contact (refused alone).
    let bad_window = header("privacy-window", json!({"zone": "Nowhere/City"}));
    let not_json = "id,phone\nc-9,+91 94370 12345\n{".to_owned();
    let one_bad = header("privacy-contact", json!({"zone": "Asia/Kolkata"}));
    for doc in [bad_window.to_string(), not_json, one_bad.to_string()] {
        store.submit(&doc).await.unwrap();
    }
    eventually(Duration::from_secs(10), "three dead letters", || {
        let store = store.clone();
        async move { (store.dead_letters(10).await.unwrap().len() >= 3).then_some(()) }
    })
    .await;

    // Every field of every entry, as Redis holds it.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let entries: redis::streams::StreamRangeReply =
        conn.xrange_all("sampark:deadletter").await.unwrap();
    let mut text = String::new();
    for entry in &entries.ids {
        for (field, value) in &entry.map {
            let value: String = redis::from_redis_value(value.clone()).unwrap();
            text.push_str(&format!("{field}={value}\n"));
        }
    }
    assert!(entries.ids.len() >= 3, "{text}");
    // Numbers are written with separators: look with them taken out.
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.' | '(' | ')'))
        .collect();
    for number in NUMBERS {
        assert!(
            !digits.contains(&number[..6]),
            "{number} in the dead letters:\n{text}"
        );
    }
    // Still useful: the last four digits and the ids are there.
    for kept in ["0031", "0032", "0033", "2345", "privacy-window", "c-9"] {
        assert!(text.contains(kept), "{kept} missing from:\n{text}");
    }
    router.stop().await;
}

/// Every key and every value in Redis, as text (strings, hashes, lists,
/// sets, sorted sets with scores, streams), with the separators people
/// write numbers with taken out.
async fn everything(conn: &mut redis::aio::MultiplexedConnection) -> String {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(conn).await.unwrap();
    let mut out = String::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(conn)
            .await
            .unwrap();
        let values: Vec<String> = match kind.as_str() {
            "string" => vec![conn.get(&key).await.unwrap()],
            "hash" => {
                let map: Vec<String> = conn.hgetall(&key).await.unwrap();
                map
            }
            "list" => conn.lrange(&key, 0, -1).await.unwrap(),
            "set" => conn.smembers(&key).await.unwrap(),
            "zset" => conn.zrange_withscores(&key, 0, -1).await.unwrap(),
            "stream" => {
                let reply: redis::streams::StreamRangeReply = conn.xrange_all(&key).await.unwrap();
                reply
                    .ids
                    .iter()
                    .flat_map(|e| {
                        e.map.iter().map(|(k, v)| {
                            let v: String = redis::from_redis_value(v.clone()).unwrap_or_default();
                            format!("{k}={v}")
                        })
                    })
                    .collect()
            }
            other => panic!("a key of type {other}: {key}"),
        };
        out.push_str(&format!("{key} => {}\n", values.join(" | ")));
    }
    out.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '.' | '(' | ')'))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_leaves_nothing_in_redis_holding_the_number() {
    const ERASED: &str = "9437055501";
    const OTHER: &str = "9437055502";
    let redis = RedisServer::start();
    let store = Arc::new(
        RedisStore::connect(&redis.url(), "sampark", 16)
            .await
            .unwrap()
            .with_citizen_key(citizen_key()),
    );
    let router = RunningRouter::start(store.clone());
    let doc = json!({"version": 1, "id": "erase-1", "name": "Erase", "dialplan": "mo-sarkar-feedback",
    "caller_id": "+916742000000", "department": "revenue",
    "contacts": [
        {"id": "c-1", "phone": ERASED, "official_id": "o-1", "office": "PS 1", "service": "FIR"},
        {"id": "c-2", "phone": OTHER, "official_id": "o-2", "office": "PS 1", "service": "FIR"},
    ]});
    store.submit(&doc.to_string()).await.unwrap();
    let id = CampaignId::parse("erase-1").unwrap();
    eventually(Duration::from_secs(10), "the campaign queued", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            store
                .campaign_status(&id)
                .await
                .unwrap()
                .filter(|s| s.total() == 2)
        }
    })
    .await;
    // The number on the do-not-call list, and a dead letter holding it as
    // an earlier version wrote them (raw).
    let erase = |extra: &[&str]| {
        run(sampark()
            .args(["privacy", "erase", &format!("+91{ERASED}")])
            .args(extra)
            .args(["--redis", &redis.url()])
            .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET))
    };
    let added = run(sampark()
        .args([
            "dnc",
            "add",
            ERASED,
            "--reason",
            "asked",
            "--redis",
            &redis.url(),
        ])
        .env("SAMPARK__POLICY__CITIZEN_KEY_SECRET", CITIZEN_KEY_SECRET));
    assert!(added.status.success(), "{added:?}");
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: String = conn
        .xadd(
            "sampark:deadletter",
            "*",
            &[
                ("source", "old"),
                ("reason", "old"),
                ("payload", "c-1,98 943 705 5501 ,x"),
            ],
        )
        .await
        .unwrap();

    // Queued: refused, nothing removed.
    let refused = erase(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("1 job(s) not ended"), "{stderr}");
    assert!(!stderr.contains(ERASED), "{stderr}");

    // Cancelled, its jobs end (and drop the number) as a dialer reads them.
    store
        .control_campaign(&id, CampaignAction::Cancel { hangup: false })
        .await
        .unwrap();
    router.stop().await;
    let (sim, sim_cancel) = start_simulator(sampark::simulator::SimulatorConfig::default()).await;
    let quota = sampark::store::Quota {
        burst: 5,
        period: Duration::from_secs(1),
    };
    let (daemon, _) = start_daemon(&redis.url(), &sim.base_url(), dialer_config(quota)).await;
    eventually(Duration::from_secs(30), "both contacts ended", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            let status = store.campaign_status(&id).await.unwrap()?;
            (status.finished() == 2).then_some(())
        }
    })
    .await;
    daemon.shutdown().await;
    sim_cancel.cancel();

    // Erase, keeping the citizen's wish first, then with it.
    let kept = erase(&[]);
    let stdout = String::from_utf8_lossy(&kept.stdout);
    assert!(kept.status.success(), "{kept:?}");
    for line in [
        "campaign number claims: 1",
        "dead letters masked: 1",
        "kept: 1 opt-out",
    ] {
        assert!(stdout.contains(line), "{line} in {stdout}");
    }
    assert!(!stdout.contains(ERASED), "{stdout}");
    let done = erase(&["--with-opt-out"]);
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(done.status.success(), "{done:?}");
    assert!(stdout.contains("citizen keys: 1"), "{stdout}");
    assert!(!stdout.contains("kept:"), "{stdout}");

    let all = everything(&mut conn).await;
    assert!(!all.contains(ERASED), "{ERASED} still in Redis:\n{all}");
    assert!(!all.contains(&format!("91{ERASED}")), "{all}");
    // The other citizen's contact is untouched (still ended, its claim kept).
    let tag = sampark::store::keys::Keys::new("sampark")
        .with_citizen_key(citizen_key())
        .citizen_tag(&sampark::domain::PhoneNumber::parse(&format!("+91{OTHER}")).unwrap());
    let (key, field) = sampark::store::keys::Keys::new("sampark").campaign_number(&id, &tag);
    let claim: Option<String> = conn.hget(key, field).await.unwrap();
    assert!(claim.is_some(), "the other number's claim");
}
