//! The dialer's first look at a shard whose work may be due
//! (`promote_impl` in `dispatch.rs`): the Redis time, the earliest members
//! of the delayed set and of the schedule, and how many entries the ready
//! streams hold, in one script call (`probe_shard.lua`; every key declared,
//! all in the shard's slot).

use super::connection::RedisStore;
use crate::store::{ShardId, StoreError};

/// What `promote` reads of a shard first: Redis `TIME` (s, µs), the
/// earliest members of the delayed set and of the schedule with their
/// scores, and the lengths of the two ready streams.
pub(super) type ShardHeads = ((i64, i64), Vec<(String, f64)>, Vec<(String, f64)>, u64, u64);

impl RedisStore {
    /// The shard's heads, up to `max + 1` members of each set (one more
    /// than a promotion takes, so the caller learns when the next is due).
    pub(super) async fn shard_heads(
        &self,
        shard: ShardId,
        max: usize,
    ) -> Result<ShardHeads, StoreError> {
        Ok(self
            .scripts
            .probe_shard
            .key(self.keys.delayed(shard))
            .key(self.keys.schedule(shard))
            .key(self.keys.ready(shard))
            .key(self.keys.ready_urgent(shard))
            .arg(max.max(1) + 1)
            .invoke_async(&mut self.conn.clone())
            .await?)
    }
}
