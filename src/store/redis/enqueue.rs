//! Creating jobs in their compact form (`compact.rs`), many per round trip,
//! claiming campaigns' numbers, and reading a compact job back joined with
//! its campaign's header.

use std::sync::Arc;

use super::compact::{self, PackedContact, SpecParts};
use super::connection::RedisStore;
use super::parse::{JobFields, corrupt, verdict};
use crate::domain::{CampaignHeader, CampaignId, ContactId, JobId, JobSpec, Outcome, PhoneNumber};
use crate::store::{Job, NewJob, NumberClaim, PutOutcome, ShardId, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Contacts per pipeline: large enough to amortise the round trip, small
/// enough that one pipeline never holds Redis for long.
const BATCH: usize = 1_000;

fn put_outcome(script: &str, reply: &[String]) -> Result<PutOutcome> {
    match verdict(script, reply)?.0 {
        "created" | "parked" => Ok(PutOutcome::Created),
        "unchanged" => Ok(PutOutcome::Unchanged),
        "conflict" => Ok(PutOutcome::Conflict),
        _ => Err(super::parse::unexpected(script, reply)),
    }
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
    pub(super) async fn enqueue_batch_impl(&self, jobs: &[NewJob<'_>]) -> Result<Vec<PutOutcome>> {
        let script = &self.scripts.enqueue;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(BATCH) {
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a Redis
            // restart or SCRIPT FLUSH, for the price of one small command.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::ENQUEUE)
                .ignore();
            for job in chunk {
                let spec = job.spec;
                let id = spec.job_id();
                let shard = self.shard_of_official(&spec.contact.official_id);
                pipe.cmd("EVALSHA")
                    .arg(script.get_hash())
                    .arg(5)
                    .arg(self.keys.job(shard, &id))
                    .arg(self.keys.ready(shard))
                    .arg(self.keys.counts(shard, &spec.campaign_id))
                    .arg(self.keys.ready_urgent(shard))
                    .arg(self.keys.delayed(shard))
                    .arg(spec.contact.official_id.as_str())
                    .arg(id.to_string())
                    .arg(opt(spec.not_before_ms))
                    .arg(opt(spec.not_after_ms))
                    .arg(self.keys.citizen_tag(&spec.contact.phone))
                    .arg(&spec.department)
                    .arg(if spec.priority.is_urgent() {
                        "urgent"
                    } else {
                        ""
                    })
                    .arg(compact::visit(&spec.contact))
                    .arg(&spec.contact.office)
                    .arg(&spec.contact.service)
                    .arg(compact::contact_tail(&spec.contact))
                    .arg(compact::official_call(spec))
                    .arg(opt(job.opens_at_ms));
            }
            let replies: Vec<Vec<String>> = pipe.query_async(&mut self.conn.clone()).await?;
            for reply in &replies {
                outcomes.push(put_outcome("enqueue", reply)?);
            }
        }
        Ok(outcomes)
    }

    pub(super) async fn enqueue_ended_impl(
        &self,
        spec: &JobSpec,
        outcome: Outcome,
        reason: &str,
    ) -> Result<PutOutcome> {
        let id = spec.job_id();
        let shard = self.shard_of_official(&spec.contact.official_id);
        let reply: Vec<String> = self
            .scripts
            .enqueue_ended
            .key(self.keys.job(shard, &id))
            .key(self.keys.counts(shard, &spec.campaign_id))
            .key(self.keys.outbox(shard))
            .arg(spec.contact.official_id.as_str())
            .arg(id.to_string())
            .arg(outcome.as_str())
            .arg(reason)
            .arg(self.keys.citizen_tag(&spec.contact.phone))
            .arg(&spec.department)
            .arg(compact::visit(&spec.contact))
            .arg(&spec.contact.office)
            .arg(&spec.contact.service)
            .arg(compact::contact_tail(&spec.contact))
            .arg(compact::official_call(spec))
            .invoke_async(&mut self.conn.clone())
            .await?;
        put_outcome("enqueue_ended", &reply)
    }

    pub(super) async fn claim_numbers_impl(
        &self,
        id: &CampaignId,
        claims: &[(&PhoneNumber, &ContactId)],
    ) -> Result<Vec<NumberClaim>> {
        let mut holders = Vec::with_capacity(claims.len());
        for chunk in claims.chunks(BATCH) {
            let mut pipe = redis::pipe();
            let mut keys = Vec::with_capacity(chunk.len());
            for (phone, contact) in chunk {
                let (key, field) = self.keys.campaign_number(id, &self.keys.citizen_tag(phone));
                pipe.cmd("HSETNX")
                    .arg(&key)
                    .arg(&field)
                    .arg(contact.as_str())
                    .ignore()
                    .cmd("HGET")
                    .arg(&key)
                    .arg(&field);
                keys.push(key);
            }
            let held: Vec<String> = pipe.query_async(&mut self.conn.clone()).await?;
            for ((holder, (_, contact)), key) in held.into_iter().zip(chunk).zip(&keys) {
                holders.push(number_claim(&holder, contact).map_err(|e| corrupt(key, e))?);
            }
        }
        Ok(holders)
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
        let (header, office, service) = self
            .joined(shard, &id.campaign, packed.office, packed.service)
            .await?;
        let spec = SpecParts {
            header: &header,
            id,
            official: fields.get("official").unwrap_or_default(),
            packed,
            office: office.to_string(),
            service: service.to_string(),
            official_call: fields.get("oc"),
            department: fields.get("dept"),
        }
        .into_spec()
        .map_err(|e| fields.corrupt(e))?;
        fields.into_job(id, shard, spec)
    }

    /// The campaign's header and the office and service texts a compact job
    /// names, from the instance's cache, else in one round trip.
    async fn joined(
        &self,
        shard: ShardId,
        campaign: &CampaignId,
        office: u64,
        service: u64,
    ) -> Result<(Arc<CampaignHeader>, Arc<str>, Arc<str>)> {
        let cached = (
            self.joins.header(campaign),
            self.joins.text(shard, campaign, office),
            self.joins.text(shard, campaign, service),
        );
        if let (Some(header), Some(office), Some(service)) = cached {
            return Ok((header, office, service));
        }
        let (campaign_key, counts_key) = (
            self.keys.campaign(campaign),
            self.keys.counts(shard, campaign),
        );
        let (header, office_text, service_text): (Option<String>, Option<String>, Option<String>) =
            redis::pipe()
                .hget(&campaign_key, "header")
                .hget(&counts_key, format!("#{office}"))
                .hget(&counts_key, format!("#{service}"))
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
        ))
    }
}
