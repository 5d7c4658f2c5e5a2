//! Officials' registry contracts: officials are created, replaced and found
//! unchanged (counted once each, in one step), read back intact (Odia names,
//! languages, the number in full for dialling), listed by id and filtered by
//! department and office, and removed; an official given twice counts twice
//! with the later winning; a large import lands whole.

use std::sync::Arc;

use sampark::domain::{Official, OfficialFields, OfficialId};
use sampark::store::{ImportSummary, OfficialQuery, Store};

pub fn official(id: &str, name: &str, office: &str, department: &str) -> Official {
    Official::new(&OfficialFields {
        official_id: id.into(),
        name: name.into(),
        phone: format!("98610{:05}", id.len() * 7 + name.len()),
        office: office.into(),
        department: department.into(),
        languages: vec!["or".into(), "en".into()],
    })
    .unwrap()
}

fn ids(officials: &[Official]) -> Vec<&str> {
    officials.iter().map(|o| o.official_id().as_str()).collect()
}

fn query(department: Option<&str>, office: Option<&str>) -> OfficialQuery {
    OfficialQuery {
        department: department.map(str::to_owned),
        office: office.map(str::to_owned),
    }
}

fn summary(created: u64, updated: u64, unchanged: u64) -> ImportSummary {
    ImportSummary {
        created,
        updated,
        unchanged,
    }
}

pub async fn officials_are_created_updated_listed_filtered_and_removed(store: Arc<dyn Store>) {
    let id = |s: &str| OfficialId::parse(s).unwrap();
    assert_eq!(
        store.officials(&OfficialQuery::default()).await.unwrap(),
        []
    );
    assert_eq!(store.official(&id("col-khordha")).await.unwrap(), None);
    assert!(!store.remove_official(&id("col-khordha")).await.unwrap());
    assert_eq!(store.put_officials(&[]).await.unwrap(), summary(0, 0, 0));

    let collector = official("col-khordha", "ସୁଜାତା ମହାନ୍ତି", "Collectorate Khordha", "Revenue");
    let tahasildar = official(
        "th-bhubaneswar",
        "Ravi Das",
        "Tahasil Bhubaneswar",
        "Revenue",
    );
    let officer = official("io-dhenkanal", "ପ୍ରିୟା ସାହୁ", "Dhenkanal Town PS", "Home");
    let put = store
        .put_officials(&[tahasildar.clone(), collector.clone(), officer.clone()])
        .await
        .unwrap();
    assert_eq!(put, summary(3, 0, 0));

    // Read back intact, the number in full for the daemon to dial.
    let read = store.official(&id("col-khordha")).await.unwrap().unwrap();
    assert_eq!(read, collector);
    assert_eq!(read.name(), "ସୁଜାତା ମହାନ୍ତି");
    assert_eq!(read.phone(), collector.phone());
    assert_eq!(read.languages(), ["or", "en"]);

    // Listed by id; filters match exactly and combine.
    let all = store.officials(&OfficialQuery::default()).await.unwrap();
    assert_eq!(ids(&all), ["col-khordha", "io-dhenkanal", "th-bhubaneswar"]);
    let revenue = store
        .officials(&query(Some("Revenue"), None))
        .await
        .unwrap();
    assert_eq!(ids(&revenue), ["col-khordha", "th-bhubaneswar"]);
    let office = query(Some("Revenue"), Some("Tahasil Bhubaneswar"));
    assert_eq!(
        ids(&store.officials(&office).await.unwrap()),
        ["th-bhubaneswar"]
    );
    let station = query(None, Some("Dhenkanal Town PS"));
    assert_eq!(
        ids(&store.officials(&station).await.unwrap()),
        ["io-dhenkanal"]
    );
    assert_eq!(
        store
            .officials(&query(Some("revenue"), None))
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store
            .officials(&query(Some("Home"), Some("Collectorate Khordha")))
            .await
            .unwrap(),
        []
    );

    // Imported again: one changed, one new, two the same.
    let moved = official("io-dhenkanal", "ପ୍ରିୟା ସାହୁ", "Angul Town PS", "Home");
    let new = official("sp-angul", "Asha Nayak", "SP Office Angul", "Home");
    let again = store
        .put_officials(&[collector.clone(), moved.clone(), tahasildar.clone(), new])
        .await
        .unwrap();
    assert_eq!(again, summary(1, 1, 2));
    assert_eq!(
        store.official(&id("io-dhenkanal")).await.unwrap(),
        Some(moved)
    );
    let home = store.officials(&query(Some("Home"), None)).await.unwrap();
    assert_eq!(ids(&home), ["io-dhenkanal", "sp-angul"]);

    // Removed once.
    assert!(store.remove_official(&id("th-bhubaneswar")).await.unwrap());
    assert!(!store.remove_official(&id("th-bhubaneswar")).await.unwrap());
    assert_eq!(store.official(&id("th-bhubaneswar")).await.unwrap(), None);
    let all = store.officials(&OfficialQuery::default()).await.unwrap();
    assert_eq!(ids(&all), ["col-khordha", "io-dhenkanal", "sp-angul"]);
    // And created again after.
    let back = store.put_officials(&[tahasildar]).await.unwrap();
    assert_eq!(back, summary(1, 0, 0));
}

pub async fn an_official_given_twice_counts_twice_and_the_later_wins(store: Arc<dyn Store>) {
    let first = official("col-puri", "A Mohanty", "Collectorate Puri", "Revenue");
    let second = official(
        "col-puri",
        "A Mohanty",
        "Collectorate Puri (new)",
        "Revenue",
    );
    let put = store
        .put_officials(&[first.clone(), first.clone(), second.clone()])
        .await
        .unwrap();
    assert_eq!(put, summary(1, 1, 1));
    let read = store.official(second.official_id()).await.unwrap();
    assert_eq!(read, Some(second));
}

pub async fn a_large_import_lands_whole(store: Arc<dyn Store>) {
    let officials: Vec<Official> = (0..5_000)
        .map(|i| {
            official(
                &format!("off-{i:05}"),
                "ଅଧିକାରୀ",
                &format!("Office {}", i % 50),
                &format!("Dept {}", i % 7),
            )
        })
        .collect();
    let put = store.put_officials(&officials).await.unwrap();
    assert_eq!(put, summary(5_000, 0, 0));
    let all = store.officials(&OfficialQuery::default()).await.unwrap();
    assert_eq!(all, officials, "every one, sorted by id");
    let office = store
        .officials(&query(None, Some("Office 3")))
        .await
        .unwrap();
    assert_eq!(office.len(), 100);
    let again = store.put_officials(&officials).await.unwrap();
    assert_eq!(again, summary(0, 0, 5_000));
}
