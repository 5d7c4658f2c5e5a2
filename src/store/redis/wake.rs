//! The wake stream (`<prefix>:wakes`): how one instance tells the others
//! that it made work for them (`store/work.rs`, `WakeFeed`), and the
//! in-flight heads the reconciler sleeps on.
//!
//! A stream rather than pub/sub: a reader that lost its connection goes on
//! from the last entry it saw, so no wake is lost to a reconnect, and the
//! same `XADD`/`XREAD` work in every `redis.mode` (on a cluster the stream
//! is one key in one slot). Each entry is `from` (the writing store, whose
//! own reader skips it) and either `d` (shards, comma-separated, with work
//! due now) or `h` (a hang-up was asked for). Trimmed to about
//! [`KEEP`] entries; a reader further behind than that (down for a while)
//! looks over every shard anyway when it comes back (`daemon/wake.rs`).
//!
//! Leaving a wake is one `XADD` after the store call that made the work
//! (an enqueue batch, a resume, a cancel with hang-up), never inside the
//! hot path's scripts; a failed `XADD` is logged and the work found by the
//! other instances' look-overs instead (`dialer.poll_interval_ms`).

use std::time::Duration;

use redis::streams::{StreamRangeReply, StreamReadReply};

use super::connection::RedisStore;
use crate::store::{InFlightHeads, ShardId, StoreError, Wake, WakeFeed};

type Result<T> = std::result::Result<T, StoreError>;

/// About how many wakes the stream keeps (`MAXLEN ~`).
const KEEP: usize = 1_000;

impl RedisStore {
    /// Leaves `wake` for the other instances (see the module docs). Best
    /// effort: the work is in Redis already, and look-overs find it.
    pub(super) async fn leave_wake(&self, wake: &Wake) {
        let (field, value) = match wake {
            Wake::Shards(shards) if shards.is_empty() => return,
            Wake::Shards(shards) => {
                let mut shards = shards.clone();
                shards.sort_unstable();
                shards.dedup();
                let list: Vec<String> = shards.iter().map(ShardId::to_string).collect();
                ("d", list.join(","))
            }
            Wake::Hangup => ("h", "1".to_owned()),
        };
        let added: redis::RedisResult<String> = redis::cmd("XADD")
            .arg(self.keys.wakes())
            .arg("MAXLEN")
            .arg("~")
            .arg(KEEP)
            .arg("*")
            .arg("from")
            .arg(&self.relay_consumer)
            .arg(field)
            .arg(value)
            .query_async(&mut self.conn.clone())
            .await;
        if let Err(e) = added {
            tracing::warn!(error = %e, "Could not wake the other instances; they find the work on their next look-over.");
        }
    }

    /// One pipeline: `TIME`, then per shard the first member of its
    /// in-flight set and the set's size.
    pub(super) async fn in_flight_heads_impl(&self) -> Result<InFlightHeads> {
        let mut pipe = redis::pipe();
        pipe.cmd("TIME");
        for shard in 0..self.shards {
            let key = self.keys.inflight(shard);
            pipe.cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(0)
                .arg("WITHSCORES")
                .cmd("ZCARD")
                .arg(&key);
        }
        let reply: Vec<redis::Value> = pipe.query_async(&mut self.conn.clone()).await?;
        let key = self.keys.inflight(0);
        let mut reply = reply.into_iter();
        let (secs, micros): (i64, i64) = parse_reply(&key, reply.next())?;
        let mut heads = InFlightHeads {
            now_ms: secs * 1000 + micros / 1000,
            next_deadline_ms: Vec::with_capacity(usize::from(self.shards)),
            count: 0,
        };
        for _ in 0..self.shards {
            let first: Vec<(String, f64)> = parse_reply(&key, reply.next())?;
            let size: u64 = parse_reply(&key, reply.next())?;
            // Deadlines are whole milliseconds.
            heads
                .next_deadline_ms
                .push(first.first().map(|(_, score)| *score as i64));
            heads.count += size;
        }
        Ok(heads)
    }
}

/// One reply of a pipeline read from `key`'s family.
fn parse_reply<T: redis::FromRedisValue>(key: &str, v: Option<redis::Value>) -> Result<T> {
    redis::from_redis_value(v.unwrap_or(redis::Value::Nil))
        .map_err(|e| super::parse::corrupt(key, e.to_string()))
}

/// The wake in one stream entry, if it is one another store left.
fn wake_of(entry: &redis::streams::StreamId, me: &str) -> Option<Wake> {
    if entry.get::<String>("from").as_deref() == Some(me) {
        return None;
    }
    if entry.contains_key("h") {
        return Some(Wake::Hangup);
    }
    let shards: String = entry.get("d")?;
    Some(Wake::Shards(
        shards.split(',').filter_map(|s| s.parse().ok()).collect(),
    ))
}

#[async_trait::async_trait]
impl WakeFeed for RedisStore {
    async fn wake_tail(&self) -> Result<String> {
        let last: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(self.keys.wakes())
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(last
            .ids
            .into_iter()
            .next()
            .map_or_else(|| "0-0".to_owned(), |e| e.id))
    }

    async fn read_wakes(&self, after: &str, block: Duration) -> Result<(String, Vec<Wake>)> {
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT").arg(KEEP);
        // BLOCK 0 would mean "forever".
        read.arg("BLOCK").arg(block.as_millis().max(1) as u64);
        read.arg("STREAMS").arg(self.keys.wakes()).arg(after);
        let limit = block + self.response_timeout;
        let mut conn = self.wakes.clone();
        let reply: Option<StreamReadReply> =
            match tokio::time::timeout(limit, read.query_async(&mut conn)).await {
                Ok(reply) => reply?,
                Err(_) => {
                    return Err(StoreError::from(redis::RedisError::from(
                        std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "blocking wake read outlived its BLOCK time",
                        ),
                    )));
                }
            };
        let entries: Vec<_> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        let position = entries
            .last()
            .map_or_else(|| after.to_owned(), |e| e.id.clone());
        let wakes = entries
            .iter()
            .filter_map(|e| wake_of(e, &self.relay_consumer))
            .collect();
        Ok((position, wakes))
    }
}
