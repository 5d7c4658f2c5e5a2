//! Shared fixtures and shorthands for the contracts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{
    Answer, CampaignHeader, CampaignId, Contact, ContactId, FeedbackRecord, JobId, JobSpec,
    OfficialId, Outcome, PhoneNumber,
};
use sampark::store::{
    Authorize, DialLimits, Finish, IvrUpdate, Job, JobRef, PutOutcome, Quota, ReadyEntry, Store,
};

use super::support::eventually;

pub const WAIT: Duration = Duration::from_secs(10);
pub const HOUR: Duration = Duration::from_secs(3600);
pub const OPEN: Quota = Quota {
    burst: 1000,
    period: Duration::from_millis(1),
};

pub fn campaign_id() -> CampaignId {
    CampaignId::parse("police-1").unwrap()
}

pub fn header() -> CampaignHeader {
    CampaignHeader {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        kind: sampark::domain::CampaignKind::Survey,
        sample_rate: None,
        sample_max_per_office_per_day: None,
        freshness: Default::default(),
        id: campaign_id(),
        name: "Police feedback".into(),
        dialplan: "mo-sarkar-feedback".into(),
        caller_id: PhoneNumber::parse("+916742000000").unwrap(),
        department: "home".into(),
    }
}

pub fn spec(contact: &str, official: &str) -> JobSpec {
    JobSpec::new(
        &header(),
        Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse(contact).unwrap(),
            phone: PhoneNumber::parse("+919876543210").unwrap(),
            language: Some("or".into()),
            official_id: OfficialId::parse(official).unwrap(),
            office: "Dhenkanal Town PS".into(),
            service: "FIR registration".into(),
        },
    )
}

pub fn job_id(contact: &str) -> JobId {
    JobId::new(campaign_id(), ContactId::parse(contact).unwrap())
}

/// The reference of `contact`'s job, seeded for `official`.
pub fn job_ref(store: &Arc<dyn Store>, contact: &str, official: &str) -> JobRef {
    let shard = store.shard_of(&OfficialId::parse(official).unwrap());
    JobRef::new(shard, job_id(contact))
}

/// Puts the campaign and enqueues `(contact, official)` jobs.
pub async fn seed(store: &Arc<dyn Store>, jobs: &[(&str, &str)]) {
    store.put_campaign(&header()).await.unwrap();
    for (contact, official) in jobs {
        let outcome = store.enqueue(&spec(contact, official)).await.unwrap();
        assert_eq!(outcome, PutOutcome::Created);
    }
}

/// Reads ready entries until `n` arrived, keyed by contact id.
pub async fn ready(store: &Arc<dyn Store>, n: usize) -> HashMap<String, ReadyEntry> {
    let mut got = HashMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while got.len() < n {
        for e in store.read_ready("dialer", 100, HOUR).await.unwrap() {
            got.insert(e.job.contact.to_string(), e);
        }
        if got.len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} ready entries",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    assert_eq!(got.len(), n, "unexpected ready entries: {:?}", got.keys());
    got
}

/// Promotes due delayed jobs until `contact` is on a ready stream again.
pub async fn ready_again(store: &Arc<dyn Store>, contact: &str) -> ReadyEntry {
    eventually(WAIT, "the job back on the ready stream", || {
        let store = store.clone();
        async move {
            for shard in 0..store.shards() {
                store.promote_due(shard, 100).await.unwrap();
            }
            let batch = store.read_ready("dialer", 100, HOUR).await.unwrap();
            batch
                .into_iter()
                .find(|e| e.job.contact.as_str() == contact)
        }
    })
    .await
}

pub async fn grant(store: &Arc<dyn Store>, entry: &ReadyEntry, lease: Duration) -> (Job, i64) {
    match store
        .authorize(entry, &DialLimits::official(OPEN), lease)
        .await
        .unwrap()
    {
        Authorize::Granted { job, now_ms } => (*job, now_ms),
        other => panic!("expected Granted, got {other:?}"),
    }
}

/// The job of `contact`, whichever official (shard) it was seeded for.
pub async fn job(store: &Arc<dyn Store>, contact: &str) -> Job {
    for shard in 0..store.shards() {
        let job = JobRef::new(shard, job_id(contact));
        if let Some(found) = store.load_job(&job).await.unwrap() {
            return found;
        }
    }
    panic!("no job for contact {contact}");
}

/// Non-zero counts by state (a backend may keep zero entries).
pub async fn counts(store: &Arc<dyn Store>) -> BTreeMap<String, u64> {
    let status = store
        .campaign_status(&campaign_id())
        .await
        .unwrap()
        .unwrap();
    status.counts.into_iter().filter(|(_, n)| *n > 0).collect()
}

pub fn expect_counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

pub fn answer(question: &str, digits: &str, flag: Option<&str>) -> Answer {
    Answer {
        question: question.into(),
        digits: digits.into(),
        value: digits.into(),
        label: format!("pressed {digits}"),
        flag: flag.map(str::to_owned),
        at_ms: 0,
    }
}

pub fn ivr(attempt: u32, expected_step: u32, answers: Vec<Answer>) -> IvrUpdate {
    IvrUpdate {
        attempt,
        expected_step,
        session: format!("{{\"step\":{expected_step}}}"),
        new_answers: answers,
        response: format!("<Response>{expected_step}</Response>"),
        attribution: None,
        bridge: None,
    }
}

pub fn terminal(outcome: Outcome) -> Finish {
    Finish::Terminal {
        outcome,
        reason: None,
    }
}

pub fn retry(delay: Duration) -> Finish {
    Finish::Retry {
        delay,
        reason: "busy".into(),
    }
}

/// The relayed feedback record of `contact`.
pub async fn relayed_record(store: &Arc<dyn Store>, contact: &str) -> FeedbackRecord {
    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 100, &sampark::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    store
        .read_feedback("0", 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .find(|r| r.contact_id == contact)
        .unwrap_or_else(|| panic!("no record for {contact}"))
}
