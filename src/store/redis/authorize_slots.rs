//! The dial decision on a Redis Cluster, where one script may touch one
//! slot only: `lua/authorize.lua`'s checks, from the same fragments
//! (`lua/authorize/`), run as one script per slot in this order.
//!
//! | step | slot | decides | spends |
//! |---|---|---|---|
//! | `job` | the shard `{sNN}` | stale, paused, cancelled, expired, too soon; the official's hold | nothing |
//! | `citizen` | the citizen's | do-not-call, opted out; the day/week caps | the caps' unit, if nothing holds |
//! | `fleet` | `{<prefix>:fleet}` | the department's quota, the live-call cap, the provider's rate | their units, if nothing holds |
//! | `grant` | the shard | checks the shard again, then applies the verdict | the official's unit, with the grant |
//!
//! Checks come first and spend nothing; a step spends only when nothing so
//! far holds the dial, and what was spent is refunded (`refund`, and a
//! `ZREM` of the citizen's call) when a later step refuses, so in the end a
//! refused dial costs nothing and no limit is overspent. A crash between a
//! spend and its refund keeps that one unit until the limit gives it back
//! by itself: a GCRA's after one emission interval, the citizen's when the
//! call leaves the day and week windows, a live call's when the pruning
//! below finds its attempt never started.
//!
//! Owns: the order of the steps, what each passes on, the refunds, and the
//! pruning of the fleet's live-call set. Does not own: the checks (the Lua
//! fragments), or the single-node decision (`dispatch.rs`).

use std::time::Duration;

use redis::{Script, ScriptInvocation};

use super::connection::RedisStore;
use super::dispatch::DialArgs;
use super::parse::unexpected;
use crate::domain::JobId;
use crate::store::{ReadyEntry, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// How long a live call's member may wait for its grant (step 4) before
/// the pruning counts it as never started (its decider crashed between
/// steps). A decision takes a few round trips.
const GRANT_GRACE: Duration = Duration::from_secs(30);

/// What the `grant` step is told to apply.
enum Apply<'a> {
    Grant,
    Held { until_ms: &'a str, limit: &'a str },
    OptedOut { reason: &'a str },
}

impl RedisStore {
    /// The decision, as `authorize.lua`'s reply, and whether it carries the
    /// shard's report (a step on the job's shard gave it; not when the
    /// provider's rate kept the entry in hand).
    pub(super) async fn authorize_by_slot(
        &self,
        entry: &ReadyEntry,
        dial: &DialArgs,
    ) -> Result<(Vec<String>, bool)> {
        let steps = &self.scripts.authorize_slots;
        let checked: Vec<String> = self
            .shard_step(&steps.job, entry, dial)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if checked.first().map(String::as_str) != Some("checked") {
            return Ok((checked, true));
        }
        let [_, until_ms, limit, attempt] = &checked[..] else {
            return Err(unexpected("authorize_slots/job", &checked));
        };
        let call = format!("{}#{attempt}", entry.job);
        let citizen: Vec<String> = steps
            .citizen
            .key(self.keys.opt_out(&dial.citizen))
            .key(self.keys.dnc(&dial.citizen))
            .key(self.keys.citizen_calls(&dial.citizen))
            .arg(dial.per_day)
            .arg(dial.per_week)
            .arg(until_ms)
            .arg(limit)
            .arg(&call)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let (until_ms, limit, citizen_spent) = match citizen.first().map(String::as_str) {
            Some("opted_out") if citizen.len() == 2 => {
                let apply = Apply::OptedOut {
                    reason: &citizen[1],
                };
                return Ok((self.grant_step(entry, dial, attempt, apply).await?, true));
            }
            Some("held") if citizen.len() == 3 => (&citizen[1], &citizen[2], false),
            Some("spent") => (until_ms, limit, true),
            Some("clear") => (until_ms, limit, false),
            _ => return Err(unexpected("authorize_slots/citizen", &citizen)),
        };
        let live = format!("{}|{call}", entry.shard);
        let fleet = self.fleet_step(dial, until_ms, limit, &live).await?;
        let refund_citizen = || async {
            if citizen_spent {
                self.refund_citizen(dial, &call).await
            } else {
                Ok(())
            }
        };
        match fleet.first().map(String::as_str) {
            Some("held") if fleet.len() == 3 => {
                refund_citizen().await?;
                let apply = Apply::Held {
                    until_ms: &fleet[1],
                    limit: &fleet[2],
                };
                Ok((self.grant_step(entry, dial, attempt, apply).await?, true))
            }
            Some("provider_busy") => {
                refund_citizen().await?;
                Ok((fleet, false))
            }
            Some("spent") => {
                crate::failpoint::hit(crate::failpoint::points::BEFORE_GRANT, &self.relay_consumer)
                    .await;
                let reply = self.grant_step(entry, dial, attempt, Apply::Grant).await?;
                if reply.first().map(String::as_str) != Some("granted") {
                    refund_citizen().await?;
                    self.refund_fleet(dial, &live).await?;
                }
                Ok((reply, true))
            }
            _ => Err(unexpected("authorize_slots/fleet", &fleet)),
        }
    }

    /// A step on the job's shard (`authorize_slots/context.lua`'s layout).
    fn shard_step<'s>(
        &self,
        script: &'s Script,
        entry: &ReadyEntry,
        dial: &DialArgs,
    ) -> ScriptInvocation<'s> {
        let shard = entry.shard;
        let mut invocation = script.prepare_invoke();
        invocation
            .key(self.keys.ready_of(shard, entry.urgent))
            .key(self.keys.job(shard, &entry.job))
            .key(self.keys.counts(shard, &entry.job.campaign))
            .key(self.keys.gcra(shard, &entry.official))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.campaign_states(shard))
            .key(self.keys.parked(shard, &entry.job.campaign))
            .key(self.keys.outbox(shard))
            .key(self.keys.held(shard, &entry.official))
            .key(self.keys.schedule(shard))
            .key(self.keys.ready_of(shard, !entry.urgent))
            .arg(&entry.entry_id)
            .arg(dial.official.0)
            .arg(dial.official.1)
            .arg(dial.lease_ms)
            .arg(entry.job.to_string())
            .arg(entry.job.campaign.as_str())
            .arg(&dial.held_member)
            .arg(if entry.urgent { "1" } else { "" })
            .arg(entry.official.as_str())
            .arg(&dial.citizen);
        invocation
    }

    async fn grant_step(
        &self,
        entry: &ReadyEntry,
        dial: &DialArgs,
        attempt: &str,
        apply: Apply<'_>,
    ) -> Result<Vec<String>> {
        let mut invocation = self.shard_step(&self.scripts.authorize_slots.grant, entry, dial);
        match apply {
            Apply::Grant => invocation.arg("grant").arg("").arg("").arg(attempt),
            Apply::Held { until_ms, limit } => {
                invocation.arg("held").arg(until_ms).arg(limit).arg(attempt)
            }
            Apply::OptedOut { reason } => {
                invocation.arg("opted_out").arg(reason).arg("").arg(attempt)
            }
        };
        Ok(invocation.invoke_async(&mut self.conn.clone()).await?)
    }

    /// The fleet's step; held by the live-call cap, once more after
    /// pruning the calls that are over.
    async fn fleet_step(
        &self,
        dial: &DialArgs,
        until_ms: &str,
        limit: &str,
        live: &str,
    ) -> Result<Vec<String>> {
        let run = || async {
            self.scripts
                .authorize_slots
                .fleet
                .key(self.keys.department_gcra(&dial.department))
                .key(self.keys.provider_rate())
                .key(self.keys.live_calls())
                .arg(&dial.department_quota.0)
                .arg(&dial.department_quota.1)
                .arg(&dial.provider.0)
                .arg(&dial.provider.1)
                .arg(&dial.live_cap)
                .arg(dial.live_recheck_ms)
                .arg(until_ms)
                .arg(limit)
                .arg(live)
                .invoke_async::<Vec<String>>(&mut self.conn.clone())
                .await
        };
        let reply = run().await?;
        let by_live_cap = reply.first().map(String::as_str) == Some("held")
            && reply.get(2).map(String::as_str) == Some("live_calls");
        if by_live_cap && self.prune_live_calls().await? > 0 {
            return Ok(run().await?);
        }
        Ok(reply)
    }

    async fn refund_citizen(&self, dial: &DialArgs, call: &str) -> Result<()> {
        redis::cmd("ZREM")
            .arg(self.keys.citizen_calls(&dial.citizen))
            .arg(call)
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn refund_fleet(&self, dial: &DialArgs, live: &str) -> Result<()> {
        let spent = |quota: &(String, String)| quota.0.clone();
        let live = if dial.live_cap.is_empty() { "" } else { live };
        let _: String = self
            .scripts
            .authorize_slots
            .refund
            .key(self.keys.department_gcra(&dial.department))
            .key(self.keys.provider_rate())
            .key(self.keys.live_calls())
            .arg(spent(&dial.department_quota))
            .arg(spent(&dial.provider))
            .arg(live)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// Removes from the fleet's live-call set the calls that are over: whose
    /// job is gone, or no longer in flight with that attempt, or whose
    /// attempt never started within [`GRANT_GRACE`]. How many it removed.
    async fn prune_live_calls(&self) -> Result<usize> {
        let key = self.keys.live_calls();
        let ((secs, micros), members): ((i64, i64), Vec<(String, f64)>) = redis::pipe()
            .cmd("TIME")
            .cmd("ZRANGE")
            .arg(&key)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        let now_ms = secs * 1000 + micros / 1000;
        let calls: Vec<Option<(ShardId, JobId, u32)>> =
            members.iter().map(|(m, _)| live_member(m)).collect();
        let mut pipe = redis::pipe();
        for (shard, job, _) in calls.iter().flatten() {
            pipe.cmd("HMGET")
                .arg(self.keys.job(*shard, job))
                .arg("state")
                .arg("attempt");
        }
        let jobs: Vec<(Option<String>, Option<u32>)> = if pipe.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut self.conn.clone()).await?
        };
        let mut jobs = jobs.into_iter();
        let grace_ms = i64::try_from(GRANT_GRACE.as_millis()).unwrap_or(i64::MAX);
        let mut over = Vec::new();
        for ((member, granted_ms), call) in members.iter().zip(&calls) {
            let ended = match call {
                None => true,
                Some((_, _, attempt)) => {
                    let (state, current) = jobs.next().unwrap_or_default();
                    let current = current.unwrap_or(0);
                    let in_flight = matches!(state.as_deref(), Some("dialing" | "in_call"));
                    if current < *attempt {
                        // Not granted yet: over only if it never will be.
                        (*granted_ms as i64) < now_ms - grace_ms
                    } else {
                        !(in_flight && current == *attempt)
                    }
                }
            };
            if ended {
                over.push(member);
            }
        }
        if !over.is_empty() {
            redis::cmd("ZREM")
                .arg(&key)
                .arg(&over)
                .exec_async(&mut self.conn.clone())
                .await?;
        }
        Ok(over.len())
    }
}

/// A member of the fleet's live-call set, `<shard>|<job id>#<attempt>`.
fn live_member(member: &str) -> Option<(ShardId, JobId, u32)> {
    let (shard, call) = member.split_once('|')?;
    let (job, attempt) = call.rsplit_once('#')?;
    Some((
        shard.parse().ok()?,
        JobId::parse(job).ok()?,
        attempt.parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::live_member;

    #[test]
    fn live_members_name_shard_job_and_attempt() {
        let (shard, job, attempt) = live_member("7|camp/c-1#2").unwrap();
        assert_eq!((shard, job.to_string(), attempt), (7, "camp/c-1".into(), 2));
        assert!(live_member("camp/c-1#2").is_none());
        assert!(live_member("7|camp/c-1").is_none());
        assert!(live_member("x|camp/c-1#2").is_none());
    }
}
