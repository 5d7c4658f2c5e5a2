//! Inbound-call contracts: remembered visits, the live-call cap, and the job
//! an inbound call is born with (then saved, finished and relayed like any).

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{
    Attribution, CallStatus, CampaignId, Contact, ContactId, Direction, JobId, JobSpec, JobState,
    OfficialId, Outcome, PhoneNumber,
};
use sampark::store::{
    Admission, Finish, InboundStart, IvrUpdate, JobRef, SaveIvr, ServiceVisit, Store,
};

use super::helpers::{HOUR, spec};

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+919876543210").unwrap()
}

pub async fn visits_are_remembered_newest_first_and_refreshed(store: Arc<dyn Store>) {
    let keep = HOUR;
    let first = ServiceVisit::of(&spec("c-1", "off-1"));
    let second = ServiceVisit::of(&spec("c-2", "off-2"));
    store.record_visit(&phone(), &first, keep).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.record_visit(&phone(), &second, keep).await.unwrap();
    let got = store.recent_visits(&phone(), keep, 8).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|v| v.contact_id.as_str()).collect();
    assert_eq!(ids, ["c-2", "c-1"]);
    assert!(got[0].at_ms >= got[1].at_ms && got[1].at_ms > 0);
    assert_eq!(got[1].office, "Dhenkanal Town PS");
    assert_eq!(got[1].language.as_deref(), Some("or"));

    // Remembering a visit again refreshes it: still two, now newest.
    tokio::time::sleep(Duration::from_millis(5)).await;
    store.record_visit(&phone(), &first, keep).await.unwrap();
    let got = store.recent_visits(&phone(), keep, 8).await.unwrap();
    let ids: Vec<&str> = got.iter().map(|v| v.contact_id.as_str()).collect();
    assert_eq!(ids, ["c-1", "c-2"]);
    assert_eq!(
        store.recent_visits(&phone(), keep, 1).await.unwrap().len(),
        1
    );

    // Outside the window, or another citizen: nothing.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let none = store
        .recent_visits(&phone(), Duration::from_millis(10), 8)
        .await
        .unwrap();
    assert!(none.is_empty());
    let other = PhoneNumber::parse("+919876500000").unwrap();
    assert!(
        store
            .recent_visits(&other, keep, 8)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Many citizens' visits remembered at once (more than one script call's
/// worth on a single node): each citizen has their own, and only it.
pub async fn many_citizens_visits_are_remembered_each_their_own(store: Arc<dyn Store>) {
    let keep = HOUR;
    let citizens: Vec<(PhoneNumber, ServiceVisit)> = (0..1_203)
        .map(|i| {
            let phone = PhoneNumber::parse(&format!("+9198{i:08}")).unwrap();
            let mut visit = ServiceVisit::of(&spec(&format!("c-{i}"), "off-1"));
            visit.office = format!("Office {}", i % 7);
            (phone, visit)
        })
        .collect();
    let visits: Vec<(&PhoneNumber, ServiceVisit)> = citizens
        .iter()
        .map(|(phone, visit)| (phone, visit.clone()))
        .collect();
    store.record_visits(&visits, keep).await.unwrap();
    for (i, (phone, _)) in citizens.iter().enumerate().step_by(97) {
        let got = store.recent_visits(phone, keep, 8).await.unwrap();
        let seen: Vec<(&str, &str)> = got
            .iter()
            .map(|v| (v.contact_id.as_str(), v.office.as_str()))
            .collect();
        assert_eq!(
            seen,
            [(
                format!("c-{i}").as_str(),
                format!("Office {}", i % 7).as_str()
            )]
        );
    }
}

pub async fn live_inbound_calls_are_capped(store: Arc<dyn Store>) {
    let hold = HOUR;
    assert_eq!(
        store.admit_inbound("CA1", 2, hold).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        store.admit_inbound("CA2", 2, hold).await.unwrap(),
        Admission::Admitted
    );
    // Idempotent for a call already counted, even at the cap.
    assert_eq!(
        store.admit_inbound("CA1", 2, hold).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        store.admit_inbound("CA3", 2, hold).await.unwrap(),
        Admission::Busy
    );
    store.release_inbound("CA1").await.unwrap();
    store.release_inbound("CA1").await.unwrap();
    assert_eq!(
        store.admit_inbound("CA3", 2, hold).await.unwrap(),
        Admission::Admitted
    );
    // An entry held past its time no longer counts.
    let short = Duration::from_millis(20);
    store.release_inbound("CA2").await.unwrap();
    store.release_inbound("CA3").await.unwrap();
    assert_eq!(
        store.admit_inbound("CA4", 1, short).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        store.admit_inbound("CA5", 1, short).await.unwrap(),
        Admission::Busy
    );
    tokio::time::sleep(Duration::from_millis(40)).await;
    assert_eq!(
        store.admit_inbound("CA5", 1, short).await.unwrap(),
        Admission::Admitted
    );
}

fn inbound_spec(sid: &str) -> JobSpec {
    JobSpec {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        official_call: None,
        not_after_ms: None,
        not_before_ms: None,
        campaign_id: CampaignId::parse("inbound").unwrap(),
        dialplan: "mo-sarkar-inbound".into(),
        caller_id: PhoneNumber::parse("+916742100100").unwrap(),
        department: String::new(),
        contact: Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse(sid).unwrap(),
            phone: phone(),
            language: None,
            official_id: OfficialId::parse("programme-desk").unwrap(),
            office: String::new(),
            service: String::new(),
        },
        direction: Direction::Inbound,
    }
}

fn about(attributed: bool) -> Attribution {
    Attribution {
        campaign_id: if attributed { "police-1" } else { "inbound" }.into(),
        contact_id: if attributed { "c-1" } else { "CAin" }.into(),
        official_id: if attributed { "off-1" } else { "" }.into(),
        department: "home".into(),
        office: if attributed { "Dhenkanal Town PS" } else { "" }.into(),
        service: String::new(),
        attributed,
    }
}

pub async fn an_inbound_call_is_born_in_a_call_and_recorded_once(store: Arc<dyn Store>) {
    let sid = "CAin";
    let job = JobRef::new(
        5,
        JobId::new(
            CampaignId::parse("inbound").unwrap(),
            ContactId::parse(sid).unwrap(),
        ),
    );
    let spec = inbound_spec(sid);
    let created = match store
        .start_inbound(&job, &spec, &about(false), sid, HOUR)
        .await
        .unwrap()
    {
        InboundStart::Created(job) => *job,
        other => panic!("expected Created, got {other:?}"),
    };
    assert_eq!(created.state, JobState::InCall);
    assert_eq!((created.attempt, created.dials), (1, 1));
    assert_eq!(created.call_sid.as_deref(), Some(sid));
    assert_eq!(created.call_status, Some(CallStatus::InProgress));
    assert_eq!(created.attribution, Some(about(false)));
    assert_eq!(*created.spec, spec);
    // Again (a duplicate webhook): the same job, unchanged.
    match store
        .start_inbound(&job, &spec, &about(true), sid, HOUR)
        .await
        .unwrap()
    {
        InboundStart::Existing(again) => assert_eq!(*again, created),
        other => panic!("expected Existing, got {other:?}"),
    }
    assert_eq!(store.in_flight_count().await.unwrap(), 1);

    // The caller names a visit: the record is about it.
    let update = IvrUpdate {
        attempt: 1,
        expected_step: 0,
        session: "{}".into(),
        new_answers: Vec::new(),
        response: "<Response/>".into(),
        attribution: Some(about(true)),
        bridge: None,
    };
    assert_eq!(
        store.save_ivr(&job, &update).await.unwrap(),
        SaveIvr::Saved { step: 1 }
    );
    let finish = Finish::Terminal {
        outcome: Outcome::Completed,
        reason: None,
    };
    store.finish(&job, 1, Some(1), &finish).await.unwrap();
    store
        .relay_feedback(5, 10, &sampark::domain::ScoringRules::default())
        .await
        .unwrap();
    let records = store.read_feedback("0", 10).await.unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0].1;
    assert_eq!(r.record_id, "inbound/CAin");
    assert_eq!(r.direction, Direction::Inbound);
    assert!(r.attributed);
    assert_eq!(
        (
            r.campaign_id.as_str(),
            r.contact_id.as_str(),
            r.official_id.as_str()
        ),
        ("police-1", "c-1", "off-1")
    );
    assert_eq!(r.attempts, 1);
    assert_eq!(store.in_flight_count().await.unwrap(), 0);
}
