//! Intake, dead letters, campaigns, job creation and job look-ups
//! (`campaign status` is in `status.rs`).

use std::collections::HashMap;
use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};

use super::connection::{INTAKE_GROUP, RedisStore};
use super::parse::{JobFields, corrupt};
use crate::domain::{CampaignHeader, CampaignId};
use crate::store::{DeadLetter, IntakeEntry, Job, JobRef, PutOutcome, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn intake_entry(entry: &StreamId) -> IntakeEntry {
    IntakeEntry {
        id: entry.id.clone(),
        payload: entry
            .get::<String>("campaign")
            .ok_or_else(|| "entry has no `campaign` field".to_owned()),
    }
}

impl RedisStore {
    pub(super) async fn now_ms_impl(&self) -> Result<i64> {
        let (secs, micros): (i64, i64) = redis::cmd("TIME")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(secs * 1000 + micros / 1000)
    }

    pub(super) async fn submit_impl(&self, document: &str) -> Result<String> {
        let id: String = redis::cmd("XADD")
            .arg(self.keys.intake())
            .arg("*")
            .arg("campaign")
            .arg(document)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(id)
    }

    pub(super) async fn read_intake_impl(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>> {
        let key = self.keys.intake();
        let mut reclaim = redis::cmd("XAUTOCLAIM");
        reclaim
            .arg(&key)
            .arg(INTAKE_GROUP)
            .arg(consumer)
            .arg(millis(reclaim_after))
            .arg("0-0")
            .arg("COUNT")
            .arg(count.max(1));
        let claimed: StreamAutoClaimReply = self
            .with_groups(|| {
                let mut conn = self.conn.clone();
                let cmd = reclaim.clone();
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        if !claimed.claimed.is_empty() {
            return Ok(claimed.claimed.iter().map(intake_entry).collect());
        }
        let mut read = redis::cmd("XREADGROUP");
        read.arg("GROUP")
            .arg(INTAKE_GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(count.max(1));
        // BLOCK 0 would mean "forever": no wait asked, no BLOCK sent.
        if !block.is_zero() {
            read.arg("BLOCK").arg(millis(block).max(1));
        }
        read.arg("STREAMS").arg(&key).arg(">");
        let limit = block + self.response_timeout;
        let reply: Option<StreamReadReply> = self
            .with_groups(|| {
                let mut conn = self.blocking.clone();
                let cmd = read.clone();
                async move {
                    match tokio::time::timeout(limit, cmd.query_async(&mut conn)).await {
                        Ok(result) => result,
                        Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "blocking intake read outlived its BLOCK time",
                        ))),
                    }
                }
            })
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .map(|entry| intake_entry(&entry))
            .collect())
    }

    pub(super) async fn ack_intake_impl(&self, entry_id: &str) -> Result<()> {
        let key = self.keys.intake();
        redis::pipe()
            .cmd("XACK")
            .arg(&key)
            .arg(INTAKE_GROUP)
            .arg(entry_id)
            .ignore()
            .cmd("XDEL")
            .arg(&key)
            .arg(entry_id)
            .ignore()
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
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
        self.job_from(fields, id, shard).await.map(Some)
    }

    pub(super) fn shard_of_official(
        &self,
        official: &crate::domain::OfficialId,
    ) -> crate::store::ShardId {
        crate::store::keys::shard_of(official, self.shards)
    }
}
