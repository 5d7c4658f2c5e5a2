//! The dialer's side: ready entries, the delayed and in-flight sets,
//! authorisation under the per-official GCRA, and citizen checks.

use std::time::Duration;

use super::connection::RedisStore;
use super::parse::{JobFields, int_at, unexpected, verdict};
use crate::domain::{JobId, OfficialId, PhoneNumber};
use crate::store::gcra::Gcra;
use crate::store::{
    Authorize, DialLimits, Job, JobRef, Limit, ReadyEntry, ShardId, StoreError, Transition,
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
                    .key(self.keys.ready_urgent(shard))
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
        let given = |s: &String| (!s.is_empty()).then(|| s.clone());
        for (shard, flat) in (0..self.shards).zip(per_shard) {
            for fields in flat.chunks_exact(6) {
                let urgent = fields[5] == "1";
                match (JobId::parse(&fields[1]), OfficialId::parse(&fields[2])) {
                    (Ok(job), Ok(official)) => {
                        entries.push(ReadyEntry {
                            shard,
                            entry_id: fields[0].clone(),
                            job,
                            official,
                            citizen: given(&fields[3]),
                            department: given(&fields[4]),
                            urgent,
                        });
                    }
                    // Unreadable ids can never be processed: drop the entry.
                    _ => self.drop_ready_entry(shard, urgent, &fields[0]).await?,
                }
            }
        }
        Ok(entries)
    }

    async fn drop_ready_entry(&self, shard: ShardId, urgent: bool, entry_id: &str) -> Result<()> {
        tracing::warn!(
            shard,
            entry.id = entry_id,
            "dropping unreadable ready entry"
        );
        let key = self.keys.ready_of(shard, urgent);
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
            .key(self.keys.ready_urgent(shard))
            .arg(max)
            .arg(job_prefix)
            .arg(counts_prefix)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(promoted)
    }

    /// `authorize`, also returning the Redis time (microseconds) at which the
    /// script evaluated the limits, so tests can replay the limiter's decisions.
    pub async fn authorize_traced(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, i64)> {
        let (citizen, department) = self.entry_subjects(entry).await?;
        let shard = entry.shard;
        let key = self.keys.job(shard, &entry.job);
        let official = Gcra::new(limits.official);
        let optional = |quota: Option<crate::store::Quota>| match quota.map(Gcra::new) {
            Some(g) => (g.emission_us.to_string(), g.slack_us.to_string()),
            None => (String::new(), String::new()),
        };
        let (dept_emission, dept_slack) = optional(limits.department);
        let (cps_emission, cps_slack) = optional(limits.provider);
        let mut invocation = self
            .scripts
            .authorize
            .key(self.keys.ready_of(shard, entry.urgent));
        invocation
            .key(&key)
            .key(self.keys.counts(shard, &entry.job.campaign))
            .key(self.keys.gcra(shard, &entry.official))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.campaign_states(shard))
            .key(self.keys.parked(shard, &entry.job.campaign))
            .key(self.keys.outbox(shard))
            .key(self.keys.opt_out(&citizen))
            .key(self.keys.dnc(&citizen))
            .key(self.keys.citizen_calls(&citizen))
            .key(self.keys.department_gcra(&department))
            .key(self.keys.provider_rate());
        if limits.max_live_calls.is_some() {
            for s in 0..self.shards {
                invocation.key(self.keys.inflight(s));
            }
        }
        invocation
            .arg(&entry.entry_id)
            .arg(official.emission_us)
            .arg(official.slack_us)
            .arg(millis(lease))
            .arg(entry.job.to_string())
            .arg(entry.job.campaign.as_str())
            .arg(dept_emission)
            .arg(dept_slack)
            .arg(limits.citizen.per_day)
            .arg(limits.citizen.per_week)
            .arg(
                limits
                    .max_live_calls
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            )
            .arg(millis(limits.live_recheck))
            .arg(cps_emission)
            .arg(cps_slack);
        let reply: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        let at = |i| int_at("authorize", &reply, i);
        match verdict("authorize", &reply)?.0 {
            "stale" => Ok((Authorize::Stale, at(1)?)),
            "parked" => Ok((Authorize::Parked, at(1)?)),
            "cancelled" => Ok((Authorize::Cancelled, at(1)?)),
            "expired" => Ok((Authorize::Expired, at(1)?)),
            "opted_out" => Ok((Authorize::OptedOut, at(1)?)),
            "deferred" => {
                let limit = match reply.get(3).map(String::as_str) {
                    Some("official") => Limit::Official,
                    Some("department") => Limit::Department,
                    Some("citizen") => Limit::Citizen,
                    Some("live_calls") => Limit::LiveCalls,
                    Some("not_before") => Limit::NotBefore,
                    _ => return Err(unexpected("authorize", &reply)),
                };
                Ok((
                    Authorize::Deferred {
                        until_ms: at(1)?,
                        limit,
                    },
                    at(2)?,
                ))
            }
            "provider_busy" => {
                let wait_us = u64::try_from(at(1)?).unwrap_or(0).max(1);
                Ok((
                    Authorize::ProviderBusy {
                        wait: Duration::from_micros(wait_us),
                    },
                    at(2)?,
                ))
            }
            "granted" => {
                let now_us = at(1)?;
                let now_ms = at(2)?;
                let job = self
                    .job_from(JobFields::from_flat(&key, &reply[3..]), &entry.job, shard)
                    .await?;
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

    /// The citizen tag and department an entry's keys are named by: from the
    /// entry, or (entries written before they carried them) from the job.
    async fn entry_subjects(&self, entry: &ReadyEntry) -> Result<(String, String)> {
        if let (Some(citizen), Some(department)) = (&entry.citizen, &entry.department) {
            return Ok((citizen.clone(), department.clone()));
        }
        let key = self.keys.job(entry.shard, &entry.job);
        let spec: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg("spec")
            .query_async(&mut self.conn.clone())
            .await?;
        // A job without a spec is gone: the script answers `stale` whatever
        // keys it is given.
        let Some(spec) = spec else {
            return Ok((String::new(), String::new()));
        };
        let spec: crate::domain::JobSpec = serde_json::from_str(&spec)
            .map_err(|e| super::parse::corrupt(&key, format!("spec: {e}")))?;
        Ok((self.keys.citizen_tag(&spec.contact.phone), spec.department))
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
            .key(self.keys.ready_of(shard, entry.urgent))
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

    pub(super) async fn citizen_refund_impl(&self, job: &Job) -> Result<()> {
        let tag = self.keys.citizen_tag(&job.spec.contact.phone);
        redis::cmd("ZREM")
            .arg(self.keys.citizen_calls(&tag))
            .arg(format!("{}#{}", job.id, job.attempt))
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn record_opt_out_impl(&self, phone: &PhoneNumber) -> Result<()> {
        redis::cmd("SET")
            .arg(self.keys.opt_out(&self.keys.citizen_tag(phone)))
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
