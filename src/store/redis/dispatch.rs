//! The dialer's side: ready entries, the delayed and in-flight sets,
//! authorisation under the per-official GCRA, and citizen checks.

use std::time::Duration;

use super::connection::RedisStore;
use super::parse::{JobFields, int_at, unexpected, verdict};
use crate::domain::{JobId, OfficialId, PhoneNumber};
use crate::store::gcra::Gcra;
use crate::store::{
    Authorize, CitizenCheck, JobRef, Quota, ReadyEntry, ShardId, StoreError, Transition,
};

type Result<T> = std::result::Result<T, StoreError>;

pub(super) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn transition(script: &str, reply: &str) -> Result<Transition> {
    match reply {
        "applied" => Ok(Transition::Applied),
        "stale" => Ok(Transition::Stale),
        other => Err(unexpected(script, &[other.to_owned()])),
    }
}

impl RedisStore {
    pub(super) async fn read_ready_impl(
        &self,
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let script = &self.scripts.read_ready;
        let mut pipe = redis::pipe();
        // Loading first makes EVALSHA inside the pipeline safe after a restart.
        pipe.load_script(script).ignore();
        for shard in 0..self.shards {
            pipe.invoke_script(
                script
                    .key(self.keys.ready(shard))
                    .arg(consumer)
                    .arg(count)
                    .arg(millis(reclaim_after)),
            );
        }
        let per_shard: Vec<Vec<String>> = self
            .with_groups(|| {
                let mut conn = self.conn.clone();
                let pipe = pipe.clone();
                async move { pipe.query_async(&mut conn).await }
            })
            .await?;
        let mut entries = Vec::new();
        for (shard, flat) in (0..self.shards).zip(per_shard) {
            for triple in flat.chunks_exact(3) {
                match (JobId::parse(&triple[1]), OfficialId::parse(&triple[2])) {
                    (Ok(job), Ok(official)) => {
                        entries.push(ReadyEntry {
                            shard,
                            entry_id: triple[0].clone(),
                            job,
                            official,
                        });
                    }
                    // Unreadable ids can never be processed: drop the entry.
                    _ => self.drop_ready_entry(shard, &triple[0]).await?,
                }
            }
        }
        Ok(entries)
    }

    async fn drop_ready_entry(&self, shard: ShardId, entry_id: &str) -> Result<()> {
        tracing::warn!(
            shard,
            entry.id = entry_id,
            "dropping unreadable ready entry"
        );
        let key = self.keys.ready(shard);
        redis::pipe()
            .cmd("XACK")
            .arg(&key)
            .arg(super::connection::READY_GROUP)
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

    pub(super) async fn promote_due_impl(&self, shard: ShardId, max: usize) -> Result<usize> {
        let (job_prefix, counts_prefix) = self.job_and_counts_prefixes(shard);
        let promoted: usize = self
            .scripts
            .promote_due
            .key(self.keys.delayed(shard))
            .key(self.keys.ready(shard))
            .arg(max)
            .arg(job_prefix)
            .arg(counts_prefix)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(promoted)
    }

    /// `authorize`, also returning the Redis time (microseconds) at which the
    /// script evaluated the GCRA, so tests can replay the limiter's decisions.
    pub async fn authorize_traced(
        &self,
        entry: &ReadyEntry,
        quota: Quota,
        lease: Duration,
    ) -> Result<(Authorize, i64)> {
        let gcra = Gcra::new(quota);
        let shard = entry.shard;
        let key = self.keys.job(shard, &entry.job);
        let reply: Vec<String> = self
            .scripts
            .authorize
            .key(self.keys.ready(shard))
            .key(&key)
            .key(self.keys.counts(shard, &entry.job.campaign))
            .key(self.keys.gcra(shard, &entry.official))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.campaign_states(shard))
            .key(self.keys.parked(shard, &entry.job.campaign))
            .key(self.keys.outbox(shard))
            .arg(&entry.entry_id)
            .arg(gcra.emission_us)
            .arg(gcra.slack_us)
            .arg(millis(lease))
            .arg(entry.job.to_string())
            .arg(entry.job.campaign.as_str())
            .invoke_async(&mut self.conn.clone())
            .await?;
        match verdict("authorize", &reply)?.0 {
            "stale" => Ok((Authorize::Stale, int_at("authorize", &reply, 1)?)),
            "parked" => Ok((Authorize::Parked, int_at("authorize", &reply, 1)?)),
            "cancelled" => Ok((Authorize::Cancelled, int_at("authorize", &reply, 1)?)),
            "expired" => Ok((Authorize::Expired, int_at("authorize", &reply, 1)?)),
            "limited" => Ok((
                Authorize::RateLimited {
                    allow_at_ms: int_at("authorize", &reply, 1)?,
                },
                int_at("authorize", &reply, 2)?,
            )),
            "granted" => {
                let now_us = int_at("authorize", &reply, 1)?;
                let now_ms = int_at("authorize", &reply, 2)?;
                let job = JobFields::from_flat(&key, &reply[3..]).into_job(&entry.job, shard)?;
                Ok((
                    Authorize::Granted {
                        job: Box::new(job),
                        now_ms,
                    },
                    now_us,
                ))
            }
            _ => Err(unexpected("authorize", &reply)),
        }
    }

    pub(super) async fn defer_impl(
        &self,
        entry: &ReadyEntry,
        until_ms: i64,
        reason: &str,
    ) -> Result<Transition> {
        let shard = entry.shard;
        let reply: String = self
            .scripts
            .defer
            .key(self.keys.ready(shard))
            .key(self.keys.job(shard, &entry.job))
            .key(self.keys.delayed(shard))
            .arg(&entry.entry_id)
            .arg(until_ms)
            .arg(reason)
            .arg(entry.job.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        transition("defer", &reply)
    }

    pub(super) async fn citizen_check_impl(
        &self,
        phone: &PhoneNumber,
        day: u32,
        cap: u32,
    ) -> Result<CitizenCheck> {
        let reply: String = self
            .scripts
            .citizen_check
            .key(self.keys.opt_out(phone))
            .key(self.keys.citizen_day(phone, day))
            .arg(cap)
            .invoke_async(&mut self.conn.clone())
            .await?;
        match reply.as_str() {
            "allowed" => Ok(CitizenCheck::Allowed),
            "opted_out" => Ok(CitizenCheck::OptedOut),
            "cap_reached" => Ok(CitizenCheck::CapReached),
            _ => Err(unexpected("citizen_check", &[reply])),
        }
    }

    pub(super) async fn provider_slot_impl(&self, quota: Quota) -> Result<Option<Duration>> {
        let gcra = Gcra::new(quota);
        let wait_us: String = self
            .scripts
            .provider_slot
            .key(self.keys.provider_rate())
            .arg(gcra.emission_us)
            .arg(gcra.slack_us)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let wait_us: u64 = wait_us
            .parse()
            .map_err(|_| unexpected("provider_slot", std::slice::from_ref(&wait_us)))?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }

    pub(super) async fn citizen_refund_impl(&self, phone: &PhoneNumber, day: u32) -> Result<()> {
        let _: i64 = self
            .scripts
            .citizen_refund
            .key(self.keys.citizen_day(phone, day))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn record_opt_out_impl(&self, phone: &PhoneNumber) -> Result<()> {
        redis::cmd("SET")
            .arg(self.keys.opt_out(phone))
            .arg("1")
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn due_in_flight_impl(
        &self,
        shard: ShardId,
        max: usize,
    ) -> Result<Vec<(JobRef, u32)>> {
        let (job_prefix, _) = self.job_and_counts_prefixes(shard);
        let key = self.keys.inflight(shard);
        let flat: Vec<String> = self
            .scripts
            .due_in_flight
            .key(&key)
            .arg(max)
            .arg(job_prefix)
            .invoke_async(&mut self.conn.clone())
            .await?;
        flat.chunks_exact(2)
            .map(|pair| {
                let id = JobId::parse(&pair[0]).map_err(|e| {
                    super::parse::corrupt(&key, format!("member {:?}: {e}", pair[0]))
                })?;
                let attempt = pair[1]
                    .parse()
                    .map_err(|e| super::parse::corrupt(&key, format!("attempt of {id}: {e}")))?;
                Ok((JobRef::new(shard, id), attempt))
            })
            .collect()
    }
}
