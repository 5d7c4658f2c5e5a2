//! Remembered visits as Redis holds them: a field per citizen in a bucket
//! of the day, the bucket expiring whole; the sets earlier versions kept
//! per citizen are still read.

use std::time::Duration;

use sampark::domain::PhoneNumber;
use sampark::store::keys::Keys;
use sampark::store::redis::Erasure;
use sampark::store::{ServiceVisit, Store};

use super::helpers::{raw, setup};

fn visit(contact: &str) -> ServiceVisit {
    ServiceVisit {
        campaign_id: "police-nov-2026".into(),
        contact_id: contact.into(),
        official_id: "off-0417".into(),
        department: "Home (Police)".into(),
        office: "Puri Sadar Police Station, Grand Road".into(),
        service: "Passport verification".into(),
        language: Some("or".into()),
        at_ms: 0,
    }
}

/// Remembers `member` at `at_ms` as earlier versions did: in the citizen's
/// own set.
async fn put_in_earlier_set(
    conn: &mut redis::aio::MultiplexedConnection,
    phone: &PhoneNumber,
    at_ms: i64,
    member: &str,
) {
    let _: i64 = redis::cmd("ZADD")
        .arg(Keys::new("sampark").visits(phone))
        .arg(at_ms)
        .arg(member)
        .query_async(conn)
        .await
        .unwrap();
}

async fn keys(conn: &mut redis::aio::MultiplexedConnection, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn citizens_share_a_days_bucket_that_expires_whole() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    let keep = Duration::from_secs(3600);
    let (first, second) = (visit("c-0000001"), visit("c-0000002"));
    let others: Vec<PhoneNumber> = (0..300)
        .map(|i| PhoneNumber::parse(&format!("+9198{i:08}")).unwrap())
        .collect();
    let mut batch: Vec<_> = vec![(&phone, first.clone()), (&phone, second.clone())];
    batch.extend(others.iter().map(|p| (p, visit("c-other"))));
    store.record_visits(&batch, keep).await.unwrap();

    // No key per citizen: 301 citizens in as many of today's 4,096
    // buckets, or a few fewer where two share one.
    assert!(keys(&mut conn, "sampark:citizen:*").await.is_empty());
    let buckets = keys(&mut conn, "sampark:visits:*").await;
    assert!(
        (250..=301).contains(&buckets.len()),
        "{} buckets",
        buckets.len()
    );
    for bucket in &buckets {
        let ttl_ms: i64 = redis::cmd("PTTL")
            .arg(bucket)
            .query_async(&mut conn)
            .await
            .unwrap();
        // The rest of its day, one more, and the lookback.
        let day_ms = 86_400_000;
        assert!(
            ttl_ms > 3_600_000 + day_ms && ttl_ms <= 3_600_000 + 2 * day_ms,
            "{bucket}: {ttl_ms} ms"
        );
    }

    let got = store.recent_visits(&phone, keep, 8).await.unwrap();
    let without_time = |v: &ServiceVisit| ServiceVisit {
        at_ms: 0,
        ..v.clone()
    };
    let mut got_visits: Vec<ServiceVisit> = got.iter().map(without_time).collect();
    got_visits.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
    assert_eq!(got_visits, [first, second]);
    // Kept as ms since the start of the bucket's day, read back whole.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        got.iter()
            .all(|v| (now_ms - 60_000..=now_ms + 60_000).contains(&v.at_ms)),
        "{got:?}"
    );
    // The same visit made known again is remembered once.
    store
        .record_visit(&phone, &visit("c-0000001"), keep)
        .await
        .unwrap();
    assert_eq!(store.recent_visits(&phone, keep, 8).await.unwrap().len(), 2);
    assert_eq!(
        store
            .recent_visits(&others[7], keep, 8)
            .await
            .unwrap()
            .len(),
        1
    );

    // Erasure removes the citizen's field, and only that.
    let Erasure::Done(erased) = store.erase_number(&phone, false).await.unwrap() else {
        panic!("nothing holds the number");
    };
    assert_eq!(erased.remembered_visits, 1);
    assert!(
        store
            .recent_visits(&phone, keep, 8)
            .await
            .unwrap()
            .is_empty()
    );
    let other = store.recent_visits(&others[7], keep, 8).await.unwrap();
    assert_eq!(other.len(), 1);
}

#[tokio::test]
async fn visits_an_earlier_version_kept_per_citizen_still_read() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    let keep = Duration::from_secs(3600);
    store
        .record_visit(&phone, &visit("c-new"), keep)
        .await
        .unwrap();
    // As earlier versions stored one: the citizen's own zset, a JSON member.
    let old = visit("c-old");
    put_in_earlier_set(&mut conn, &phone, 1, &serde_json::to_string(&old).unwrap()).await;
    let got = store
        .recent_visits(&phone, Duration::from_secs(100 * 365 * 86_400), 8)
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|v| v.contact_id.as_str()).collect();
    assert_eq!(ids, ["c-new", "c-old"]);
    assert_eq!(got[1], ServiceVisit { at_ms: 1, ..old });
    // Outside a shorter window the old one is not.
    let recent = store.recent_visits(&phone, keep, 8).await.unwrap();
    assert_eq!(recent.len(), 1);

    // The same visit in both (a document ingested again after an upgrade)
    // is read once, at its latest.
    let buckets = keys(&mut conn, "sampark:visits:*").await;
    let fields: Vec<String> = redis::cmd("HVALS")
        .arg(&buckets[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    let (_, packed) = fields[0].split_once('\u{1f}').unwrap();
    // Earlier versions' sets held the campaign and the official themselves
    // where a bucket holds their text ids.
    let mut parts: Vec<&str> = packed.split('\u{1f}').collect();
    let new = visit("c-new");
    (parts[0], parts[2]) = (&new.campaign_id, &new.official_id);
    put_in_earlier_set(&mut conn, &phone, 2, &parts.join("\u{1f}")).await;
    let again = store
        .recent_visits(&phone, Duration::from_secs(100 * 365 * 86_400), 8)
        .await
        .unwrap();
    let ids: Vec<&str> = again.iter().map(|v| v.contact_id.as_str()).collect();
    assert_eq!(ids, ["c-new", "c-old"]);
    assert!(again[0].at_ms > 2, "at its latest");
}
