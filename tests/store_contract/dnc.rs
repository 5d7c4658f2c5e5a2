//! Do-not-call contracts: entries are added, updated (keeping when they
//! were first added), checked, removed and counted; an entry lapses at its
//! expiry (and stops being counted); a live entry ends the contact at
//! authorisation, a removed or lapsed one does not; a large import is
//! stored in full.

use std::sync::Arc;

use sampark::domain::{JobState, Outcome, PhoneNumber};
use sampark::store::{Authorize, DialLimits, DncRequest, DncWrite, Store};

use super::helpers::*;
use super::support::eventually;

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).unwrap()
}

fn request(number: &str, reason: &str, expires_at_ms: Option<i64>) -> DncRequest {
    DncRequest {
        phone: phone(number),
        reason: reason.into(),
        expires_at_ms,
    }
}

pub async fn dnc_entries_are_added_updated_checked_removed_and_counted(store: Arc<dyn Store>) {
    let (a, b, c) = ("+919876500001", "+919876500002", "+14155550100");
    assert_eq!(store.dnc_count().await.unwrap(), 0);
    assert_eq!(store.dnc_check(&phone(a)).await.unwrap(), None);

    let before = store.now_ms().await.unwrap();
    let first = store.dnc_put(&[request(a, "asked", None)]).await.unwrap();
    assert_eq!(first, vec![DncWrite::Added]);
    let entry = store.dnc_check(&phone(a)).await.unwrap().expect("listed");
    assert_eq!(entry.reason, "asked");
    assert_eq!(entry.expires_at_ms, None);
    assert!(entry.added_at_ms >= before, "{entry:?}");
    assert_eq!(store.dnc_count().await.unwrap(), 1);

    // Re-adding replaces reason and expiry and keeps when it was added.
    let later = store.now_ms().await.unwrap() + 3_600_000;
    let again = store
        .dnc_put(&[request(a, "court order", Some(later))])
        .await
        .unwrap();
    assert_eq!(again, vec![DncWrite::Updated]);
    let updated = store.dnc_check(&phone(a)).await.unwrap().expect("listed");
    assert_eq!(updated.reason, "court order");
    assert_eq!(updated.expires_at_ms, Some(later));
    assert_eq!(updated.added_at_ms, entry.added_at_ms);
    // And back to no expiry.
    store.dnc_put(&[request(a, "", None)]).await.unwrap();
    let forever = store.dnc_check(&phone(a)).await.unwrap().expect("listed");
    assert_eq!((forever.reason.as_str(), forever.expires_at_ms), ("", None));

    // Several at once, in order: a number given twice ends with the later.
    let batch = store
        .dnc_put(&[
            request(b, "first", None),
            request(c, "", None),
            request(b, "second", None),
        ])
        .await
        .unwrap();
    assert_eq!(
        batch,
        vec![DncWrite::Added, DncWrite::Added, DncWrite::Updated]
    );
    assert_eq!(
        store.dnc_check(&phone(b)).await.unwrap().unwrap().reason,
        "second"
    );
    assert_eq!(store.dnc_count().await.unwrap(), 3);

    // An expiry that has passed stores nothing.
    let past = store.now_ms().await.unwrap() - 1;
    let d = "+919876500004";
    assert_eq!(
        store.dnc_put(&[request(d, "", Some(past))]).await.unwrap(),
        vec![DncWrite::Lapsed]
    );
    assert_eq!(store.dnc_check(&phone(d)).await.unwrap(), None);
    assert_eq!(store.dnc_count().await.unwrap(), 3);
    // Nor does it change a listed number's entry (or its place in the count).
    assert_eq!(
        store.dnc_put(&[request(b, "", Some(past))]).await.unwrap(),
        vec![DncWrite::Lapsed]
    );
    let kept = store
        .dnc_check(&phone(b))
        .await
        .unwrap()
        .expect("still listed");
    assert_eq!((kept.reason.as_str(), kept.expires_at_ms), ("second", None));
    assert_eq!(store.dnc_count().await.unwrap(), 3);

    assert!(store.dnc_remove(&phone(a)).await.unwrap());
    assert!(!store.dnc_remove(&phone(a)).await.unwrap(), "idempotent");
    assert_eq!(store.dnc_check(&phone(a)).await.unwrap(), None);
    assert_eq!(store.dnc_count().await.unwrap(), 2);
    assert!(store.dnc_put(&[]).await.unwrap().is_empty());
}

pub async fn dnc_entries_lapse_at_their_expiry(store: Arc<dyn Store>) {
    let (a, b) = ("+919876500001", "+919876500002");
    let soon = store.now_ms().await.unwrap() + 300;
    store
        .dnc_put(&[request(a, "brief", Some(soon)), request(b, "", None)])
        .await
        .unwrap();
    assert!(store.dnc_check(&phone(a)).await.unwrap().is_some());
    assert_eq!(store.dnc_count().await.unwrap(), 2);
    eventually(WAIT, "the entry to lapse", || {
        let store = store.clone();
        async move {
            store
                .dnc_check(&phone(a))
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
    assert_eq!(store.dnc_count().await.unwrap(), 1);
    // A lapsed entry is gone: adding the number again is a new entry.
    let now = store.now_ms().await.unwrap();
    assert_eq!(
        store.dnc_put(&[request(a, "again", None)]).await.unwrap(),
        vec![DncWrite::Added]
    );
    let entry = store.dnc_check(&phone(a)).await.unwrap().unwrap();
    assert!(entry.added_at_ms >= now, "{entry:?}");
    assert_eq!(store.dnc_count().await.unwrap(), 2);
}

pub async fn dnc_entries_are_honoured_at_authorisation(store: Arc<dyn Store>) {
    // Every contact of `spec` has the number +919876543210.
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-2"), ("c-3", "off-3")],
    )
    .await;
    let entries = ready(&store, 3).await;
    let listed = request("+919876543210", "court order", None);
    store.dnc_put(std::slice::from_ref(&listed)).await.unwrap();
    let limits = DialLimits::official(OPEN);
    assert_eq!(
        store
            .authorize(&entries["c-1"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::OptedOut
    );
    let ended = job(&store, "c-1").await;
    assert_eq!(
        (ended.state, ended.attempt),
        (JobState::Done(Outcome::OptedOut), 0)
    );
    let record = relayed_record(&store, "c-1").await;
    assert_eq!(
        record.reason.as_deref(),
        Some("on the do-not-call list: court order")
    );

    // A lapsed entry no longer holds.
    let soon = store.now_ms().await.unwrap() + 200;
    let brief = DncRequest {
        expires_at_ms: Some(soon),
        ..listed.clone()
    };
    store.dnc_put(&[brief]).await.unwrap();
    // Redis expires a key once its clock is past the expiry.
    eventually(WAIT, "the store's clock past the expiry", || {
        let store = store.clone();
        async move { (store.now_ms().await.unwrap() > soon).then_some(()) }
    })
    .await;
    assert_eq!(store.dnc_check(&listed.phone).await.unwrap(), None);
    assert!(matches!(
        store
            .authorize(&entries["c-2"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));

    // A removed one neither.
    store.dnc_put(std::slice::from_ref(&listed)).await.unwrap();
    assert!(store.dnc_remove(&listed.phone).await.unwrap());
    assert!(matches!(
        store
            .authorize(&entries["c-3"], &limits, HOUR)
            .await
            .unwrap(),
        Authorize::Granted { .. }
    ));
}

pub async fn a_large_dnc_import_is_stored_in_full(store: Arc<dyn Store>) {
    let requests: Vec<DncRequest> = (0..2_500)
        .map(|i| request(&format!("+9198765{i:05}"), "bulk", None))
        .collect();
    let writes = store.dnc_put(&requests).await.unwrap();
    assert_eq!(writes.len(), 2_500);
    assert!(writes.iter().all(|w| *w == DncWrite::Added));
    assert_eq!(store.dnc_count().await.unwrap(), 2_500);
    for i in [0, 999, 1_000, 2_499] {
        let p = phone(&format!("+9198765{i:05}"));
        assert_eq!(store.dnc_check(&p).await.unwrap().unwrap().reason, "bulk");
    }
    let again = store.dnc_put(&requests[..10]).await.unwrap();
    assert!(again.iter().all(|w| *w == DncWrite::Updated));
    assert_eq!(store.dnc_count().await.unwrap(), 2_500);
}
