//! Feedback records: relaying shard outboxes to `sampark:feedback`, and
//! reading that stream.
//!
//! The relay cannot be one atomic step (the outbox and the feedback stream
//! live in different slots): `relay.lua` appends the records to the feedback
//! stream, then the outbox entries are acknowledged and deleted. An
//! acknowledgement lost after the write (a Redis stall, a crash) leaves the
//! entries pending, and they are relayed again once reclaimed. So the script
//! first sets a dedupe marker per record id (`SET NX PX`, in the feedback
//! stream's slot) and appends only records whose marker is new: a second
//! relay of the same record within [`RELAY_DEDUPE_WINDOW`] writes nothing.
//! After the window a record relayed again is a duplicate that consumers
//! drop on `record_id` (README, G1).

use std::time::Duration;

use redis::streams::{StreamAutoClaimReply, StreamId, StreamRangeReply, StreamReadReply};

use super::connection::{RELAY_GROUP, RedisStore};
use super::dispatch::millis;
use super::parse::corrupt;
use crate::domain::{FeedbackRecord, JobId};
use crate::store::{ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Outbox entries pending this long with another relay are taken over: that
/// relay most likely died between its two steps.
const RELAY_RECLAIM_AFTER: Duration = Duration::from_secs(60);

/// How often a relay looks on each shard for entries pending that long with
/// another relay (`XAUTOCLAIM`): not on every pass, since a stuck entry is
/// rare and waits a minute anyway; taken over within 70 s.
const RELAY_CLAIM_EVERY: Duration = Duration::from_secs(10);

/// How long a relayed record's dedupe marker lives. A record is relayed again
/// only when its outbox entry is reclaimed, at the earliest
/// [`RELAY_RECLAIM_AFTER`] later, or when every instance was down meanwhile:
/// a day covers a stall, a crash and an outage left over a night. The cost is
/// one small key per record for a day: about 150 bytes each (measured on
/// Redis 7.0), so about 150 MB at a million records a day.
pub const RELAY_DEDUPE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// How long an ended job is kept after its record was relayed unless the
/// settings say otherwise (`policy.retention_hours`' default).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

impl RedisStore {
    pub(super) async fn relay_feedback_impl(
        &self,
        shard: ShardId,
        max: usize,
        rules: &crate::domain::ScoringRules,
    ) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        let outbox = self.keys.outbox(shard);
        let mut entries = if self.relay_claim_due(shard) {
            self.claim_outbox(&outbox, max).await?
        } else {
            Vec::new()
        };
        if self.relay_unacked_take(shard) {
            entries.extend(self.read_outbox(&outbox, max, "0").await?);
        }
        if entries.len() < max {
            entries.extend(self.read_outbox(&outbox, max - entries.len(), ">").await?);
        }
        if entries.is_empty() {
            return Ok(0);
        }
        let mut relay = self.scripts.relay.key(self.keys.feedback());
        relay
            .key(self.keys.escalations())
            .key(self.keys.escalation_ids())
            .key(self.keys.escalations_open())
            .arg(millis(RELAY_DEDUPE_WINDOW));
        let mut relayed = 0;
        let mut ended = Vec::new();
        for entry in &entries {
            let Some(raw) = entry.get::<String>("record") else {
                tracing::warn!(shard, entry.id = %entry.id, "outbox entry without a record dropped");
                continue;
            };
            // sampark writes every record with its id; an entry written by
            // hand that is not a record is deduped on its outbox entry
            // instead, and escalates nothing.
            let (dedupe_id, escalation) = match serde_json::from_str::<FeedbackRecord>(&raw) {
                Ok(record) => {
                    let escalation = rules.escalation_of(&record);
                    if let Ok(job) = JobId::parse(&record.record_id) {
                        // The citizen tag the concluding script wrote beside
                        // the record; an entry written before it did holds
                        // none, and the job is read for it.
                        ended.push((job, entry.get::<String>("ctag")));
                    }
                    (record.record_id, escalation)
                }
                Err(_) => (format!("outbox/{shard}/{}", entry.id), None),
            };
            let (esc_id, esc_json) = match escalation {
                Some(e) => (
                    e.escalation_id.clone(),
                    serde_json::to_string(&e).map_err(|e| {
                        StoreError::Refused(format!("escalation of {dedupe_id}: {e}"))
                    })?,
                ),
                None => (String::new(), String::new()),
            };
            relay
                .key(self.keys.relayed(&dedupe_id))
                .arg(raw)
                .arg(esc_id)
                .arg(esc_json);
            relayed += 1;
        }
        let mut conn = self.conn.clone();
        if relayed > 0 {
            let (_written, skipped, _escalated): (u64, u64, u64) =
                relay.invoke_async(&mut conn).await?;
            if skipped > 0 {
                tracing::info!(
                    shard,
                    records = skipped,
                    "records already relayed were not written again (an earlier acknowledgement was lost)"
                );
            }
        }
        self.end_numbers(shard, &ended).await?;
        // The records must be on the feedback stream's replicas before their
        // outbox entries go: on a cluster the two are on different
        // primaries, and an acknowledgement that outlived a failover which
        // lost the records would lose them for good. (`WAIT` counts this
        // connection's writes to that node: the script above.)
        if relayed > 0 {
            self.wait_for_replicas(&self.keys.feedback()).await?;
        }
        crate::failpoint::hit(crate::failpoint::points::BEFORE_ACK, &self.relay_consumer).await;
        // Only now that every record is in the feedback stream. The ended
        // jobs' expiry is set in the same step (one slot: the shard's), so
        // a job is never left without one once its entry is acknowledged.
        let mut ack = self.scripts.ack_outbox.key(&outbox);
        for (job, _) in &ended {
            ack.key(self.keys.job(shard, job));
        }
        ack.arg(RELAY_GROUP).arg(millis(self.retention));
        for entry in &entries {
            ack.arg(&entry.id);
        }
        let acked = ack.invoke_async::<u64>(&mut conn).await;
        if acked.is_err() {
            self.relay_unacked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(shard);
        }
        acked?;
        Ok(relayed)
    }

    /// Keeps ended jobs `retention` after their records are relayed
    /// (`policy.retention_hours`); default 7 days.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Marks the numbers the `ended` jobs held in their campaigns as ended
    /// (`end_number.lua`), so a replayed document never calls them again
    /// once the jobs are removed. Jobs without a citizen tag (an inbound
    /// call's) held no number. Idempotent: a relay repeated after a lost
    /// acknowledgement marks nothing new.
    async fn end_numbers(&self, shard: ShardId, ended: &[(JobId, Option<String>)]) -> Result<()> {
        if ended.is_empty() {
            return Ok(());
        }
        let unknown: Vec<&JobId> = ended
            .iter()
            .filter(|(_, tag)| tag.is_none())
            .map(|(job, _)| job)
            .collect();
        let mut read = Vec::new();
        if !unknown.is_empty() {
            let mut tags = redis::pipe();
            for job in &unknown {
                tags.cmd("HGET").arg(self.keys.job(shard, job)).arg("ctag");
            }
            read = tags.query_async(&mut self.conn.clone()).await?;
        }
        let mut read = read.into_iter();
        let tags: Vec<Option<String>> = ended
            .iter()
            .map(|(_, tag)| match tag {
                Some(tag) => Some(tag.clone()),
                None => read.next().flatten(),
            })
            .collect();
        let numbers: Vec<(String, String, &str)> = ended
            .iter()
            .zip(tags)
            .filter_map(|((job, _), tag)| {
                let tag = tag.filter(|t| !t.is_empty())?;
                let (key, field) = self.keys.campaign_number(&job.campaign, &tag);
                Some((key, field, job.contact.as_str()))
            })
            .collect();
        if numbers.is_empty() {
            return Ok(());
        }
        // The buckets are in slots of their own: one script call for them
        // all on a single node (sent alone, so that it loads the script only
        // after a NOSCRIPT reply), one per number in a pipeline on a cluster.
        if !self.conn.is_cluster() {
            let mut call = self.scripts.end_number.prepare_invoke();
            for (key, field, contact) in &numbers {
                call.key(key).arg(field).arg(*contact);
            }
            call.invoke_async::<i64>(&mut self.conn.clone()).await?;
            return Ok(());
        }
        let mut marks = redis::pipe();
        marks
            .cmd("SCRIPT")
            .arg("LOAD")
            .arg(super::scripts::END_NUMBER)
            .ignore();
        for (key, field, contact) in &numbers {
            marks
                .cmd("EVALSHA")
                .arg(self.scripts.end_number.get_hash())
                .arg(1)
                .arg(key)
                .arg(field)
                .arg(*contact)
                .ignore();
        }
        marks.exec_async(&mut self.conn.clone()).await?;
        Ok(())
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

    /// Whether `shard`'s last acknowledgement was lost (and forgets it).
    /// Whether this pass looks for other relays' stuck entries on `shard`
    /// (at most every `RELAY_CLAIM_EVERY`); noted as done if so.
    fn relay_claim_due(&self, shard: ShardId) -> bool {
        let now = std::time::Instant::now();
        let mut claimed = self
            .relay_claimed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if claimed
            .get(&shard)
            .is_some_and(|at| now.duration_since(*at) < RELAY_CLAIM_EVERY)
        {
            return false;
        }
        claimed.insert(shard, now);
        true
    }

    fn relay_unacked_take(&self, shard: ShardId) -> bool {
        self.relay_unacked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&shard)
    }

    /// Entries of the outbox for this relay: new ones (`from` = `>`) or its
    /// own still pending (`0`).
    async fn read_outbox(&self, outbox: &str, count: usize, from: &str) -> Result<Vec<StreamId>> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(RELAY_GROUP)
            .arg(&self.relay_consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS")
            .arg(outbox)
            .arg(from);
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

    pub(super) async fn scan_feedback_impl(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<crate::store::FeedbackEntry>> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.feedback())
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|entry| {
                let record = match entry.get::<String>("record") {
                    Some(raw) => serde_json::from_str(&raw).map_err(|e| e.to_string()),
                    None => Err("the entry has no `record` field".to_owned()),
                };
                (entry.id, record)
            })
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
