//! Campaigns' intake tallies: `intake_tally.lua` counts an intake entry
//! once; reading is one pipeline over the campaign's tally and refusals.

use std::collections::HashMap;

use super::connection::RedisStore;
use super::parse::corrupt;
use crate::domain::CampaignId;
use crate::store::{IntakeStats, IntakeTally, KEPT_REFUSALS, StoreError, StoredRefusal};

type Result<T> = std::result::Result<T, StoreError>;

/// A refusal as `intake_tally.lua` stores it (`at_ms` as a decimal string:
/// Lua's cjson would write a large number in exponent notation).
#[derive(serde::Deserialize)]
struct Stored {
    at_ms: String,
    source: String,
    reason: String,
}

impl RedisStore {
    pub(super) async fn record_intake_impl(
        &self,
        id: &CampaignId,
        entry: &str,
        tally: &IntakeTally,
    ) -> Result<bool> {
        let mut invocation = self.scripts.intake_tally.key(self.keys.intake_tally(id));
        invocation
            .key(self.keys.intake_counted(id))
            .key(self.keys.intake_refusals(id))
            .arg(entry)
            .arg(KEPT_REFUSALS)
            .arg(tally.documents_accepted)
            .arg(tally.documents_refused)
            .arg(tally.contacts_refused);
        let skip = tally.refusals.len().saturating_sub(KEPT_REFUSALS);
        for refusal in &tally.refusals[skip..] {
            invocation.arg(&refusal.source).arg(&refusal.reason);
        }
        let counted: i64 = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(counted == 1)
    }

    pub(super) async fn intake_stats_impl(&self, id: &CampaignId) -> Result<Option<IntakeStats>> {
        let tally_key = self.keys.intake_tally(id);
        let refusals_key = self.keys.intake_refusals(id);
        let (counters, refusals): (HashMap<String, u64>, Vec<String>) = redis::pipe()
            .hgetall(&tally_key)
            .lrange(&refusals_key, 0, -1)
            .query_async(&mut self.conn.clone())
            .await?;
        if counters.is_empty() {
            return Ok(None);
        }
        let count = |field: &str| counters.get(field).copied().unwrap_or(0);
        let last_refusals = refusals
            .iter()
            .map(|text| {
                let stored: Stored = serde_json::from_str(text)
                    .map_err(|e| corrupt(&refusals_key, format!("{e}: {text}")))?;
                let at_ms = stored.at_ms.parse().map_err(|_| {
                    corrupt(
                        &refusals_key,
                        format!("at_ms {:?} is not a number", stored.at_ms),
                    )
                })?;
                Ok(StoredRefusal {
                    at_ms,
                    source: stored.source,
                    reason: stored.reason,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(IntakeStats {
            documents_accepted: count("documents_accepted"),
            documents_refused: count("documents_refused"),
            contacts_refused: count("contacts_refused"),
            last_refusals,
        }))
    }
}
