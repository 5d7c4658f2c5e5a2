//! Personal data (issue 11): whatever path refuses a document or a contact,
//! the dead-letter stream in Redis holds no citizen's number — read raw from
//! the `sampark:deadletter` stream, not through the store.

mod support;

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands;
use sampark::intake::IntakeRouter;
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use sampark::telemetry::Metrics;
use serde_json::json;
use support::eventually;
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
    let cancel = tokio_util::sync::CancellationToken::new();
    let router = IntakeRouter::new(
        store.clone(),
        Arc::new(|_: &str| true),
        "router".into(),
        Duration::from_secs(60),
        Arc::new(Metrics::new()),
        sampark::policy::CallingWindow::default(),
    );
    let running = tokio::spawn(router.run(cancel.clone()));

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
    cancel.cancel();
    running.await.unwrap();
}
