//! The dialer's settings, already validated (built from `config::Settings`).

use std::collections::HashMap;
use std::time::Duration;

use crate::calls::RetryPolicy;
use crate::domain::OfficialId;
use crate::policy::CallingWindow;
use crate::store::{CitizenCaps, Quota};

/// Dial quotas: per official (a default and overrides) and per department.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quotas {
    pub default: Quota,
    pub overrides: HashMap<OfficialId, Quota>,
    pub departments: HashMap<String, Quota>,
}

impl Quotas {
    /// Only the default per-official quota.
    pub fn uniform(default: Quota) -> Quotas {
        Quotas {
            default,
            overrides: HashMap::new(),
            departments: HashMap::new(),
        }
    }

    pub fn for_department(&self, department: &str) -> Option<Quota> {
        self.departments.get(department).copied()
    }

    pub fn for_official(&self, official: &OfficialId) -> Quota {
        self.overrides
            .get(official)
            .copied()
            .unwrap_or(self.default)
    }
}

/// Everything the dispatch and reconcile loops need.
#[derive(Clone, Debug)]
pub struct DialerConfig {
    /// This instance's consumer name in the ready streams' group.
    pub consumer: String,
    /// Ready entries read per shard per round.
    pub batch_size: usize,
    /// Sleep between rounds when there was nothing to do.
    pub poll_interval: Duration,
    /// Time an authorised dial may take before it is reconciled.
    pub originate_lease: Duration,
    /// The provider's request timeout. An originate not sent within
    /// `originate_lease - originate_timeout` of its authorisation is not sent
    /// at all (the instance was frozen or starved; the reconciler may already
    /// have requeued the attempt): the dial is given back instead.
    pub originate_timeout: Duration,
    /// Time a call may last before it is reconciled with the provider.
    pub max_call: Duration,
    /// Entries another dialer left pending this long are taken over.
    pub reclaim_after: Duration,
    /// How long the phone rings.
    pub ring_timeout: Duration,
    /// When citizens may be called: the settings' window, for campaigns
    /// that set none of their own (`calling_window` in the document).
    pub hours: CallingWindow,
    /// Calls per citizen in any 24 hours and any 7 days, across campaigns.
    pub citizen_caps: CitizenCaps,
    /// Calls in progress at once across the fleet.
    pub max_live_calls: Option<u32>,
    pub retry: RetryPolicy,
    pub quotas: Quotas,
    /// Originate requests in flight at once from this instance.
    pub max_concurrent_originates: usize,
    /// The provider's calls-per-second cap, enforced in-process.
    pub provider_cps: Option<u32>,
    /// Wait before retrying an originate the provider throttled or failed.
    pub provider_backoff: Duration,
    /// Give up reconciling (outcome `unknown`) after this long.
    pub reconcile_give_up: Duration,
    /// The numbers that may be dialled at all (`policy.number_plan`),
    /// checked at intake and right before every dial.
    pub number_plan: crate::domain::NumberPlan,
}
