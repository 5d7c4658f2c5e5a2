//! Inbound calls: citizens' remembered visits, the fleet-wide cap on live
//! inbound calls, and the job an inbound call is born with.

use std::collections::HashMap;
use std::time::Duration;

use super::compact::{US, escape, unescape};
use super::connection::RedisStore;
use super::dispatch::millis;
use super::parse::{JobFields, corrupt, unexpected, verdict};
use crate::domain::{Attribution, CallStatus, JobSpec, PhoneNumber};
use crate::store::{Admission, InboundStart, JobRef, ServiceVisit, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Visits per pipeline.
const VISITS_PER_PIPELINE: usize = 5_000;
/// Visits per script call on a single node: enough to amortise the call
/// and the clock, few enough that one call holds Redis for about a
/// millisecond.
const VISITS_PER_CALL: usize = 500;

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Refused(format!("{what} does not serialize: {e}")))
}

/// A remembered visit as the citizen's visits zset holds it: short enough
/// (about 40 bytes for ids of ordinary length) that the set stays a listpack
/// (`zset-max-listpack-value`, 64 bytes) instead of a skiplist of ~1,200
/// bytes per citizen. The ids are as the contact gave them (only letters,
/// digits, `.`, `_`, `-`); department, office and service are ids in the
/// visit text table (`Keys::visit_texts`); the language is escaped as in
/// the compact job (`redis/compact.rs`):
///
/// ```text
/// <campaign> US <contact> US <official> US <department id> US <office id> US <service id> US <language>
/// ```
struct VisitMember;

impl VisitMember {
    const FIELDS: usize = 7;

    /// The texts a visit names by id, in the order `pack` takes their ids.
    fn texts(visit: &ServiceVisit) -> [&str; 3] {
        [&visit.department, &visit.office, &visit.service]
    }

    fn pack(visit: &ServiceVisit, ids: &[String]) -> String {
        [
            escape(&visit.campaign_id),
            escape(&visit.contact_id),
            escape(&visit.official_id),
            ids[0].clone(),
            ids[1].clone(),
            ids[2].clone(),
            escape(visit.language.as_deref().unwrap_or_default()),
        ]
        .join(&US.to_string())
    }

    /// A stored member: packed, or the JSON object earlier versions wrote
    /// (kept readable until those expire, `inbound.lookback_days`).
    fn read(member: &str) -> std::result::Result<StoredVisit<'_>, String> {
        if member.starts_with('{') {
            return serde_json::from_str(member)
                .map(StoredVisit::Json)
                .map_err(|e| format!("a visit is not valid JSON: {e}"));
        }
        let parts: Vec<&str> = member.split(US).collect();
        if parts.len() == Self::FIELDS {
            Ok(StoredVisit::Packed(parts))
        } else {
            Err(format!(
                "a visit has {} fields, not {}",
                parts.len(),
                Self::FIELDS
            ))
        }
    }
}

/// A member of a citizen's visits zset, as read.
enum StoredVisit<'a> {
    /// `VisitMember`'s fields.
    Packed(Vec<&'a str>),
    Json(ServiceVisit),
}

impl RedisStore {
    /// The ids of `texts` in the visit text table, in order: one script
    /// call (the table is one key, in a slot of its own).
    async fn visit_text_ids(&self, texts: &[&str]) -> Result<Vec<String>> {
        let mut invocation = self.scripts.intern_texts.key(self.keys.visit_texts());
        for text in texts {
            invocation.arg(*text);
        }
        let ids: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        if ids.len() != texts.len() {
            return Err(unexpected("intern_texts", &ids));
        }
        Ok(ids)
    }

    /// Per `VISITS_PER_PIPELINE` visits: the ids of their distinct texts
    /// (one script call), then `record_visit.lua` for `VISITS_PER_CALL` at
    /// a time on a single node, or one call per visit on a cluster (each citizen's key is in a
    /// slot of its own), pipelined.
    pub(super) async fn record_visits_impl(
        &self,
        visits: &[(&PhoneNumber, ServiceVisit)],
        keep: Duration,
    ) -> Result<()> {
        let script = &self.scripts.record_visit;
        let per_call = if self.conn.is_cluster() {
            1
        } else {
            VISITS_PER_CALL
        };
        for chunk in visits.chunks(VISITS_PER_PIPELINE) {
            let mut texts: Vec<&str> = chunk
                .iter()
                .flat_map(|(_, visit)| VisitMember::texts(visit))
                .collect();
            texts.sort_unstable();
            texts.dedup();
            let ids: HashMap<&str, String> = texts
                .iter()
                .copied()
                .zip(self.visit_text_ids(&texts).await?)
                .collect();
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a
            // Redis restart or SCRIPT FLUSH.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::RECORD_VISIT)
                .ignore();
            for call in chunk.chunks(per_call) {
                let cmd = pipe.cmd("EVALSHA").arg(script.get_hash()).arg(call.len());
                for (phone, _) in call {
                    cmd.arg(self.keys.visits(phone));
                }
                cmd.arg(millis(keep).max(1));
                for (_, visit) in call {
                    let visit_ids = VisitMember::texts(visit).map(|text| ids[text].clone());
                    cmd.arg(VisitMember::pack(visit, &visit_ids));
                }
                cmd.ignore();
            }
            let () = pipe.query_async(&mut self.conn.clone()).await?;
        }
        Ok(())
    }

    /// The citizen's visits (one script call), then the texts they name
    /// (one `HMGET` of the text table).
    pub(super) async fn recent_visits_impl(
        &self,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Result<Vec<ServiceVisit>> {
        let key = self.keys.visits(phone);
        let flat: Vec<String> = self
            .scripts
            .recent_visits
            .key(&key)
            .arg(millis(within))
            .arg(max.max(1))
            .invoke_async(&mut self.conn.clone())
            .await?;
        let mut members = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks_exact(2) {
            let at_ms = pair[1]
                .parse::<f64>()
                .map_err(|e| corrupt(&key, format!("a visit's score {:?}: {e}", pair[1])))?
                as i64;
            members.push((
                VisitMember::read(&pair[0]).map_err(|e| corrupt(&key, e))?,
                at_ms,
            ));
        }
        // One lookup for every text the packed members name.
        let ids: Vec<String> = members
            .iter()
            .filter_map(|(member, _)| match member {
                StoredVisit::Packed(parts) => Some(parts[3..6].iter().map(|id| format!("#{id}"))),
                StoredVisit::Json(_) => None,
            })
            .flatten()
            .collect();
        let texts_key = self.keys.visit_texts();
        let texts: Vec<Option<String>> = if ids.is_empty() {
            Vec::new()
        } else {
            redis::cmd("HMGET")
                .arg(&texts_key)
                .arg(&ids)
                .query_async(&mut self.conn.clone())
                .await?
        };
        let mut texts = texts.into_iter();
        let mut text = |id: &str| {
            texts
                .next()
                .flatten()
                .ok_or_else(|| corrupt(&texts_key, format!("no text with id {id:?}")))
        };
        let mut visits = Vec::with_capacity(members.len());
        for (member, at_ms) in members {
            let visit = match member {
                StoredVisit::Json(visit) => visit,
                StoredVisit::Packed(parts) => ServiceVisit {
                    campaign_id: unescape(parts[0]),
                    contact_id: unescape(parts[1]),
                    official_id: unescape(parts[2]),
                    department: text(parts[3])?,
                    office: text(parts[4])?,
                    service: text(parts[5])?,
                    language: (!parts[6].is_empty()).then(|| unescape(parts[6])),
                    at_ms: 0,
                },
            };
            visits.push(ServiceVisit { at_ms, ..visit });
        }
        Ok(visits)
    }

    pub(super) async fn admit_inbound_impl(
        &self,
        call_sid: &str,
        max_live: u32,
        hold: Duration,
    ) -> Result<Admission> {
        let reply: String = self
            .scripts
            .admit_inbound
            .key(self.keys.inbound_live())
            .arg(call_sid)
            .arg(max_live)
            .arg(millis(hold).max(1))
            .invoke_async(&mut self.conn.clone())
            .await?;
        match reply.as_str() {
            "admitted" => Ok(Admission::Admitted),
            "busy" => Ok(Admission::Busy),
            _ => Err(unexpected("admit_inbound", &[reply])),
        }
    }

    pub(super) async fn release_inbound_impl(&self, call_sid: &str) -> Result<()> {
        let _: i64 = redis::cmd("ZREM")
            .arg(self.keys.inbound_live())
            .arg(call_sid)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    pub(super) async fn start_inbound_impl(
        &self,
        job: &JobRef,
        spec: &JobSpec,
        about: &Attribution,
        call_sid: &str,
        lease: Duration,
    ) -> Result<InboundStart> {
        let (shard, id) = (job.shard, &job.id);
        let key = self.keys.job(shard, id);
        let status = CallStatus::InProgress;
        let reply: Vec<String> = self
            .scripts
            .start_inbound
            .key(&key)
            .key(self.keys.counts(shard, &id.campaign))
            .key(self.keys.inflight(shard))
            .arg(json("job spec", spec)?)
            .arg(spec.contact.official_id.as_str())
            .arg(id.to_string())
            .arg(call_sid)
            .arg(millis(lease))
            .arg(status.as_str())
            .arg(status.rank())
            .arg(json("attribution", about)?)
            .invoke_async(&mut self.conn.clone())
            .await?;
        let (verdict, fields) = verdict("start_inbound", &reply)?;
        let job = Box::new(
            self.job_from(JobFields::from_flat(&key, fields), id, shard)
                .await?,
        );
        match verdict {
            "created" => Ok(InboundStart::Created(job)),
            "existing" => Ok(InboundStart::Existing(job)),
            _ => Err(unexpected("start_inbound", &reply)),
        }
    }
}
