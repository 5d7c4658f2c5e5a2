//! Contacts per state, kept in step with every state change: per (shard,
//! campaign), and per (shard, campaign, official) — the in-memory
//! counterparts of `{sNN}:counts:{campaign}` and its `:officials` hash,
//! which `move_count` in `lua/prelude.lua` maintains in the same scripts.
//!
//! A job counts under its contact's official (for an inbound call, the
//! programme desk), which never changes after the job is created. Zero
//! counts are removed, so the maps list only occupied states (Redis keeps
//! zero fields; `campaign status` lists neither).

use std::collections::{BTreeMap, HashMap};

use crate::domain::{CampaignId, JobState, OfficialId};
use crate::store::{Job, ShardId};

type PerState = BTreeMap<&'static str, u64>;

/// Contacts per state, keyed by `JobState::as_str`.
#[derive(Debug, Default)]
pub(super) struct Counts {
    campaigns: HashMap<(ShardId, CampaignId), PerState>,
    officials: HashMap<(ShardId, CampaignId), BTreeMap<OfficialId, PerState>>,
}

/// A campaign's counts summed over shards: by state, and by official and state.
pub(super) type CampaignCounts = (
    BTreeMap<String, u64>,
    BTreeMap<OfficialId, BTreeMap<String, u64>>,
);

impl Counts {
    /// Adds or removes one contact in `state` for the job's campaign and official.
    fn add(&mut self, job: &Job, state: JobState, up: bool) {
        let key = (job.shard, job.spec.campaign_id.clone());
        let official = &job.spec.contact.official_id;
        bump(self.campaigns.entry(key.clone()).or_default(), state, up);
        let officials = self.officials.entry(key).or_default();
        if up {
            bump(officials.entry(official.clone()).or_default(), state, true);
        } else if let Some(per_state) = officials.get_mut(official) {
            bump(per_state, state, false);
            if per_state.is_empty() {
                officials.remove(official);
            }
        }
    }

    /// Campaign `id`'s counts, summed over every shard.
    pub fn of_campaign(&self, id: &CampaignId) -> CampaignCounts {
        let mut states: BTreeMap<String, u64> = BTreeMap::new();
        for ((_, campaign), per_state) in &self.campaigns {
            if campaign == id {
                add_into(&mut states, per_state);
            }
        }
        let mut officials: BTreeMap<OfficialId, BTreeMap<String, u64>> = BTreeMap::new();
        for ((_, campaign), per_official) in &self.officials {
            if campaign == id {
                for (official, per_state) in per_official {
                    add_into(officials.entry(official.clone()).or_default(), per_state);
                }
            }
        }
        (states, officials)
    }
}

fn bump(per_state: &mut PerState, state: JobState, up: bool) {
    if up {
        *per_state.entry(state.as_str()).or_default() += 1;
    } else if let Some(n) = per_state.get_mut(state.as_str()) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per_state.remove(state.as_str());
        }
    }
}

fn add_into(total: &mut BTreeMap<String, u64>, per_state: &PerState) {
    for (state, n) in per_state {
        *total.entry((*state).to_owned()).or_default() += n;
    }
}

/// Adds a job's contact to its state's counts (a job created in that state).
pub(super) fn count_new(counts: &mut Counts, job: &Job) {
    counts.add(job, job.state, true);
}

/// Moves a job to `to`, keeping its campaign's and official's counts in step.
pub(super) fn set_state(counts: &mut Counts, job: &mut Job, to: JobState, now: super::state::Now) {
    counts.add(job, job.state, false);
    counts.add(job, to, true);
    job.state = to;
    job.updated_at_ms = now.ms;
    if to.is_terminal() {
        // Retention: an ended contact keeps no phone number (as `end_job`
        // in `lua/prelude.lua` drops it from the job hash).
        let spec = std::sync::Arc::make_mut(&mut job.spec);
        spec.contact.phone = crate::domain::PhoneNumber::erased();
        if let Some(call) = &mut spec.official_call {
            call.phone = crate::domain::PhoneNumber::erased();
        }
    }
}
