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

/// A day in milliseconds: visit buckets are per UTC day.
const DAY_MS: i64 = 86_400_000;
/// The longest `inbound.lookback_days` allowed (`config/validate.rs`).
const LONGEST_LOOKBACK_DAYS: i64 = 366;

/// Now, on the daemon's clock (ms since the epoch).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Today's visit buckets' day (days since the epoch, UTC).
fn today() -> i64 {
    now_ms().div_euclid(DAY_MS)
}

/// A pipeline's visits, sorted by bucket, in script calls: at most
/// `VISITS_PER_CALL` each on a single node, one bucket's each on a cluster.
fn calls<T>(placed: &[(String, Vec<u8>, T)], cluster: bool) -> Vec<&[(String, Vec<u8>, T)]> {
    if !cluster {
        return placed.chunks(VISITS_PER_CALL).collect();
    }
    placed
        .chunk_by(|a, b| a.0 == b.0)
        .flat_map(|bucket| bucket.chunks(VISITS_PER_CALL))
        .collect()
}

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Refused(format!("{what} does not serialize: {e}")))
}

/// A remembered visit as a visit bucket's field holds it, behind the time
/// it was made known (`lua/record_visit.lua`): short, about 30 bytes for
/// ids of ordinary length (~1,200 bytes a citizen while visits were JSON).
/// The campaign, official, department, office and service are ids in the
/// visit text table (`Keys::visit_texts`); the contact id is as the
/// contact gave it (only letters, digits, `.`, `_`, `-`); the language is
/// escaped as in the compact job (`redis/compact.rs`), which keeps both
/// separators out of it:
///
/// ```text
/// <campaign id> US <contact> US <official id> US <department id> US <office id> US <service id> US <language>
/// ```
///
/// The sets of earlier versions (`Keys::visits`) held the campaign and
/// official themselves, escaped, in the same places, or a JSON object.
struct VisitMember;

impl VisitMember {
    const FIELDS: usize = 7;

    /// The texts a visit names by id, in the order `pack` takes their ids.
    fn texts(visit: &ServiceVisit) -> [&str; 5] {
        [
            &visit.campaign_id,
            &visit.official_id,
            &visit.department,
            &visit.office,
            &visit.service,
        ]
    }

    fn pack(visit: &ServiceVisit, ids: &[String]) -> String {
        [
            ids[0].clone(),
            escape(&visit.contact_id),
            ids[1].clone(),
            ids[2].clone(),
            ids[3].clone(),
            ids[4].clone(),
            escape(visit.language.as_deref().unwrap_or_default()),
        ]
        .join(&US.to_string())
    }

    /// A stored member: packed, or the JSON object earlier versions wrote
    /// (kept readable until those expire, `inbound.lookback_days`).
    fn read(member: &str, layout: Layout) -> std::result::Result<StoredVisit<'_>, String> {
        if layout == Layout::Earlier && member.starts_with('{') {
            return serde_json::from_str(member)
                .map(StoredVisit::Json)
                .map_err(|e| format!("a visit is not valid JSON: {e}"));
        }
        let parts: Vec<&str> = member.split(US).collect();
        if parts.len() == Self::FIELDS {
            Ok(StoredVisit::Packed(parts, layout))
        } else {
            Err(format!(
                "a visit has {} fields, not {}",
                parts.len(),
                Self::FIELDS
            ))
        }
    }
}

/// Where a remembered visit was read: a day's bucket, or a set an earlier
/// version kept per citizen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Buckets,
    Earlier,
}

/// One of a citizen's remembered visits, as read.
enum StoredVisit<'a> {
    /// `VisitMember`'s fields.
    Packed(Vec<&'a str>, Layout),
    Json(ServiceVisit),
}

impl StoredVisit<'_> {
    /// The ids of the visit text table it names, in the order they are
    /// read back.
    fn text_ids(&self) -> Vec<&str> {
        match self {
            Self::Packed(parts, Layout::Buckets) => {
                vec![parts[0], parts[2], parts[3], parts[4], parts[5]]
            }
            Self::Packed(parts, Layout::Earlier) => parts[3..6].to_vec(),
            Self::Json(_) => Vec::new(),
        }
    }
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
    /// (one script call), then `record_visit.lua` for at most
    /// `VISITS_PER_CALL` at a time, grouped by visit bucket so that a call
    /// sets few buckets' expiry (on a cluster, a call per bucket: each is
    /// in a slot of its own), pipelined. The day is the daemon's clock's;
    /// a bucket expires a day after the lookback ends, and readers look a
    /// day either side, so a clock a little off Redis's loses nothing.
    pub(super) async fn record_visits_impl(
        &self,
        visits: &[(&PhoneNumber, ServiceVisit)],
        keep: Duration,
    ) -> Result<()> {
        let script = &self.scripts.record_visit;
        let keep_ms = millis(keep).max(1);
        let day = today();
        let expires_at = (day + 2) * DAY_MS + keep_ms;
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
            let mut placed: Vec<(String, Vec<u8>, &ServiceVisit)> = chunk
                .iter()
                .map(|(phone, visit)| {
                    let tag = self.keys.citizen_tag(phone);
                    (
                        self.keys.visit_bucket(&tag, day),
                        self.keys.visit_field(&tag),
                        visit,
                    )
                })
                .collect();
            placed.sort_by(|a, b| a.0.cmp(&b.0));
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a
            // Redis restart or SCRIPT FLUSH.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::RECORD_VISIT)
                .ignore();
            for call in calls(&placed, self.conn.is_cluster()) {
                let mut buckets: Vec<&str> =
                    call.iter().map(|(bucket, _, _)| bucket.as_str()).collect();
                buckets.dedup();
                let cmd = pipe
                    .cmd("EVALSHA")
                    .arg(script.get_hash())
                    .arg(buckets.len());
                for bucket in &buckets {
                    cmd.arg(*bucket);
                }
                cmd.arg(keep_ms).arg(expires_at).arg(day * DAY_MS);
                let mut index = 0;
                for (bucket, field, visit) in call {
                    if buckets[index] != bucket.as_str() {
                        index += 1;
                    }
                    let visit_ids = VisitMember::texts(visit).map(|text| ids[text].clone());
                    cmd.arg(index + 1)
                        .arg(field)
                        .arg(VisitMember::pack(visit, &visit_ids));
                }
                cmd.ignore();
            }
            let () = pipe.query_async(&mut self.conn.clone()).await?;
        }
        Ok(())
    }

    /// The citizen's visits: the day buckets the window may cover (one
    /// script call) and the set earlier versions kept (one `ZRANGE`, until
    /// those expire), together; then the texts they name (one `HMGET` of
    /// the text table).
    pub(super) async fn recent_visits_impl(
        &self,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Result<Vec<ServiceVisit>> {
        let tag = self.keys.citizen_tag(phone);
        let within_ms = millis(within);
        let (today, now_ms) = (today(), now_ms());
        let mut invocation = self.scripts.recent_visits.prepare_invoke();
        // No bucket outlives the longest lookback (`inbound.lookback_days`).
        let first_day =
            ((now_ms - within_ms).div_euclid(DAY_MS) - 1).max(today - LONGEST_LOOKBACK_DAYS - 1);
        for day in first_day..=today + 1 {
            invocation.key(self.keys.visit_bucket(&tag, day));
        }
        invocation
            .arg(self.keys.visit_field(&tag))
            .arg(within_ms)
            .arg(max.max(1))
            .arg(first_day * DAY_MS);
        let legacy = self.keys.visits(phone);
        let mut earlier_read = redis::cmd("ZRANGE");
        earlier_read
            .arg(&legacy)
            .arg("+inf")
            .arg(now_ms - within_ms)
            .arg("BYSCORE")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(max.max(1))
            .arg("WITHSCORES");
        let (mut buckets_conn, mut earlier_conn) = (self.conn.clone(), self.conn.clone());
        let (flat, earlier): (Vec<String>, Vec<(String, f64)>) = tokio::try_join!(
            invocation.invoke_async(&mut buckets_conn),
            earlier_read.query_async(&mut earlier_conn)
        )?;
        let mut found: Vec<(&str, i64, Layout)> =
            Vec::with_capacity(flat.len() / 2 + earlier.len());
        for pair in flat.chunks_exact(2) {
            let at_ms = pair[1].parse::<i64>().map_err(|e| {
                corrupt(
                    &tag,
                    format!("a remembered visit's time {:?}: {e}", pair[1]),
                )
            })?;
            found.push((&pair[0], at_ms, Layout::Buckets));
        }
        found.extend(
            earlier
                .iter()
                .map(|(member, score)| (member.as_str(), *score as i64, Layout::Earlier)),
        );
        // Newest first across both.
        found.sort_by_key(|&(_, at_ms, _)| std::cmp::Reverse(at_ms));
        let mut members = Vec::with_capacity(found.len());
        for (member, at_ms, layout) in found {
            members.push((
                VisitMember::read(member, layout).map_err(|e| corrupt(&tag, e))?,
                at_ms,
            ));
        }
        // One lookup for every text the packed members name.
        let ids: Vec<String> = members
            .iter()
            .flat_map(|(member, _)| member.text_ids())
            .map(|id| format!("#{id}"))
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
        // Each visit once, at its latest (they are newest first): a
        // document ingested again after an upgrade is in both a bucket and
        // an earlier set. Compared without their times.
        let mut visits: Vec<(ServiceVisit, i64)> = Vec::with_capacity(members.len());
        for (member, at_ms) in members {
            let visit = match member {
                StoredVisit::Json(visit) => visit,
                StoredVisit::Packed(parts, layout) => {
                    // In `text_ids`'s order.
                    let (campaign_id, official_id) = match layout {
                        Layout::Buckets => (text(parts[0])?, text(parts[2])?),
                        Layout::Earlier => (unescape(parts[0]), unescape(parts[2])),
                    };
                    ServiceVisit {
                        campaign_id,
                        contact_id: unescape(parts[1]),
                        official_id,
                        department: text(parts[3])?,
                        office: text(parts[4])?,
                        service: text(parts[5])?,
                        language: (!parts[6].is_empty()).then(|| unescape(parts[6])),
                        at_ms: 0,
                    }
                }
            };
            if !visits.iter().any(|(seen, _)| *seen == visit) {
                visits.push((visit, at_ms));
            }
        }
        Ok(visits
            .into_iter()
            .take(max.max(1))
            .map(|(visit, at_ms)| ServiceVisit { at_ms, ..visit })
            .collect())
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
