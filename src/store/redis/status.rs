//! `campaign status`: a campaign's header, operator state, and its contacts
//! per state and per official and state, summed over every shard's counts
//! hashes (kept by `move_count` in `lua/prelude.lua`) in one pipeline.

use std::collections::{BTreeMap, HashMap};

use super::connection::RedisStore;
use super::parse::corrupt;
use crate::domain::{CampaignHeader, CampaignId, OfficialId};
use crate::store::{CampaignState, CampaignStatus, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;
type Officials = BTreeMap<OfficialId, BTreeMap<String, u64>>;

impl RedisStore {
    pub(super) async fn campaign_status_impl(
        &self,
        id: &CampaignId,
    ) -> Result<Option<CampaignStatus>> {
        let key = self.keys.campaign(id);
        let mut pipe = redis::pipe();
        pipe.hget(&key, "header");
        pipe.hget(&key, "state");
        pipe.hget(&key, "hangup");
        for shard in 0..self.shards {
            pipe.hgetall(self.keys.counts(shard, id));
            pipe.hgetall(self.keys.official_counts(shard, id));
        }
        let mut replies: Vec<redis::Value> = pipe.query_async(&mut self.conn.clone()).await?;
        let per_shard = replies.split_off(3);
        let text = |v: redis::Value| -> Result<Option<String>> {
            redis::from_redis_value(v).map_err(|e| corrupt(&key, e.to_string()))
        };
        let hangup = text(replies.remove(2))?.is_some();
        let state = match text(replies.remove(1))?.as_deref() {
            Some("paused") => CampaignState::Paused,
            Some("cancelled") => CampaignState::Cancelled { hangup },
            _ => CampaignState::Active,
        };
        let Some(header) = text(replies.remove(0))? else {
            return Ok(None);
        };
        let header: CampaignHeader =
            serde_json::from_str(&header).map_err(|e| corrupt(&key, e.to_string()))?;
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut officials = Officials::new();
        for (i, reply) in per_shard.into_iter().enumerate() {
            if i % 2 == 0 {
                let hash: HashMap<String, String> =
                    redis::from_redis_value(reply).map_err(|e| corrupt(&key, e.to_string()))?;
                // The counts hash also interns the shard's office and service
                // texts (`=…`, `#…`; see `Keys::counts`).
                for (state, n) in hash {
                    if state.starts_with(['=', '#']) {
                        continue;
                    }
                    let n: i64 = n
                        .parse()
                        .map_err(|e| corrupt(&key, format!("count {state} = {n:?}: {e}")))?;
                    *counts.entry(state).or_default() += u64::try_from(n).unwrap_or(0);
                }
            } else {
                let hash: HashMap<String, i64> =
                    redis::from_redis_value(reply).map_err(|e| corrupt(&key, e.to_string()))?;
                // INVARIANT: two replies per shard, so i / 2 is a shard.
                let shard = (i / 2) as ShardId;
                add_official_counts(&mut officials, hash, &self.keys.official_counts(shard, id))?;
            }
        }
        // States every job has left are not worth reporting.
        counts.retain(|_, n| *n > 0);
        Ok(Some(CampaignStatus {
            header,
            state,
            counts,
            officials,
        }))
    }
}

/// Adds one shard's `<official>|<state>` → count hash to `officials`.
fn add_official_counts(
    officials: &mut Officials,
    hash: HashMap<String, i64>,
    key: &str,
) -> Result<()> {
    for (field, n) in hash {
        let Some((official, state)) = field.rsplit_once('|') else {
            return Err(corrupt(key, format!("official count field {field:?}")));
        };
        let official = OfficialId::parse(official)
            .map_err(|e| corrupt(key, format!("official count field {field:?}: {e}")))?;
        let n = u64::try_from(n).unwrap_or(0);
        if n > 0 {
            *officials
                .entry(official)
                .or_default()
                .entry(state.to_owned())
                .or_default() += n;
        }
    }
    Ok(())
}
