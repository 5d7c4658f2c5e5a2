//! A small survey campaign for the failover tests, and the check that it
//! ended with exactly one feedback record per contact, read through the
//! store (so in any `redis.mode`).

use std::collections::HashMap;
use std::time::Duration;

use sampark::domain::FeedbackRecord;
use sampark::store::Store;
use sampark::store::redis::RedisStore;
use serde_json::json;

use super::eventually;

/// A campaign of `n` contacts over five officials.
pub fn campaign(id: &str, n: usize) -> String {
    let contacts: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": format!("c-{i:03}"),
                "phone": format!("+9197{:08}", 20_000_000 + i),
                "official_id": format!("off-{}", i % 5),
                "office": format!("Office {}", i % 5),
                "service": "FIR registration",
            })
        })
        .collect();
    json!({
        "version": 1, "id": id, "name": id, "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000", "department": "home", "contacts": contacts,
    })
    .to_string()
}

/// Every record on the feedback stream, read through the store.
pub async fn records(store: &RedisStore) -> Option<Vec<FeedbackRecord>> {
    let mut all = Vec::new();
    let mut cursor = "0-0".to_owned();
    loop {
        let page = store.read_feedback(&cursor, 500).await.ok()?;
        let Some((last, _)) = page.last() else {
            return Some(all);
        };
        cursor = last.clone();
        all.extend(page.into_iter().map(|(_, r)| r));
    }
}

/// Exactly one record for each of `n` contacts, checked once the stream has
/// stopped growing.
pub async fn assert_one_record_each(store: &RedisStore, n: usize) {
    let done = eventually(
        Duration::from_secs(240),
        "a record for every contact",
        || async { records(store).await.filter(|r| r.len() >= n) },
    )
    .await;
    // Anything relayed twice would land now: the relay's passes are 20 ms apart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = records(store).await.expect("the store answers");
    assert_eq!(
        all.len(),
        done.len().max(n),
        "no record was added after the last contact's"
    );
    let mut by_contact: HashMap<&str, usize> = HashMap::new();
    for r in &all {
        *by_contact.entry(&r.contact_id).or_default() += 1;
    }
    assert_eq!(by_contact.len(), n, "a record for every contact");
    let doubled: Vec<_> = by_contact.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        doubled.is_empty(),
        "contacts with more than one record: {doubled:?}"
    );
}
