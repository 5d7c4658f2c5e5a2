//! The dialer's read: ready entries handed to a consumer, with what each
//! entry's job names the dial decision's keys by (official, citizen tag,
//! department).
//!
//! Two steps, so that every key a script touches is declared (Redis
//! Cluster): `read_ready.lua` hands out entries, which hold only their job
//! ids; then `read_subjects.lua` reads those jobs' fields, one call per
//! shard of the batch (its job hashes share the shard's slot). Does not
//! own: deciding the entries (`dispatch.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::compact::packed_phone;
use super::connection::RedisStore;
use super::dispatch::millis;
use super::parse::unexpected;
use crate::domain::{CampaignId, JobId, OfficialId};
use crate::store::{ReadyEntry, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// A ready entry as read, before its job's fields.
struct Read {
    shard: ShardId,
    entry_id: String,
    job: JobId,
    urgent: bool,
}

/// What an entry's job names the decision's keys by: its official, its
/// packed contact (`c`, holding the number the citizen tag is of) and its
/// own department, if it keeps one.
#[derive(Default)]
struct Subjects {
    official: Option<String>,
    packed: Option<String>,
    department: Option<String>,
}

/// The department each (shard, campaign) of a batch's compact jobs keeps in
/// its counts hash (`own_department` in `lua/prelude.lua`).
type Kept = HashMap<(ShardId, CampaignId), Arc<str>>;

impl RedisStore {
    pub(super) async fn read_ready_impl(
        &self,
        shards: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>> {
        if count == 0 || shards.is_empty() {
            return Ok(Vec::new());
        }
        let read = self
            .read_entries(shards, consumer, count, reclaim_after)
            .await?;
        if read.is_empty() {
            return Ok(Vec::new());
        }
        let (subjects, kept) = self.subjects(&read).await?;
        let mut entries = Vec::with_capacity(read.len());
        for (read, subjects) in read.into_iter().zip(subjects) {
            let Read {
                shard,
                entry_id,
                job,
                urgent,
            } = read;
            let Subjects {
                official,
                packed,
                department,
            } = subjects;
            match official.as_deref().map(OfficialId::parse) {
                Some(Ok(official)) => {
                    // A queued compact job holds no tag: it is the phone's.
                    let citizen = packed
                        .as_deref()
                        .and_then(packed_phone)
                        .map(|phone| self.keys.citizen_tag(&phone));
                    let department = department.or_else(|| {
                        packed
                            .is_some()
                            .then(|| kept.get(&(shard, job.campaign.clone())))?
                            .map(|d| d.to_string())
                    });
                    entries.push(ReadyEntry {
                        shard,
                        entry_id,
                        job,
                        official,
                        citizen,
                        department,
                        urgent,
                    });
                }
                // The job is gone (removed after its retention) or names no
                // readable official: nothing could ever decide the entry.
                _ => self.drop_ready_entry(shard, urgent, &entry_id).await?,
            }
        }
        Ok(entries)
    }

    /// Up to `count` entries of each of `shards` (`read_ready.lua`), one
    /// call per shard, all sent at once (each `EVALSHA` loads the script
    /// itself if Redis lost it, so no `SCRIPT LOAD` goes with every read).
    async fn read_entries(
        &self,
        shards: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<Read>> {
        let script = &self.scripts.read_ready;
        let per_shard: Vec<Vec<String>> = self
            .with_groups(|| {
                futures_util::future::try_join_all(shards.iter().map(|&shard| {
                    let mut invocation = script.key(self.keys.ready(shard));
                    invocation
                        .key(self.keys.ready_urgent(shard))
                        .arg(consumer)
                        .arg(count)
                        .arg(millis(reclaim_after));
                    let mut conn = self.conn.clone();
                    async move { invocation.invoke_async(&mut conn).await }
                }))
            })
            .await?;
        let mut read = Vec::new();
        for (&shard, flat) in shards.iter().zip(per_shard) {
            for fields in flat.chunks_exact(3) {
                let urgent = fields[2] == "1";
                match JobId::parse(&fields[1]) {
                    Ok(job) => read.push(Read {
                        shard,
                        entry_id: fields[0].clone(),
                        job,
                        urgent,
                    }),
                    // An unreadable id can never be processed: drop the entry.
                    Err(_) => self.drop_ready_entry(shard, urgent, &fields[0]).await?,
                }
            }
        }
        Ok(read)
    }

    /// What each read entry's job names the decision's keys by, and the
    /// departments its compact jobs keep per campaign: one
    /// `read_subjects.lua` call per shard of the batch, all sent at once.
    async fn subjects(&self, read: &[Read]) -> Result<(Vec<Subjects>, Kept)> {
        // Each shard with the positions of its entries in `read`.
        let mut by_shard: Vec<(ShardId, Vec<usize>)> = Vec::new();
        for (i, entry) in read.iter().enumerate() {
            match by_shard.iter_mut().find(|(shard, _)| *shard == entry.shard) {
                Some((_, at)) => at.push(i),
                None => by_shard.push((entry.shard, vec![i])),
            }
        }
        let replies = futures_util::future::try_join_all(by_shard.iter().map(|(shard, at)| {
            let jobs: Vec<&JobId> = at.iter().map(|&i| &read[i].job).collect();
            self.shard_subjects(*shard, jobs)
        }))
        .await?;
        let mut subjects: Vec<Subjects> = read.iter().map(|_| Subjects::default()).collect();
        let mut kept = Kept::new();
        for ((_, at), (found, departments)) in by_shard.iter().zip(replies) {
            for (&i, found) in at.iter().zip(found) {
                subjects[i] = found;
            }
            kept.extend(departments);
        }
        Ok((subjects, kept))
    }

    /// `read_subjects.lua` over `jobs` of `shard`, naming the counts hash of
    /// each of their campaigns whose department this instance has not
    /// cached (a stored department never changes, so once read it is kept).
    async fn shard_subjects(
        &self,
        shard: ShardId,
        jobs: Vec<&JobId>,
    ) -> Result<(Vec<Subjects>, Kept)> {
        let mut kept = Kept::new();
        let mut missing: Vec<&CampaignId> = Vec::new();
        for job in &jobs {
            let campaign = &job.campaign;
            if missing.contains(&campaign) || kept.contains_key(&(shard, campaign.clone())) {
                continue;
            }
            match self.joins.department(shard, campaign) {
                Some(found) => {
                    kept.insert((shard, campaign.clone()), found);
                }
                None => missing.push(campaign),
            }
        }
        let mut invocation = self.scripts.read_subjects.prepare_invoke();
        for job in &jobs {
            invocation.key(self.keys.job(shard, job));
        }
        for campaign in &missing {
            invocation.key(self.keys.counts(shard, campaign));
        }
        invocation.arg(jobs.len());
        let flat: Vec<Option<String>> = invocation.invoke_async(&mut self.conn.clone()).await?;
        if flat.len() != 3 * jobs.len() + missing.len() {
            return Err(unexpected(
                "read_subjects",
                &[format!(
                    "{} values for {} jobs and {} campaigns",
                    flat.len(),
                    jobs.len(),
                    missing.len()
                )],
            ));
        }
        let (fields, departments) = flat.split_at(3 * jobs.len());
        let subjects = fields
            .chunks_exact(3)
            .map(|f| Subjects {
                official: f[0].clone(),
                packed: f[1].clone(),
                department: f[2].clone(),
            })
            .collect();
        for (campaign, department) in missing.into_iter().zip(departments) {
            if let Some(department) = department {
                let department = self.joins.keep_department(shard, campaign, department);
                kept.insert((shard, campaign.clone()), department);
            }
        }
        Ok((subjects, kept))
    }
}
