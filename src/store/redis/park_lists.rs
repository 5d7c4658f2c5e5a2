//! Reading the park lists: the contacts of a campaign parked at ingest
//! until one opening of their calling window, one Redis list of bare job
//! ids per (shard, campaign, opening) with one member in the shard's
//! delayed set (`Keys::park_list`, `ParkList::member`; written by
//! `enqueue.lua`).
//!
//! Owns: what the delayed set's readers need of the lists: the heads a
//! promotion names (`dispatch.rs`, `promote_due.lua`), whether a job waits
//! in one (`jobs.rs`, its derived reason) and the jobs waiting in each
//! (`control.rs`, `campaign status`). Does not own: writing them
//! (`enqueue.lua`), popping them (`promote_due.lua`, and a cancel's
//! `campaign_control.lua`).

use super::connection::RedisStore;
use crate::domain::{CampaignId, JobId, JobState};
use crate::store::keys::ParkList;
use crate::store::{ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Park lists whose heads one promotion reads: bounds the ids read past
/// what the pass can promote (each list's head is read up to the pass's
/// whole budget, before it is known how many the lists before it give).
/// Lists beyond wait for the next pass, which comes at once: they are
/// still due.
const LISTS_PER_PASS: usize = 4;

/// Ids read per round trip when a list is read whole.
const PAGE: usize = 500;

/// A due park list as a promotion names it: the list, and the ids read at
/// its head that the pass may promote (none: the list was found empty, and
/// the script drops its member).
pub(super) struct ListHead {
    pub list: ParkList,
    pub ids: Vec<String>,
}

impl RedisStore {
    /// The heads of the due `lists` (in the delayed set's order) a pass
    /// that may still promote `budget` jobs names: each list gives up to
    /// what is left of the budget after the lists before it, in one round
    /// trip for all of them.
    pub(super) async fn due_list_heads(
        &self,
        shard: ShardId,
        lists: Vec<ParkList>,
        budget: usize,
    ) -> Result<Vec<ListHead>> {
        if budget == 0 || lists.is_empty() {
            return Ok(Vec::new());
        }
        let lists: Vec<ParkList> = lists.into_iter().take(LISTS_PER_PASS).collect();
        let mut pipe = redis::pipe();
        for list in &lists {
            pipe.cmd("LRANGE")
                .arg(self.keys.park_list(shard, list))
                .arg(0)
                .arg(budget - 1);
        }
        let heads: Vec<Vec<String>> = pipe.query_async(&mut self.conn.clone()).await?;
        let mut left = budget;
        let mut named = Vec::with_capacity(lists.len());
        for (list, mut ids) in lists.into_iter().zip(heads) {
            if left == 0 && !ids.is_empty() {
                break;
            }
            ids.truncate(left);
            left -= ids.len();
            named.push(ListHead { list, ids });
        }
        Ok(named)
    }

    /// The campaign's park lists in a shard, with their openings: a scan
    /// of the shard's delayed set for the lists' members.
    pub(super) async fn park_lists_of(
        &self,
        shard: ShardId,
        campaign: &CampaignId,
    ) -> Result<Vec<ParkList>> {
        let key = self.keys.delayed(shard);
        let mut found = Vec::new();
        let mut cursor = 0_u64;
        loop {
            let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
                .arg(&key)
                .arg(cursor)
                .arg("MATCH")
                .arg(ParkList::member_pattern(campaign))
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut self.conn.clone())
                .await?;
            // ZSCAN replies member, score, member, score, ...
            found.extend(flat.iter().step_by(2).filter_map(|m| ParkList::parse(m)));
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    /// Whether job `id` waits in one of its campaign's park lists in
    /// `shard`: a scan of the delayed set for the lists, then `LPOS` in
    /// each (a walk of the list). Only a queued job without a reason that
    /// is not in the delayed set itself costs it (`jobs.rs`).
    pub(super) async fn in_park_list(&self, shard: ShardId, id: &JobId) -> Result<bool> {
        let member = id.to_string();
        for list in self.park_lists_of(shard, &id.campaign).await? {
            let at: Option<u64> = redis::cmd("LPOS")
                .arg(self.keys.park_list(shard, &list))
                .arg(&member)
                .query_async(&mut self.conn.clone())
                .await?;
            if at.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The state and stored reason of every job in a park list, read page
    /// by page (`LRANGE`, then one pipeline of `HMGET`s a page).
    pub(super) async fn park_list_jobs(
        &self,
        shard: ShardId,
        list: &ParkList,
    ) -> Result<Vec<(Option<JobState>, Option<String>)>> {
        let key = self.keys.park_list(shard, list);
        let prefix = self.keys.job_prefix(shard);
        let mut jobs = Vec::new();
        loop {
            let from = jobs.len();
            let ids: Vec<String> = redis::cmd("LRANGE")
                .arg(&key)
                .arg(from)
                .arg(from + PAGE - 1)
                .query_async(&mut self.conn.clone())
                .await?;
            if ids.is_empty() {
                return Ok(jobs);
            }
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HMGET")
                    .arg(format!("{prefix}{id}"))
                    .arg("state")
                    .arg("reason");
            }
            let replies: Vec<(Option<String>, Option<String>)> =
                pipe.query_async(&mut self.conn.clone()).await?;
            jobs.extend(
                replies
                    .into_iter()
                    .map(|(state, reason)| (state.and_then(|s| s.parse().ok()), reason)),
            );
            if ids.len() < PAGE {
                return Ok(jobs);
            }
        }
    }
}
