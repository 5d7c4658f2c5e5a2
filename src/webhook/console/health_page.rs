//! The health page (`/health`): whether the store answers and how fast,
//! whether this instance dials (its dial gate) and whether the fleet is held,
//! the instances heard from (their heartbeats),
//! Redis's persistence, the provider's push-back as this instance saw it,
//! and how many contacts wait, across every campaign.
//!
//! Does not own: the facts (the store, the dial gate, the metrics); it
//! reads them when the page is asked for.

use std::collections::BTreeMap;
use std::time::Instant;

use askama::Template;
use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use super::auth::Access;
use super::view::{self, Chrome, Nav};
use crate::dialer::DialGate;
use crate::domain::JobState;
use crate::store::{CampaignState, EscalationQuery, Store};
use crate::telemetry::{DialDecision, Metrics, OriginateResult};

/// An instance silent for this long is shown as a problem (it sends a
/// heartbeat every ten seconds: `daemon/heartbeat.rs`).
const STALE_MS: i64 = 35_000;

/// A line of a table: what, how many or what state, and what it means.
pub struct Fact {
    pub label: String,
    pub value: String,
    /// Something an operator must look at.
    pub bad: bool,
}

impl Fact {
    fn new(label: impl Into<String>, value: impl Into<String>, bad: bool) -> Fact {
        Fact {
            label: label.into(),
            value: value.into(),
            bad,
        }
    }
}

#[derive(Template)]
#[template(path = "health.html")]
pub struct HealthPage {
    pub chrome: Chrome,
    /// `(caption, facts)`.
    pub sections: Vec<(&'static str, Vec<Fact>)>,
}

/// `GET /health`.
pub async fn page(
    store: &dyn Store,
    metrics: &Metrics,
    gate: Option<&DialGate>,
    access: &Access,
) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let reachable = store.now_ms().await;
    let latency = started.elapsed();
    let mut store_facts = vec![match &reachable {
        Ok(_) => Fact::new(
            "Redis",
            format!("answers ({:.1} ms)", latency.as_secs_f64() * 1000.0),
            false,
        ),
        Err(e) => Fact::new("Redis", format!("does not answer: {e}"), true),
    }];
    let mut dialling = Vec::new();
    let causes = gate.map(DialGate::causes).unwrap_or_default();
    dialling.push(if causes.is_empty() {
        Fact::new("This instance", "dials", false)
    } else {
        let why: Vec<&str> = causes.iter().map(|c| c.describe()).collect();
        Fact::new("This instance", format!("paused: {}", why.join("; ")), true)
    });
    if reachable.is_ok()
        && let Some(guard) = store.data_guard()
    {
        match guard.read_epoch().await {
            Ok(marker) => dialling.push(match marker.hold {
                Some(reason) => Fact::new("Every instance", format!("held: {reason}"), true),
                None => Fact::new("Every instance", "not held", false),
            }),
            Err(e) => dialling.push(Fact::new("Every instance", format!("unknown: {e}"), true)),
        }
        let problems = guard.durability().await.problems();
        store_facts.push(if problems.is_empty() {
            Fact::new("Persistence", "keeps its data across a restart", false)
        } else {
            Fact::new("Persistence", problems.join("; "), true)
        });
    }
    dialling.push(Fact::new(
        "Calls in progress (this instance)",
        metrics.calls_in_flight().to_string(),
        false,
    ));
    let originates = metrics.originates();
    let decisions = metrics.dial_decisions();
    let provider = vec![
        Fact::new(
            "Calls placed",
            originates.get(OriginateResult::Ok).to_string(),
            false,
        ),
        Fact::new(
            "Refused as too fast (the provider said slow down)",
            originates.get(OriginateResult::Throttled).to_string(),
            originates.get(OriginateResult::Throttled) > 0,
        ),
        Fact::new(
            "Held by the provider's calls per second",
            decisions.get(DialDecision::ProviderBusy).to_string(),
            false,
        ),
        Fact::new(
            "Failed before the provider acted",
            originates.get(OriginateResult::Transient).to_string(),
            false,
        ),
        Fact::new(
            "Outcome unknown, being reconciled",
            originates.get(OriginateResult::Unknown).to_string(),
            false,
        ),
        Fact::new(
            "Refused for good",
            originates.get(OriginateResult::Rejected).to_string(),
            false,
        ),
    ];
    let instances = match store.instances().await {
        Ok(seen) if seen.is_empty() => vec![Fact::new("Instances", "none heard from yet", false)],
        Ok(seen) => seen
            .into_iter()
            .map(|i| {
                let idle = view::span(i.idle_ms);
                let stale = i.idle_ms > STALE_MS;
                let value = if stale {
                    format!("not seen for {idle}")
                } else {
                    format!("heard from {idle} ago")
                };
                Fact::new(i.name, value, stale)
            })
            .collect(),
        Err(e) => vec![Fact::new("Instances", format!("unknown: {e}"), true)],
    };
    let queues = match queues(store).await {
        Ok(q) => q,
        Err(e) => vec![Fact::new("Queues", format!("unknown: {e}"), true)],
    };
    view::page(
        StatusCode::OK,
        &HealthPage {
            chrome: Chrome::new("Health", Nav::Health, access),
            sections: vec![
                ("Store", store_facts),
                ("Dialling", dialling),
                ("Instances seen (by their heartbeats)", instances),
                ("Provider (this instance, since it started)", provider),
                ("Queues (every campaign)", queues),
            ],
        },
    )
}

/// Contacts by state over every campaign, and what else waits.
async fn queues(store: &dyn Store) -> Result<Vec<Fact>, crate::store::StoreError> {
    let mut by_state: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut campaigns: BTreeMap<&'static str, u64> = BTreeMap::new();
    for id in store.campaigns().await? {
        let Some(status) = store.campaign_status(&id).await? else {
            continue;
        };
        let unfinished = status.total() > status.finished();
        let state = match status.state {
            CampaignState::Active if unfinished => "active",
            CampaignState::Active => "finished",
            other => other.as_str(),
        };
        *campaigns.entry(state).or_default() += 1;
        for s in [
            JobState::Queued,
            JobState::RetryWait,
            JobState::Dialing,
            JobState::InCall,
        ] {
            *by_state.entry(s.as_str()).or_default() +=
                status.counts.get(s.as_str()).copied().unwrap_or(0);
        }
    }
    let get = |m: &BTreeMap<&str, u64>, k: &str| m.get(k).copied().unwrap_or(0).to_string();
    let open = store
        .escalations(&EscalationQuery {
            open_only: true,
            ..EscalationQuery::default()
        })
        .await?
        .len();
    Ok(vec![
        Fact::new("Campaigns dialling", get(&campaigns, "active"), false),
        Fact::new("Campaigns paused", get(&campaigns, "paused"), false),
        Fact::new("Campaigns finished", get(&campaigns, "finished"), false),
        Fact::new("Campaigns cancelled", get(&campaigns, "cancelled"), false),
        Fact::new("Contacts queued", get(&by_state, "queued"), false),
        Fact::new(
            "Contacts waiting to retry",
            get(&by_state, "retry_wait"),
            false,
        ),
        Fact::new("Contacts being dialled", get(&by_state, "dialing"), false),
        Fact::new("Contacts in a call", get(&by_state, "in_call"), false),
        Fact::new(
            "Calls in flight (every instance)",
            store.in_flight_count().await?.to_string(),
            false,
        ),
        Fact::new("Open escalations", open.to_string(), open > 0),
        Fact::new(
            "Numbers on the do-not-call list",
            store.dnc_count().await?.to_string(),
            false,
        ),
    ])
}
