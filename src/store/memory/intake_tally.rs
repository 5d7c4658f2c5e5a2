//! Campaigns' intake tallies (`store::IntakeTally`), the counterpart of
//! `intake_tally.lua`: counters, the intake entries already counted, and the
//! newest refusals.

use std::collections::{HashMap, HashSet};

use crate::domain::CampaignId;
use crate::store::{IntakeStats, IntakeTally, KEPT_REFUSALS, StoredRefusal};

/// Every campaign's tally.
#[derive(Debug, Default)]
pub(super) struct IntakeTallies {
    by_campaign: HashMap<CampaignId, Tally>,
}

#[derive(Debug, Default)]
struct Tally {
    stats: IntakeStats,
    /// Intake entries already counted, so a replay counts nothing.
    entries: HashSet<String>,
}

impl IntakeTallies {
    /// Adds `tally` for `entry` unless that entry was counted before.
    pub fn record(
        &mut self,
        now_ms: i64,
        id: &CampaignId,
        entry: &str,
        tally: &IntakeTally,
    ) -> bool {
        let campaign = self.by_campaign.entry(id.clone()).or_default();
        if !campaign.entries.insert(entry.to_owned()) {
            return false;
        }
        let stats = &mut campaign.stats;
        stats.documents_accepted += tally.documents_accepted;
        stats.documents_refused += tally.documents_refused;
        stats.contacts_refused += tally.contacts_refused;
        // Newest first, as the Redis list (LPUSH oldest to newest).
        let skip = tally.refusals.len().saturating_sub(KEPT_REFUSALS);
        for refusal in &tally.refusals[skip..] {
            stats.last_refusals.insert(
                0,
                StoredRefusal {
                    at_ms: now_ms,
                    source: refusal.source.clone(),
                    reason: refusal.reason.clone(),
                },
            );
        }
        stats.last_refusals.truncate(KEPT_REFUSALS);
        true
    }

    pub fn stats(&self, id: &CampaignId) -> Option<IntakeStats> {
        self.by_campaign.get(id).map(|t| t.stats.clone())
    }
}
