//! Dead letters, campaigns, job creation and job look-ups
//! (`campaign status` is in `status.rs`, reading intake in
//! `intake_read.rs`).

use std::collections::HashMap;

use redis::streams::{StreamId, StreamRangeReply};

use super::connection::RedisStore;
use super::parse::{JobFields, corrupt};
use crate::domain::{CampaignHeader, CampaignId, JobState};
use crate::store::{DeadLetter, Job, JobRef, PutOutcome, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

impl RedisStore {
    pub(super) async fn now_ms_impl(&self) -> Result<i64> {
        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(secs * 1000 + micros / 1000)
    }

    pub(super) async fn dead_letter_impl(&self, letter: &DeadLetter) -> Result<()> {
        let letter = letter.masked();
        redis::cmd("XADD")
            .arg(self.keys.dead_letter())
            .arg("*")
            .arg("source")
            .arg(&letter.source)
            .arg("reason")
            .arg(&letter.reason)
            .arg("payload")
            .arg(&letter.payload)
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn dead_letters_impl(&self, count: usize) -> Result<Vec<DeadLetter>> {
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys.dead_letter())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        let field = |entry: &StreamId, name: &str| entry.get::<String>(name).unwrap_or_default();
        Ok(reply
            .ids
            .iter()
            .rev()
            .map(|entry| DeadLetter {
                source: field(entry, "source"),
                reason: field(entry, "reason"),
                payload: field(entry, "payload"),
            })
            .collect())
    }

    pub(super) async fn put_campaign_impl(&self, header: &CampaignHeader) -> Result<PutOutcome> {
        let key = self.keys.campaign(&header.id);
        let json = serde_json::to_string(header)
            .map_err(|e| StoreError::Refused(format!("campaign header does not serialize: {e}")))?;
        let mut conn = self.conn.clone();
        let (created,): (bool,) = redis::pipe()
            .cmd("HSETNX")
            .arg(&key)
            .arg("header")
            .arg(&json)
            .cmd("SADD")
            .arg(self.keys.campaign_index())
            .arg(header.id.as_str())
            .ignore()
            .query_async(&mut conn)
            .await?;
        if created {
            return Ok(PutOutcome::Created);
        }
        // The header never changes once set, so reading it after HSETNX is
        // as good as reading it atomically.
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg("header")
            .query_async(&mut conn)
            .await?;
        Ok(match stored {
            Some(stored) if stored == json => PutOutcome::Unchanged,
            _ => PutOutcome::Conflict,
        })
    }

    pub(super) async fn campaign_header_impl(
        &self,
        id: &CampaignId,
    ) -> Result<Option<CampaignHeader>> {
        let key = self.keys.campaign(id);
        let header: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg("header")
            .query_async(&mut self.conn.clone())
            .await?;
        header
            .map(|h| serde_json::from_str(&h).map_err(|e| corrupt(&key, e.to_string())))
            .transpose()
    }

    pub(super) async fn load_job_impl(&self, job: &JobRef) -> Result<Option<Job>> {
        let (shard, id) = (job.shard, &job.id);
        let key = self.keys.job(shard, id);
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        let fields = JobFields::from_map(&key, fields);
        if fields.is_empty() {
            return Ok(None);
        }
        let mut loaded = self.job_from(fields, id, shard).await?;
        if loaded.state == JobState::Queued && loaded.reason.is_none() {
            // Ready, or parked at ingest with its window closed (which keeps
            // no `reason`): in one of its campaign's park lists, or parked
            // by an earlier version in the delayed set itself. Only a queued
            // job without a reason costs these reads; calls in progress
            // never do.
            let delayed: Option<f64> = redis::cmd("ZSCORE")
                .arg(self.keys.delayed(shard))
                .arg(id.to_string())
                .query_async(&mut self.conn.clone())
                .await?;
            let parked = delayed.is_some() || self.in_park_list(shard, id).await?;
            loaded.reason = parked_reason(loaded.state, None, parked).map(str::to_owned);
        }
        Ok(Some(loaded))
    }

    pub(super) fn shard_of_official(
        &self,
        official: &crate::domain::OfficialId,
    ) -> crate::store::ShardId {
        crate::store::keys::shard_of(official, self.shards)
    }
}

/// Why a contact parked at ingest because its calling window was closed
/// waits. `enqueue.lua` stores no `reason` for it (the field would take the
/// job's listpack into a larger allocation, docs/architecture.md "The
/// compact job"): a queued job without a reason in a park list
/// (`park_lists.rs`), or in the delayed set (where an earlier version
/// parked it), is such a contact; every other way into the delayed set
/// writes one.
pub(super) const PARKED_OUTSIDE_HOURS: &str = "outside calling hours";

/// The reason of a job in `state` with `stored` reason, given whether it
/// waits in its shard's delayed set or one of its park lists: the stored
/// one, else for a queued job waiting so `PARKED_OUTSIDE_HOURS`.
pub(super) fn parked_reason(state: JobState, stored: Option<&str>, parked: bool) -> Option<&str> {
    match stored {
        Some(reason) => Some(reason),
        None if parked && state == JobState::Queued => Some(PARKED_OUTSIDE_HOURS),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queued_job_in_the_delayed_set_without_a_reason_waits_for_its_window() {
        assert_eq!(
            parked_reason(JobState::Queued, None, true),
            Some(PARKED_OUTSIDE_HOURS)
        );
        assert_eq!(parked_reason(JobState::Queued, None, false), None);
        assert_eq!(
            parked_reason(JobState::Queued, Some("campaign resumed"), true),
            Some("campaign resumed")
        );
        assert_eq!(parked_reason(JobState::RetryWait, None, true), None);
    }
}
