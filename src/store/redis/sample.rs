//! Sample claims: the atomic step behind a campaign's
//! `max_per_office_per_day` (`lua/claim_sample.lua`), one script call per
//! (office, day) slot, pipelined.

use super::connection::RedisStore;
use super::parse::unexpected;
use crate::domain::ContactId;
use crate::store::{SampleSlot, StoreError};

/// Slots per pipeline.
const SLOTS_PER_PIPELINE: usize = 256;

impl RedisStore {
    pub(super) async fn claim_samples_impl(
        &self,
        claims: &[(&SampleSlot, Vec<&ContactId>)],
        cap: u32,
    ) -> Result<Vec<Vec<bool>>, StoreError> {
        let script = &self.scripts.claim_sample;
        let mut held = Vec::with_capacity(claims.len());
        for chunk in claims.chunks(SLOTS_PER_PIPELINE) {
            let mut pipe = redis::pipe();
            // Loading in the same pipeline makes EVALSHA safe after a Redis
            // restart or SCRIPT FLUSH.
            pipe.cmd("SCRIPT")
                .arg("LOAD")
                .arg(super::scripts::CLAIM_SAMPLE)
                .ignore();
            for (slot, contacts) in chunk {
                let cmd = pipe
                    .cmd("EVALSHA")
                    .arg(script.get_hash())
                    .arg(1)
                    .arg(self.keys.sample_slot(slot))
                    .arg(cap);
                for contact in contacts {
                    cmd.arg(contact.as_str());
                }
            }
            let replies: Vec<Vec<i64>> = pipe.query_async(&mut self.conn.clone()).await?;
            for (reply, (_, contacts)) in replies.into_iter().zip(chunk) {
                if reply.len() != contacts.len() {
                    let reply: Vec<String> = reply.iter().map(ToString::to_string).collect();
                    return Err(unexpected("claim_sample", &reply));
                }
                held.push(reply.into_iter().map(|place| place == 1).collect());
            }
        }
        Ok(held)
    }
}
