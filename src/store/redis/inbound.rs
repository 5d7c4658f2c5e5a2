//! Inbound calls: citizens' remembered visits, the fleet-wide cap on live
//! inbound calls, and the job an inbound call is born with.

use std::time::Duration;

use super::connection::RedisStore;
use super::dispatch::millis;
use super::parse::{JobFields, corrupt, unexpected, verdict};
use crate::domain::{Attribution, CallStatus, JobSpec, PhoneNumber};
use crate::store::{Admission, InboundStart, JobRef, ServiceVisit, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Visits per pipeline.
const VISITS_PER_PIPELINE: usize = 5_000;

fn json<T: serde::Serialize>(what: &str, value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Refused(format!("{what} does not serialize: {e}")))
}

impl RedisStore {
    /// One `record_visit.lua` call per visit (each citizen's key is in a
    /// slot of its own), pipelined by `VISITS_PER_PIPELINE`.
    pub(super) async fn record_visits_impl(
        &self,
        visits: &[(&PhoneNumber, ServiceVisit)],
        keep: Duration,
    ) -> Result<()> {
        let script = &self.scripts.record_visit;
        for chunk in visits.chunks(VISITS_PER_PIPELINE) {
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a
            // Redis restart or SCRIPT FLUSH.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::RECORD_VISIT)
                .ignore();
            for (phone, visit) in chunk {
                pipe.cmd("EVALSHA")
                    .arg(script.get_hash())
                    .arg(1)
                    .arg(self.keys.visits(phone))
                    .arg(json("visit", visit)?)
                    .arg(millis(keep).max(1))
                    .ignore();
            }
            let () = pipe.query_async(&mut self.conn.clone()).await?;
        }
        Ok(())
    }

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
        flat.chunks_exact(2)
            .map(|pair| {
                let mut visit: ServiceVisit = serde_json::from_str(&pair[0])
                    .map_err(|e| corrupt(&key, format!("a visit is not valid JSON: {e}")))?;
                visit.at_ms = pair[1]
                    .parse::<f64>()
                    .map_err(|e| corrupt(&key, format!("a visit's score {:?}: {e}", pair[1])))?
                    as i64;
                Ok(visit)
            })
            .collect()
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
