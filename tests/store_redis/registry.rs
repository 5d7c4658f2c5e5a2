//! The officials' registry's Redis layout: one hash, `<prefix>:officials`,
//! official id → compact JSON with the number in full (for dialling); a
//! stored entry that is not an official is reported corrupt, never with its
//! number.

use sampark::domain::{Official, OfficialFields};
use sampark::store::OfficialQuery;

use super::helpers::*;

fn official() -> Official {
    Official::new(&OfficialFields {
        official_id: "col-khordha".into(),
        name: "ସୁଜାତା ମହାନ୍ତି".into(),
        phone: "09861000001".into(),
        office: "Collectorate".into(),
        department: "Revenue".into(),
        languages: vec!["or".into()],
    })
    .unwrap()
}

#[tokio::test]
async fn officials_are_one_hash_of_compact_json() {
    let (server, store) = setup().await;
    let mut conn = raw(&server).await;
    store.put_officials(&[official()]).await.unwrap();
    let stored: String = redis::cmd("HGET")
        .arg("sampark:officials")
        .arg("col-khordha")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        stored,
        r#"{"official_id":"col-khordha","name":"ସୁଜାତା ମହାନ୍ତି","phone":"+919861000001","office":"Collectorate","department":"Revenue","languages":["or"]}"#
    );
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("sampark:offic*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, ["sampark:officials"]);

    // An entry written by hand that is not an official.
    let _: () = redis::cmd("HSET")
        .arg("sampark:officials")
        .arg("bad")
        .arg(r#"{"official_id":"bad","name":"","phone":"+919861000002","office":"o","department":"d","languages":[]}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    for result in [
        store.officials(&OfficialQuery::default()).await.map(|_| ()),
        store
            .official(&OfficialId::parse("bad").unwrap())
            .await
            .map(|_| ()),
    ] {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("name: is empty"), "{text}");
        assert!(!text.contains("9861000002"), "{text}");
    }
}
