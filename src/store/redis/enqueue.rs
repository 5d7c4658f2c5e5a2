//! Creating jobs in their compact form (`compact.rs`), many per round trip,
//! claiming campaigns' numbers, and reading a compact job back joined with
//! its campaign's header.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::task::Poll;

use super::compact::{self, PackedContact, SpecParts};
use super::connection::RedisStore;
use super::parse::{JobFields, corrupt};
use crate::domain::{
    CampaignHeader, CampaignId, ContactId, JobId, JobSpec, OfficialId, PhoneNumber,
};
use crate::store::keys::ParkList;
use crate::store::{EndedJob, Job, NewJob, NumberClaim, PutOutcome, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Contacts per script call: enough to amortise the call, the clock and
/// the counts, few enough that one call holds Redis for a few milliseconds.
const PER_CALL: usize = 500;
/// Contacts per pipeline of script calls: two calls, so that Redis runs one
/// pipeline while the next is being built (`run_calls`).
const PER_PIPELINE: usize = 2 * PER_CALL;
/// Number claims per pipeline: large enough to amortise the round trip,
/// small enough that Redis starts on the first while the next is built.
const CLAIMS_PER_PIPELINE: usize = 1_000;

/// What a batch script's letter says of one contact.
fn put_outcome(script: &str, letter: &str) -> Result<PutOutcome> {
    match letter {
        "c" | "p" => Ok(PutOutcome::Created),
        "u" => Ok(PutOutcome::Unchanged),
        "x" => Ok(PutOutcome::Conflict),
        _ => Err(super::parse::unexpected(script, &[letter.to_owned()])),
    }
}

/// The contacts' indices grouped by what one script call shares (each
/// contact's key: its shard, campaign and the campaign-wide values the
/// script takes once), each group in slices of `PER_CALL`, in order of
/// first appearance; within a group, contacts keep their order.
fn calls<K: Eq + std::hash::Hash + Clone>(keys: impl Iterator<Item = K>) -> Vec<(K, Vec<usize>)> {
    let mut groups: Vec<(K, Vec<usize>)> = Vec::new();
    let mut open: HashMap<K, usize> = HashMap::new();
    for (index, key) in keys.enumerate() {
        let at = match open.get(&key) {
            Some(&at) if groups[at].1.len() < PER_CALL => at,
            _ => {
                groups.push((key.clone(), Vec::with_capacity(PER_CALL)));
                open.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[at].1.push(index);
    }
    groups
}

/// A pipeline's reply, to be awaited.
type Sent<T> = std::pin::Pin<Box<dyn Future<Output = redis::RedisResult<T>> + Send>>;

/// A pipeline of batch scripts' replies: one letter per contact, per call.
type Letters = Sent<Vec<Vec<String>>>;

/// Queues `pipe` on the connection now, its reply to be awaited later:
/// the first poll hands the pipeline to the connection's writer (in the
/// order of the calls), so Redis runs it while the caller builds the next.
async fn send<T: redis::FromRedisValue + Send + 'static>(
    store: &RedisStore,
    pipe: redis::Pipeline,
) -> Sent<T> {
    let mut conn = store.conn.clone();
    let mut reply: Sent<T> = Box::pin(async move { pipe.query_async(&mut conn).await });
    // A reply this early is kept for the caller.
    if let Poll::Ready(done) = poll_fn(|cx| Poll::Ready(reply.as_mut().poll(cx))).await {
        reply = Box::pin(std::future::ready(done));
    }
    reply
}

/// Runs the script calls in pipelines of about `PER_PIPELINE` contacts
/// (loading the script in each, so EVALSHA is safe after a Redis restart or
/// SCRIPT FLUSH), and gives each contact its outcome. Each pipeline is
/// queued on the connection as soon as it is built (`send`), so Redis runs
/// one while the next is being built.
async fn run_calls(
    store: &RedisStore,
    name: &'static str,
    source: &'static str,
    calls: Vec<(redis::Cmd, Vec<usize>)>,
    outcomes: &mut [PutOutcome],
) -> Result<()> {
    let mut sent: Vec<(Letters, Vec<Vec<usize>>)> = Vec::new();
    let mut calls = calls.into_iter().peekable();
    while calls.peek().is_some() {
        let mut pipe = redis::pipe();
        pipe.cmd("SCRIPT").arg("LOAD").arg(source).ignore();
        let mut indices = Vec::new();
        let mut contacts = 0;
        while contacts < PER_PIPELINE
            && let Some((cmd, at)) = calls.next()
        {
            contacts += at.len();
            pipe.add_command(cmd);
            indices.push(at);
        }
        sent.push((send(store, pipe).await, indices));
    }
    for (reply, indices) in sent {
        let replies = reply.await?;
        for (reply, at) in replies.iter().zip(&indices) {
            if reply.len() != at.len() {
                return Err(super::parse::unexpected(name, reply));
            }
            for (letter, &index) in reply.iter().zip(at) {
                outcomes[index] = put_outcome(name, letter)?;
            }
        }
    }
    Ok(())
}

/// The per-contact arguments both batch scripts end with: visit, office,
/// service, packed tail, official's call.
fn contact_args(cmd: &mut redis::Cmd, spec: &JobSpec) {
    cmd.arg(compact::visit(&spec.contact))
        .arg(&spec.contact.office)
        .arg(&spec.contact.service)
        .arg(compact::contact_tail(&spec.contact))
        .arg(compact::official_call(spec));
}

/// What a campaign's numbers hold for a number `contact` claimed: its
/// holder's id, with `=` in front once that contact ended (`end_number.lua`).
fn number_claim(holder: &str, contact: &ContactId) -> std::result::Result<NumberClaim, String> {
    let (ended, id) = match holder.strip_prefix('=') {
        Some(id) => (true, id),
        None => (false, holder),
    };
    if id == contact.as_str() {
        return Ok(if ended {
            NumberClaim::Ended
        } else {
            NumberClaim::Holds
        });
    }
    ContactId::parse(id)
        .map(NumberClaim::HeldBy)
        .map_err(|e| format!("holder {holder:?}: {e}"))
}

fn opt(value: Option<i64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

impl RedisStore {
    /// One `enqueue.lua` call per (shard, campaign) slice of `PER_CALL`
    /// contacts, pipelined.
    pub(super) async fn enqueue_batch_impl(&self, jobs: &[NewJob<'_>]) -> Result<Vec<PutOutcome>> {
        let script = &self.scripts.enqueue;
        let groups = calls(jobs.iter().map(|job| {
            let spec = job.spec;
            (
                self.shard_of_official(&spec.contact.official_id),
                &spec.campaign_id,
                &spec.department,
                spec.priority.is_urgent(),
                job.opens_at_ms,
            )
        }));
        let mut cmds = Vec::with_capacity(groups.len());
        for ((shard, campaign, department, urgent, opens_at_ms), at) in groups {
            // Contacts parked outside their window go to one list per
            // opening (`Keys::park_list`), named only when there is one.
            let park_list = opens_at_ms.map(|opens_ms| ParkList {
                campaign: campaign.clone(),
                opens_ms,
            });
            // The officials the slice names, in order of first appearance:
            // their held queues are declared after the job hashes.
            let mut seen = std::collections::HashSet::with_capacity(at.len());
            let officials: Vec<&OfficialId> = at
                .iter()
                .map(|&index| &jobs[index].spec.contact.official_id)
                .filter(|official| seen.insert(*official))
                .collect();
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(script.get_hash())
                .arg(5 + usize::from(park_list.is_some()) + at.len() + officials.len())
                .arg(self.keys.ready(shard))
                .arg(self.keys.ready_urgent(shard))
                .arg(self.keys.delayed(shard))
                .arg(self.keys.counts(shard, campaign))
                .arg(self.keys.schedule(shard));
            if let Some(list) = &park_list {
                cmd.arg(self.keys.park_list(shard, list));
            }
            for &index in &at {
                cmd.arg(self.keys.job(shard, &jobs[index].spec.job_id()));
            }
            for official in officials {
                cmd.arg(self.keys.held(shard, official));
            }
            cmd.arg(department)
                .arg(if urgent { "urgent" } else { "" })
                .arg(opt(opens_at_ms))
                .arg(park_list.as_ref().map(ParkList::member).unwrap_or_default());
            for &index in &at {
                let spec = jobs[index].spec;
                cmd.arg(spec.contact.official_id.as_str())
                    .arg(spec.job_id().to_string())
                    .arg(opt(spec.not_before_ms))
                    .arg(opt(spec.not_after_ms));
                contact_args(&mut cmd, spec);
            }
            cmds.push((cmd, at));
        }
        let mut outcomes = vec![PutOutcome::Unchanged; jobs.len()];
        run_calls(
            self,
            "enqueue",
            super::scripts::ENQUEUE,
            cmds,
            &mut outcomes,
        )
        .await?;
        Ok(outcomes)
    }

    /// One `enqueue_ended.lua` call per (shard, campaign) slice of
    /// `PER_CALL` contacts, pipelined.
    pub(super) async fn enqueue_ended_batch_impl(
        &self,
        jobs: &[EndedJob<'_>],
    ) -> Result<Vec<PutOutcome>> {
        let script = &self.scripts.enqueue_ended;
        let groups = calls(jobs.iter().map(|job| {
            let spec = job.spec;
            (
                self.shard_of_official(&spec.contact.official_id),
                &spec.campaign_id,
                &spec.department,
            )
        }));
        let mut cmds = Vec::with_capacity(groups.len());
        for ((shard, campaign, department), at) in groups {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(script.get_hash())
                .arg(2 + at.len())
                .arg(self.keys.counts(shard, campaign))
                .arg(self.keys.outbox(shard));
            for &index in &at {
                cmd.arg(self.keys.job(shard, &jobs[index].spec.job_id()));
            }
            cmd.arg(department);
            for &index in &at {
                let EndedJob {
                    spec,
                    outcome,
                    reason,
                } = jobs[index];
                cmd.arg(spec.contact.official_id.as_str())
                    .arg(spec.job_id().to_string())
                    .arg(outcome.as_str())
                    .arg(reason)
                    // An ended job keeps its tag for the relay (`keep_tag`).
                    .arg(self.keys.citizen_tag(&spec.contact.phone));
                contact_args(&mut cmd, spec);
            }
            cmds.push((cmd, at));
        }
        let mut outcomes = vec![PutOutcome::Unchanged; jobs.len()];
        run_calls(
            self,
            "enqueue_ended",
            super::scripts::ENQUEUE_ENDED,
            cmds,
            &mut outcomes,
        )
        .await?;
        Ok(outcomes)
    }

    /// `claim_numbers.lua` over each `CLAIMS_PER_PIPELINE` claims: on a
    /// single node one call for them all (one round trip), on a Redis
    /// Cluster one per claim (each bucket is a slot of its own), in one
    /// pipeline; each pipeline queued as soon as it is built (`send`).
    pub(super) async fn claim_numbers_impl(
        &self,
        id: &CampaignId,
        claims: &[(&PhoneNumber, &ContactId)],
    ) -> Result<Vec<NumberClaim>> {
        let script = &self.scripts.claim_numbers;
        let per_call = if self.conn.is_cluster() {
            1
        } else {
            CLAIMS_PER_PIPELINE
        };
        let mut places = Vec::with_capacity(claims.len());
        let mut sent: Vec<Sent<Vec<Vec<String>>>> = Vec::new();
        for chunk in claims.chunks(CLAIMS_PER_PIPELINE) {
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a Redis
            // restart or SCRIPT FLUSH.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::CLAIM_NUMBERS)
                .ignore();
            for call in chunk.chunks(per_call) {
                let at = places.len();
                for (phone, _) in call {
                    places.push(self.keys.campaign_number(id, &self.keys.citizen_tag(phone)));
                }
                let cmd = pipe.cmd("EVALSHA").arg(script.get_hash()).arg(call.len());
                for (key, _) in &places[at..] {
                    cmd.arg(key);
                }
                for ((_, field), (_, contact)) in places[at..].iter().zip(call) {
                    cmd.arg(field).arg(contact.as_str());
                }
            }
            sent.push(send(self, pipe).await);
        }
        let mut holders = Vec::with_capacity(claims.len());
        for reply in sent {
            holders.extend(reply.await?.into_iter().flatten());
        }
        if holders.len() != claims.len() {
            return Err(super::parse::unexpected("claim_numbers", &holders));
        }
        holders
            .iter()
            .zip(claims)
            .zip(&places)
            .map(|((holder, (_, contact)), (key, _))| {
                if holder.is_empty() {
                    return Ok(NumberClaim::Holds);
                }
                number_claim(holder, contact).map_err(|e| corrupt(key, e))
            })
            .collect()
    }

    /// The job a job hash read back holds: its own spec (an inbound call's),
    /// or its compact contact joined with its campaign's header.
    pub(super) async fn job_from(
        &self,
        fields: JobFields<'_>,
        id: &JobId,
        shard: ShardId,
    ) -> Result<Job> {
        if let Some(spec) = fields.own_spec()? {
            return fields.into_job(id, shard, spec);
        }
        let packed = PackedContact::parse(
            fields
                .get("c")
                .ok_or_else(|| fields.corrupt("neither `spec` nor `c` is set".into()))?,
        )
        .map_err(|e| fields.corrupt(e))?;
        let (header, office, service, kept_department) = self
            .joined(shard, &id.campaign, packed.office, packed.service)
            .await?;
        let spec = SpecParts {
            header: &header,
            id,
            // `official` in a job an earlier version wrote.
            official: fields
                .get("o")
                .or_else(|| fields.get("official"))
                .unwrap_or_default(),
            packed,
            office: office.to_string(),
            service: service.to_string(),
            official_call: fields.get("oc"),
            department: fields.get("dept").or(kept_department.as_deref()),
        }
        .into_spec()
        .map_err(|e| fields.corrupt(e))?;
        fields.into_job(id, shard, spec)
    }

    /// The campaign's header, the office and service texts a compact job
    /// names and the department its campaign's jobs in the shard keep
    /// (`own_department` in `lua/prelude.lua`; `None` only for jobs of an
    /// earlier version, which hold their own), from the instance's cache,
    /// else in one round trip.
    async fn joined(
        &self,
        shard: ShardId,
        campaign: &CampaignId,
        office: u64,
        service: u64,
    ) -> Result<(Arc<CampaignHeader>, Arc<str>, Arc<str>, Option<Arc<str>>)> {
        let cached = (
            self.joins.header(campaign),
            self.joins.text(shard, campaign, office),
            self.joins.text(shard, campaign, service),
            self.joins.department(shard, campaign),
        );
        if let (Some(header), Some(office), Some(service), Some(department)) = cached {
            return Ok((header, office, service, Some(department)));
        }
        let (campaign_key, counts_key) = (
            self.keys.campaign(campaign),
            self.keys.counts(shard, campaign),
        );
        type Joined = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let (header, office_text, service_text, department): Joined = redis::pipe()
            .hget(&campaign_key, "header")
            .hget(&counts_key, format!("#{office}"))
            .hget(&counts_key, format!("#{service}"))
            .hget(&counts_key, "#d")
            .query_async(&mut self.conn.clone())
            .await?;
        let header = header.ok_or_else(|| {
            corrupt(
                &campaign_key,
                "a job's campaign has no stored header".into(),
            )
        })?;
        let header: CampaignHeader =
            serde_json::from_str(&header).map_err(|e| corrupt(&campaign_key, e.to_string()))?;
        let text = |id: u64, text: Option<String>| -> Result<Arc<str>> {
            let text = text.ok_or_else(|| corrupt(&counts_key, format!("no text #{id}")))?;
            self.joins.keep_text(shard, campaign, id, &text);
            Ok(text.into())
        };
        Ok((
            self.joins.keep_header(header),
            text(office, office_text)?,
            text(service, service_text)?,
            department.map(|d| self.joins.keep_department(shard, campaign, &d)),
        ))
    }
}
