//! Sample claims: the atomic per-contact step behind a campaign's
//! `max_per_office_per_day` (`lua/claim_sample.lua`).

use super::connection::RedisStore;
use crate::domain::ContactId;
use crate::store::{SampleSlot, StoreError};

impl RedisStore {
    pub(super) async fn claim_sample_impl(
        &self,
        slot: &SampleSlot,
        contact: &ContactId,
        cap: u32,
    ) -> Result<bool, StoreError> {
        let held: i64 = self
            .scripts
            .claim_sample
            .key(self.keys.sample_slot(slot))
            .arg(contact.as_str())
            .arg(cap)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(held == 1)
    }
}
