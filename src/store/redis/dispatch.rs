//! The dialer's side: the delayed and in-flight sets (the ready entries'
//! read is `ready.rs`), authorisation under the per-official GCRA, and citizen checks.

use std::time::Duration;

use super::connection::RedisStore;
use super::parse::{JobFields, int_at, unexpected, verdict};
use crate::domain::{JobId, PhoneNumber};
use crate::store::gcra::Gcra;
use crate::store::keys::ParkList;
use crate::store::{
    Authorize, DialLimits, Job, JobRef, Limit, Promoted, ReadyEntry, ShardId, StoreError,
    Transition,
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
    /// An entry nothing could ever decide: acknowledged and deleted.
    pub(super) async fn drop_ready_entry(
        &self,
        shard: ShardId,
        urgent: bool,
        entry_id: &str,
    ) -> Result<()> {
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

    /// Two steps, so that every key the script touches is declared (Redis
    /// Cluster): read the due members of the delayed set and the schedule
    /// (one round trip), then promote them in `promote_due.lua`, which checks
    /// each again. A due park list (`park_lists.rs`) costs one more round
    /// trip between them, reading its head: at most `max` delayed jobs,
    /// listed or not, are named in a pass. Nothing due: only the first step.
    pub(super) async fn promote_impl(&self, shard: ShardId, max: usize) -> Result<Promoted> {
        let delayed = self.keys.delayed(shard);
        let sched = self.keys.schedule(shard);
        let (time, waiting, officials, ready, urgent) = self.shard_heads(shard, max).await?;
        let now_ms = time.0 * 1000 + time.1 / 1000;
        let due = |members: &[(String, f64)]| -> Vec<String> {
            members
                .iter()
                .filter(|(_, score)| *score <= now_ms as f64)
                .take(max)
                .map(|(m, _)| m.clone())
                .collect()
        };
        let (mut due_jobs, mut due_lists) = (Vec::new(), Vec::new());
        for member in due(&waiting) {
            match ParkList::parse(&member) {
                Some(list) => due_lists.push(list),
                None => due_jobs.push(member),
            }
        }
        let due_officials = due(&officials);
        let lists = self
            .due_list_heads(shard, due_lists, max.saturating_sub(due_jobs.len()))
            .await?;
        if due_jobs.is_empty() && lists.is_empty() && due_officials.is_empty() {
            let next_due_ms = waiting
                .first()
                .into_iter()
                .chain(officials.first())
                .map(|(_, score)| *score as i64)
                .min();
            return Ok(Promoted {
                promoted: 0,
                next_due_ms,
                ready: ready + urgent > 0,
                now_ms,
            });
        }
        let mut invocation = self.scripts.promote_due.key(&delayed);
        invocation
            .key(self.keys.ready(shard))
            .key(self.keys.ready_urgent(shard))
            .key(&sched);
        for id in &due_jobs {
            // A member that is not a job id is left for the script to drop
            // (named under a key that holds nothing).
            let job = JobId::parse(id);
            invocation.key(self.keys.job_by_name(shard, id));
            match job {
                Ok(job) => invocation.key(self.keys.counts(shard, &job.campaign)),
                Err(_) => invocation.key(format!("{}?", self.keys.counts_prefix(shard))),
            };
        }
        for head in &lists {
            invocation.key(self.keys.park_list(shard, &head.list));
            for id in &head.ids {
                invocation.key(self.keys.job_by_name(shard, id));
            }
        }
        for official in &due_officials {
            invocation.key(self.keys.held_by_name(shard, official));
        }
        invocation
            .arg(due_jobs.len())
            .arg(millis(PROMOTION_LEASE))
            .arg(lists.len());
        for id in &due_jobs {
            invocation.arg(id);
        }
        for head in &lists {
            invocation.arg(head.list.member()).arg(head.ids.len());
            for id in &head.ids {
                invocation.arg(id);
            }
        }
        for official in &due_officials {
            invocation.arg(official);
        }
        let (promoted, next_due, ready, now_ms): (usize, String, u64, i64) =
            invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(Promoted {
            promoted,
            next_due_ms: next_due.parse().ok(),
            ready: ready > 0,
            now_ms,
        })
    }

    /// `authorize`, also returning the Redis time (microseconds) at which the
    /// script evaluated the limits, so tests can replay the limiter's decisions.
    /// One script call on a single node; on a Redis Cluster one per slot
    /// (`authorize_slots.rs`).
    pub async fn authorize_traced(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, i64)> {
        let (verdict, at, _) = self.authorize_looking(entry, limits, lease).await?;
        Ok((verdict, at))
    }

    /// `authorize_traced`, and what the decision left the entry's shard
    /// holding, as a promotion reports it (nothing promoted): on a single
    /// node, where the one script reads it after deciding; `None` on a
    /// Redis Cluster.
    pub(super) async fn authorize_looking(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, i64, Option<Promoted>)> {
        let (citizen, department) = self.entry_subjects(entry).await?;
        let dial = DialArgs::new(entry, limits, lease, citizen, department);
        let (mut reply, reported) = if self.conn.is_cluster() {
            self.authorize_by_slot(entry, &dial).await?
        } else {
            (self.authorize_in_one_step(entry, &dial).await?, true)
        };
        // The shard's report (`shard_reported` in `lua/authorize/shard.lua`),
        // after the verdict.
        let looked = if reported {
            if reply.len() < 4 {
                return Err(unexpected("authorize", &reply));
            }
            let shard: Vec<String> = reply.drain(1..4).collect();
            Some(Promoted {
                promoted: 0,
                next_due_ms: shard[0].parse().ok(),
                ready: int_at("authorize", &shard, 1)? > 0,
                now_ms: int_at("authorize", &shard, 2)?,
            })
        } else {
            None
        };
        let (verdict, at) = self.authorize_verdict(entry, &reply).await?;
        Ok((verdict, at, looked))
    }

    async fn authorize_in_one_step(
        &self,
        entry: &ReadyEntry,
        dial: &DialArgs,
    ) -> Result<Vec<String>> {
        let shard = entry.shard;
        let mut invocation = self
            .scripts
            .authorize
            .key(self.keys.ready_of(shard, entry.urgent));
        invocation
            .key(self.keys.job(shard, &entry.job))
            .key(self.keys.counts(shard, &entry.job.campaign))
            .key(self.keys.gcra(shard, &entry.official))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.campaign_states(shard))
            .key(self.keys.parked(shard, &entry.job.campaign))
            .key(self.keys.outbox(shard))
            .key(self.keys.opt_out(&dial.citizen))
            .key(self.keys.dnc(&dial.citizen))
            .key(self.keys.citizen_calls(&dial.citizen))
            .key(self.keys.department_gcra(&dial.department))
            .key(self.keys.provider_rate())
            .key(self.keys.held(shard, &entry.official))
            .key(self.keys.schedule(shard))
            .key(self.keys.ready_of(shard, !entry.urgent));
        if !dial.live_cap.is_empty() {
            for s in 0..self.shards {
                invocation.key(self.keys.inflight(s));
            }
        }
        invocation
            .arg(&entry.entry_id)
            .arg(dial.official.0)
            .arg(dial.official.1)
            .arg(dial.lease_ms)
            .arg(entry.job.to_string())
            .arg(entry.job.campaign.as_str())
            .arg(&dial.department_quota.0)
            .arg(&dial.department_quota.1)
            .arg(dial.per_day)
            .arg(dial.per_week)
            .arg(&dial.live_cap)
            .arg(dial.live_recheck_ms)
            .arg(&dial.provider.0)
            .arg(&dial.provider.1)
            .arg(&dial.held_member)
            .arg(if entry.urgent { "1" } else { "" })
            .arg(entry.official.as_str())
            .arg(&dial.citizen);
        Ok(invocation.invoke_async(&mut self.conn.clone()).await?)
    }

    /// The decision an `authorize` reply states (`lua/authorize.lua`).
    async fn authorize_verdict(
        &self,
        entry: &ReadyEntry,
        reply: &[String],
    ) -> Result<(Authorize, i64)> {
        let at = |i| int_at("authorize", reply, i);
        match verdict("authorize", reply)?.0 {
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
                    _ => return Err(unexpected("authorize", reply)),
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
                let key = self.keys.job(entry.shard, &entry.job);
                let job = self
                    .job_from(
                        JobFields::from_flat(&key, &reply[3..]),
                        &entry.job,
                        entry.shard,
                    )
                    .await?;
                Ok((
                    Authorize::Granted {
                        job: Box::new(job),
                        now_ms,
                    },
                    now_us,
                ))
            }
            _ => Err(unexpected("authorize", reply)),
        }
    }

    /// The citizen tag and department an entry's keys are named by: as read
    /// with the entry from the compact job (the tag of its phone, its
    /// department), or from the spec of a job that keeps its whole spec (an
    /// inbound call's).
    async fn entry_subjects(&self, entry: &ReadyEntry) -> Result<(String, String)> {
        let key = self.keys.job(entry.shard, &entry.job);
        match (&entry.citizen, &entry.department) {
            (Some(citizen), Some(department)) => {
                return Ok((citizen.clone(), department.clone()));
            }
            // A compact job holding its number, but no department: its
            // campaign's counts hash lost the one its jobs keep. Deciding
            // it without its department's quota would overspend it.
            (Some(_), None) => {
                return Err(super::parse::corrupt(
                    &key,
                    "no department: neither `dept` nor its counts hash's `#d`".into(),
                ));
            }
            _ => {}
        }
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
            .key(self.keys.held(shard, &entry.official))
            .key(self.keys.schedule(shard))
            .arg(&entry.entry_id)
            .arg(until_ms)
            .arg(reason)
            .arg(entry.job.to_string())
            .arg(entry.official.as_str())
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

    pub(super) async fn live_attempts_impl(&self, jobs: &[JobRef]) -> Result<Vec<Option<u32>>> {
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(LIVE_ATTEMPTS_BATCH) {
            let mut pipe = redis::pipe();
            for job in chunk {
                pipe.cmd("HMGET")
                    .arg(self.keys.job(job.shard, &job.id))
                    .arg("state")
                    .arg("attempt");
            }
            let replies: Vec<(Option<String>, Option<u32>)> =
                pipe.query_async(&mut self.conn.clone()).await?;
            out.extend(replies.into_iter().map(|(state, attempt)| {
                matches!(state.as_deref(), Some("dialing" | "in_call"))
                    .then_some(attempt)
                    .flatten()
            }));
        }
        Ok(out)
    }

    pub(super) async fn due_in_flight_impl(
        &self,
        shard: ShardId,
        max: usize,
    ) -> Result<Vec<(JobRef, u32)>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys.inflight(shard);
        // Two steps, so that every key the script touches is declared
        // (Redis Cluster): the due members, then the script checks each.
        let ((secs, micros), earliest): ((i64, i64), Vec<(String, f64)>) = redis::pipe()
            .cmd("TIME")
            .cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(max.max(1) - 1)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        let now_ms = (secs * 1000 + micros / 1000) as f64;
        let due: Vec<&String> = earliest
            .iter()
            .filter(|(_, deadline)| *deadline <= now_ms)
            .map(|(id, _)| id)
            .collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.scripts.due_in_flight.key(&key);
        for id in due {
            invocation.key(self.keys.job_by_name(shard, id)).arg(id);
        }
        let flat: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
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

/// Jobs read per pipeline by `live_attempts`.
const LIVE_ATTEMPTS_BATCH: usize = 500;

/// A held official whose head was promoted (or whose first contact was
/// made ready at ingest, `enqueue.lua`) stays scheduled this long, so the
/// official has one job on the ready streams at a time; deciding the job
/// reschedules it at once. Longer than a decision takes, shorter than the
/// time a crashed decider's entry waits to be reclaimed. The scripts that
/// take no argument for it hold the same (`PROMOTION_LEASE_MS`,
/// `lua/prelude.lua`).
const PROMOTION_LEASE: Duration = Duration::from_secs(30);

/// A dial decision's arguments, as the scripts take them (integers as
/// decimal text, `''` for a limit that is not set).
pub(super) struct DialArgs {
    /// The citizen tag and the department the entry names.
    pub citizen: String,
    pub department: String,
    /// The official's GCRA: emission and slack (us).
    pub official: (i64, i64),
    pub department_quota: (String, String),
    pub provider: (String, String),
    pub per_day: u32,
    pub per_week: u32,
    pub live_cap: String,
    pub live_recheck_ms: i64,
    pub lease_ms: i64,
    /// The job's member of its official's held queue.
    pub held_member: String,
}

impl DialArgs {
    fn new(
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
        citizen: String,
        department: String,
    ) -> Self {
        let official = Gcra::new(limits.official);
        let optional = |quota: Option<crate::store::Quota>| match quota.map(Gcra::new) {
            Some(g) => (g.emission_us.to_string(), g.slack_us.to_string()),
            None => (String::new(), String::new()),
        };
        Self {
            held_member: held_member(entry),
            citizen,
            department,
            official: (official.emission_us, official.slack_us),
            department_quota: optional(limits.department),
            provider: optional(limits.provider),
            per_day: limits.citizen.per_day,
            per_week: limits.citizen.per_week,
            live_cap: limits
                .max_live_calls
                .map(|n| n.to_string())
                .unwrap_or_default(),
            live_recheck_ms: millis(limits.live_recheck),
            lease_ms: millis(lease),
        }
    }
}

/// A job's member of its official's held queue: its id, and `\t1` after it
/// for an urgent campaign's job, so promoting it reads no job hash
/// (`promote_due.lua`) and puts it back on the right stream.
fn held_member(entry: &ReadyEntry) -> String {
    if entry.urgent {
        format!("{}\t1", entry.job)
    } else {
        entry.job.to_string()
    }
}
