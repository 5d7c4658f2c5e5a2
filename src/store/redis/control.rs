//! Operators' campaign commands: pause, resume, cancel, applied shard by
//! shard in bounded batches (`campaign_control.lua`), then recorded in the
//! campaign's hash so `campaign status` and `campaign list` show them.

use super::compact::packed_phone;
use super::connection::RedisStore;
use super::jobs::parked_reason;
use crate::domain::{CampaignId, JobState};
use crate::store::keys::ParkList;
use crate::store::{
    CampaignAction, CampaignState, JobRef, Limit, ShardId, StoreError, Waiting, wait_reason,
};

type Result<T> = std::result::Result<T, StoreError>;

/// Jobs handled per script call: bounds how long one call holds Redis.
const BATCH: usize = 500;

/// Where the jobs a `campaign_control.lua` call names were found.
#[derive(Clone, Copy)]
enum Found<'a> {
    /// The campaign's parked set (paused).
    Parked,
    /// The shard's delayed set, by their own members.
    Delayed,
    /// An official's held queue (the official).
    Held(&'a str),
    /// A park list, at its head.
    Listed(&'a ParkList),
}

impl Found<'_> {
    fn name(&self) -> &'static str {
        match self {
            Found::Parked => "parked",
            Found::Delayed => "delayed",
            Found::Held(_) => "held",
            Found::Listed(_) => "list",
        }
    }
}

impl RedisStore {
    pub(super) async fn campaigns_impl(&self) -> Result<Vec<CampaignId>> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.campaign_index())
            .query_async(&mut self.conn.clone())
            .await?;
        let mut ids: Vec<CampaignId> = ids
            .iter()
            .filter_map(|id| CampaignId::parse(id).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub(super) async fn control_campaign_impl(
        &self,
        id: &CampaignId,
        action: CampaignAction,
    ) -> Result<Option<CampaignState>> {
        let Some(status) = self.campaign_status_impl(id).await? else {
            return Ok(None);
        };
        // A cancelled campaign stays cancelled (a later cancel may still
        // add the hang-up).
        let state = match (status.state, action) {
            (CampaignState::Cancelled { hangup }, CampaignAction::Cancel { hangup: more }) => {
                CampaignState::Cancelled {
                    hangup: hangup || more,
                }
            }
            (CampaignState::Cancelled { .. }, _) => return Ok(Some(status.state)),
            (_, CampaignAction::Pause) => CampaignState::Paused,
            (_, CampaignAction::Resume) => CampaignState::Active,
            (_, CampaignAction::Cancel { hangup }) => CampaignState::Cancelled { hangup },
        };
        let verb = match action {
            CampaignAction::Pause => "pause",
            CampaignAction::Resume => "resume",
            CampaignAction::Cancel { .. } => "cancel",
        };
        for shard in 0..self.shards {
            self.control_shard(shard, id, verb).await?;
        }
        let key = self.keys.campaign(id);
        let mut pipe = redis::pipe();
        match state {
            CampaignState::Active => {
                pipe.hdel(&key, &["state", "hangup"]);
            }
            CampaignState::Paused => {
                pipe.hset(&key, "state", "paused");
            }
            CampaignState::Cancelled { hangup } => {
                pipe.hset(&key, "state", "cancelled");
                if hangup {
                    pipe.hset(&key, "hangup", "1");
                    pipe.sadd(self.keys.hangup_requests(), id.as_str());
                }
            }
        }
        pipe.exec_async(&mut self.conn.clone()).await?;
        Ok(Some(state))
    }

    /// Applies `verb` to one shard in batches: the parked jobs (resume,
    /// cancel), then for a cancel the delayed jobs found by a scan.
    async fn control_shard(&self, shard: ShardId, id: &CampaignId, verb: &str) -> Result<()> {
        let parked_key = self.keys.parked(shard, id);
        loop {
            let members: Vec<String> = if verb == "pause" {
                Vec::new()
            } else {
                redis::cmd("SRANDMEMBER")
                    .arg(&parked_key)
                    .arg(BATCH)
                    .query_async(&mut self.conn.clone())
                    .await?
            };
            let left = self
                .control_batch(shard, id, verb, Found::Parked, &members)
                .await?;
            if members.is_empty() || left == 0 {
                break;
            }
        }
        if verb != "cancel" {
            return Ok(());
        }
        // Page by page: a campaign's delayed jobs in a shard can be millions.
        // The scan finds its park lists' members too (`ParkList::member`).
        let delayed = self.keys.delayed(shard);
        let mut lists = Vec::new();
        let mut cursor = 0;
        loop {
            let (next, page) = self.scan_campaign_page(&delayed, id, cursor).await?;
            let mut members = Vec::with_capacity(page.len());
            for (member, _) in page {
                match ParkList::parse(&member) {
                    Some(list) => lists.push(list),
                    None => members.push(member),
                }
            }
            if !members.is_empty() {
                self.control_batch(shard, id, verb, Found::Delayed, &members)
                    .await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for list in &lists {
            self.cancel_listed(shard, id, list).await?;
        }
        self.cancel_held(shard, id).await
    }

    /// Cancel over one park list: its jobs end batch by batch from its
    /// head, until the list is empty and its member gone from the delayed
    /// set. A batch that a promotion took first is read again.
    async fn cancel_listed(&self, shard: ShardId, id: &CampaignId, list: &ParkList) -> Result<()> {
        let key = self.keys.park_list(shard, list);
        loop {
            let ids: Vec<String> = redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(BATCH - 1)
                .query_async(&mut self.conn.clone())
                .await?;
            // Called once more with none: the emptied list's member goes.
            self.control_batch(shard, id, "cancel", Found::Listed(list), &ids)
                .await?;
            if ids.is_empty() {
                return Ok(());
            }
        }
    }

    /// Cancel's last pass over a shard: the campaign's jobs waiting in
    /// officials' held queues (behind their official's rate) end now, not
    /// when the official is next allowed to dial.
    async fn cancel_held(&self, shard: ShardId, id: &CampaignId) -> Result<()> {
        for (official, _, ours) in self.held_in_shard(shard, id).await? {
            for batch in ours.chunks(BATCH) {
                self.control_batch(shard, id, "cancel", Found::Held(&official), batch)
                    .await?;
            }
        }
        Ok(())
    }

    /// The campaign's members of each scheduled official's held queue in
    /// one shard: (official, when it is scheduled (ms), members). A full
    /// scan of the shard's held queues: for operators' commands, not hot
    /// paths.
    async fn held_in_shard(
        &self,
        shard: ShardId,
        id: &CampaignId,
    ) -> Result<Vec<(String, f64, Vec<String>)>> {
        let prefix = format!("{id}/");
        let officials: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(self.keys.schedule(shard))
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query_async(&mut self.conn.clone())
            .await?;
        let mut found = Vec::with_capacity(officials.len());
        for (official, due) in officials {
            let members: Vec<String> = redis::cmd("LRANGE")
                .arg(self.keys.held_by_name(shard, &official))
                .arg(0)
                .arg(-1)
                .query_async(&mut self.conn.clone())
                .await?;
            let ours: Vec<String> = members
                .into_iter()
                .filter(|m| m.starts_with(&prefix))
                .collect();
            if !ours.is_empty() {
                found.push((official, due, ours));
            }
        }
        Ok(found)
    }

    /// One `campaign_control.lua` call over `members` (found `found`): how
    /// many jobs the campaign's parked set in the shard still holds.
    async fn control_batch(
        &self,
        shard: ShardId,
        id: &CampaignId,
        verb: &str,
        found: Found<'_>,
        members: &[String],
    ) -> Result<u64> {
        // The queue the members were found in, and what names it.
        let (queue, named) = match found {
            Found::Held(official) => (self.keys.held_by_name(shard, official), official.into()),
            Found::Listed(list) => (self.keys.park_list(shard, list), list.member()),
            // An official's name no official has: a key that holds nothing.
            Found::Parked | Found::Delayed => (self.keys.held_by_name(shard, ""), String::new()),
        };
        let mut invocation = self
            .scripts
            .campaign_control
            .key(self.keys.campaign_states(shard));
        invocation
            .key(self.keys.parked(shard, id))
            .key(self.keys.ready(shard))
            .key(self.keys.delayed(shard))
            .key(self.keys.counts(shard, id))
            .key(self.keys.outbox(shard))
            .key(self.keys.ready_urgent(shard))
            .key(queue)
            .key(self.keys.schedule(shard))
            .arg(id.as_str())
            .arg(verb)
            .arg(found.name())
            .arg(named);
        // A held-queue member is the job id, then tab-separated fields.
        let jobs: Vec<String> = members
            .iter()
            .map(|m| {
                self.keys
                    .job_by_name(shard, m.split('\t').next().unwrap_or(m))
            })
            .collect();
        for (job, member) in jobs.iter().zip(members) {
            invocation.key(job).arg(member);
        }
        if verb == "cancel" {
            for tag in self.citizen_tags(&jobs).await? {
                invocation.arg(tag);
            }
        }
        Ok(invocation.invoke_async(&mut self.conn.clone()).await?)
    }

    /// The citizen tag of each named job's number ('' when it holds none:
    /// gone, ended, or an inbound call's), for the jobs a cancel ends to
    /// keep (`keep_tag` in `lua/prelude.lua`): a queued job holds its
    /// number but not its tag, and the number is dropped when it ends.
    /// One round trip; the number of a job never changes, so reading it
    /// before the script is safe.
    async fn citizen_tags(&self, jobs: &[String]) -> Result<Vec<String>> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for job in jobs {
            pipe.hget(job, "c");
        }
        let packed: Vec<Option<String>> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(packed
            .iter()
            .map(|c| {
                c.as_deref()
                    .and_then(packed_phone)
                    .map(|phone| self.keys.citizen_tag(&phone))
                    .unwrap_or_default()
            })
            .collect())
    }

    pub(super) async fn waiting_impl(&self, id: &CampaignId) -> Result<Waiting> {
        let (delayed, lists): (Vec<_>, Vec<_>) = self
            .scan_campaign(id, |shard| self.keys.delayed(shard))
            .await?
            .into_iter()
            .partition(|(_, member, _)| ParkList::parse(member).is_none());
        let mut jobs = Vec::with_capacity(delayed.len());
        for chunk in delayed.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for (shard, member, _) in chunk {
                pipe.cmd("HMGET")
                    .arg(self.keys.job_by_name(*shard, member))
                    .arg("state")
                    .arg("reason");
            }
            let replies: Vec<(Option<String>, Option<String>)> =
                pipe.query_async(&mut self.conn.clone()).await?;
            for ((_, _, due), (state, reason)) in chunk.iter().zip(replies) {
                let state = state.as_deref().and_then(|s| s.parse::<JobState>().ok());
                // Every job here is in the delayed set: one parked at ingest
                // outside its window stores no reason (`parked_reason`).
                let why =
                    state.and_then(|s| wait_reason(s, parked_reason(s, reason.as_deref(), true)));
                if let Some(why) = why {
                    jobs.push((why, *due as i64));
                }
            }
        }
        jobs.extend(self.listed_of(&lists).await?);
        jobs.extend(self.held_of(id).await?);
        let mut pipe = redis::pipe();
        for shard in 0..self.shards {
            pipe.cmd("SCARD").arg(self.keys.parked(shard, id));
        }
        let parked: Vec<u64> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(Waiting::from_jobs(jobs, parked.iter().sum()))
    }

    /// The jobs waiting in the park lists whose delayed-set members are
    /// `lists`, each due at its list's opening (the member's score).
    async fn listed_of(&self, lists: &[(ShardId, String, f64)]) -> Result<Vec<(String, i64)>> {
        let mut jobs = Vec::new();
        for (shard, member, due) in lists {
            let Some(list) = ParkList::parse(member) else {
                continue;
            };
            for (state, reason) in self.park_list_jobs(*shard, &list).await? {
                // A listed job stores no reason (`parked_reason`).
                let why =
                    state.and_then(|s| wait_reason(s, parked_reason(s, reason.as_deref(), true)));
                if let Some(why) = why {
                    jobs.push((why, *due as i64));
                }
            }
        }
        Ok(jobs)
    }

    /// The campaign's jobs in officials' held queues, each due (as far as
    /// the store knows) when its official is next scheduled. A full scan of
    /// the held queues: for operators' commands, not hot paths.
    async fn held_of(&self, id: &CampaignId) -> Result<Vec<(String, i64)>> {
        let why = Limit::Official.reason();
        let mut jobs = Vec::new();
        for shard in 0..self.shards {
            for (_, due, ours) in self.held_in_shard(shard, id).await? {
                jobs.extend(ours.iter().map(|_| (why.to_owned(), due as i64)));
            }
        }
        Ok(jobs)
    }

    /// Every member of a per-shard sorted set (`key_of`) that is a job of
    /// campaign `id`, with its shard and score. A full scan: for operators'
    /// commands, not hot paths.
    async fn scan_campaign(
        &self,
        id: &CampaignId,
        key_of: impl Fn(ShardId) -> String,
    ) -> Result<Vec<(ShardId, String, f64)>> {
        let mut found = Vec::new();
        for shard in 0..self.shards {
            let key = key_of(shard);
            let mut cursor = 0;
            loop {
                let (next, page) = self.scan_campaign_page(&key, id, cursor).await?;
                found.extend(page.into_iter().map(|(m, score)| (shard, m, score)));
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(found)
    }

    /// One page of `ZSCAN ... MATCH` over a sorted set: the next cursor (0
    /// when done) and the members that are jobs of campaign `id`, with
    /// their scores.
    async fn scan_campaign_page(
        &self,
        key: &str,
        id: &CampaignId,
        cursor: u64,
    ) -> Result<(u64, Vec<(String, f64)>)> {
        let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
            .arg(key)
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{id}/*"))
            .arg("COUNT")
            .arg(BATCH)
            .query_async(&mut self.conn.clone())
            .await?;
        // ZSCAN replies member, score, member, score, ...
        let page = flat
            .chunks_exact(2)
            .map(|pair| (pair[0].clone(), pair[1].parse().unwrap_or(f64::MAX)))
            .collect();
        Ok((next, page))
    }

    pub(super) async fn hangup_requests_impl(&self) -> Result<Vec<CampaignId>> {
        let ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.hangup_requests())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| CampaignId::parse(id).ok())
            .collect())
    }

    pub(super) async fn hangup_done_impl(&self, id: &CampaignId) -> Result<()> {
        let _: i64 = redis::cmd("SREM")
            .arg(self.keys.hangup_requests())
            .arg(id.as_str())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn in_flight_of_impl(&self, id: &CampaignId) -> Result<Vec<JobRef>> {
        let live = self
            .scan_campaign(id, |shard| self.keys.inflight(shard))
            .await?;
        Ok(live
            .into_iter()
            .filter_map(|(shard, member, _)| {
                crate::domain::JobId::parse(&member)
                    .ok()
                    .map(|job| JobRef::new(shard, job))
            })
            .collect())
    }
}
