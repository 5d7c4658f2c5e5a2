//! Remembered visits as Redis holds them: short enough that a citizen's set
//! stays a listpack.

use std::time::Duration;

use sampark::domain::PhoneNumber;
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

#[tokio::test]
async fn a_citizens_visits_stay_a_listpack_and_read_back_whole() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    let keep = Duration::from_secs(3600);
    let (first, second) = (visit("c-0000001"), visit("c-0000002"));
    let phones = [&phone, &phone];
    let batch: Vec<_> = phones
        .into_iter()
        .zip([first.clone(), second.clone()])
        .collect();
    store.record_visits(&batch, keep).await.unwrap();

    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("sampark:citizen:*:visits")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        encoding, "listpack",
        "a member longer than 64 bytes makes a skiplist"
    );

    let got = store.recent_visits(&phone, keep, 8).await.unwrap();
    let without_time = |v: &ServiceVisit| ServiceVisit {
        at_ms: 0,
        ..v.clone()
    };
    let mut got_visits: Vec<ServiceVisit> = got.iter().map(without_time).collect();
    got_visits.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
    assert_eq!(got_visits, [first, second]);
    assert!(got.iter().all(|v| v.at_ms > 0));
}

#[tokio::test]
async fn a_visit_an_earlier_version_wrote_as_json_still_reads() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    let phone = PhoneNumber::parse("+919876543210").unwrap();
    let keep = Duration::from_secs(3600);
    // Learn the citizen's key from a visit of this version, then add one
    // as earlier versions stored it.
    store
        .record_visit(&phone, &visit("c-new"), keep)
        .await
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("sampark:citizen:*:visits")
        .query_async(&mut conn)
        .await
        .unwrap();
    let old = visit("c-old");
    let _: i64 = redis::cmd("ZADD")
        .arg(&keys[0])
        .arg(1)
        .arg(serde_json::to_string(&old).unwrap())
        .query_async(&mut conn)
        .await
        .unwrap();
    let got = store
        .recent_visits(&phone, Duration::from_secs(100 * 365 * 86_400), 8)
        .await
        .unwrap();
    let ids: Vec<&str> = got.iter().map(|v| v.contact_id.as_str()).collect();
    assert_eq!(ids, ["c-new", "c-old"]);
    assert_eq!(got[1], ServiceVisit { at_ms: 1, ..old });
}
