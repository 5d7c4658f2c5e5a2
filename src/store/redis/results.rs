//! Feedback records: relaying shard outboxes to `sampark:feedback`, and
//! reading that stream.
//!
//! The relay is not atomic (the outbox and the feedback stream live in
//! different slots): a record is added to the feedback stream, then its
//! outbox entry is acknowledged and deleted. A crash in between relays the
//! record again; consumers dedupe on `record_id` (G3).

use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};

use super::connection::{RELAY_GROUP, RedisStore};
use super::parse::corrupt;
use crate::domain::FeedbackRecord;
use crate::store::{ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Outbox entries pending this long with another relay are taken over: that
/// relay most likely died between its two steps.
const RELAY_RECLAIM_AFTER: Duration = Duration::from_secs(60);

impl RedisStore {
    pub(super) async fn relay_feedback_impl(&self, shard: ShardId, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        let outbox = self.keys.outbox(shard);
        let mut entries = self.claim_outbox(&outbox, max).await?;
        if entries.len() < max {
            entries.extend(self.read_outbox(&outbox, max - entries.len()).await?);
        }
        if entries.is_empty() {
            return Ok(0);
        }
        let feedback = self.keys.feedback();
        let mut add = redis::pipe();
        let mut relayed = 0;
        for entry in &entries {
            if let Some(record) = entry.get::<String>("record") {
                add.cmd("XADD")
                    .arg(&feedback)
                    .arg("*")
                    .arg("record")
                    .arg(record)
                    .ignore();
                relayed += 1;
            } else {
                tracing::warn!(shard, entry.id = %entry.id, "outbox entry without a record dropped");
            }
        }
        let mut conn = self.conn.clone();
        add.exec_async(&mut conn).await?;
        // Only now that every record is in the feedback stream.
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        redis::pipe()
            .cmd("XACK")
            .arg(&outbox)
            .arg(RELAY_GROUP)
            .arg(&ids)
            .ignore()
            .cmd("XDEL")
            .arg(&outbox)
            .arg(&ids)
            .ignore()
            .exec_async(&mut conn)
            .await?;
        Ok(relayed)
    }

    async fn claim_outbox(&self, outbox: &str, max: usize) -> Result<Vec<StreamId>> {
        let mut cmd = redis::cmd("XAUTOCLAIM");
        cmd.arg(outbox)
            .arg(RELAY_GROUP)
            .arg(&self.relay_consumer)
            .arg(u64::try_from(RELAY_RECLAIM_AFTER.as_millis()).unwrap_or(u64::MAX))
            .arg("0-0")
            .arg("COUNT")
            .arg(max);
        let reply: StreamAutoClaimReply = self
            .with_groups(|| {
                let mut conn = self.conn.clone();
                let cmd = cmd.clone();
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(reply.claimed)
    }

    async fn read_outbox(&self, outbox: &str, count: usize) -> Result<Vec<StreamId>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(RELAY_GROUP)
            .arg(&self.relay_consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(outbox)
            .arg(">");
        let reply: Option<StreamReadReply> = self
            .with_groups(|| {
                let mut conn = self.conn.clone();
                let cmd = cmd.clone();
                async move { cmd.query_async(&mut conn).await }
            })
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    pub(super) async fn read_feedback_impl(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<(String, FeedbackRecord)>> {
        let key = self.keys.feedback();
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&key)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        reply
            .ids
            .into_iter()
            .map(|entry| {
                let raw: String = entry
                    .get("record")
                    .ok_or_else(|| corrupt(&key, format!("entry {} has no record", entry.id)))?;
                let record = serde_json::from_str(&raw)
                    .map_err(|e| corrupt(&key, format!("entry {}: {e}", entry.id)))?;
                Ok((entry.id, record))
            })
            .collect()
    }
}
