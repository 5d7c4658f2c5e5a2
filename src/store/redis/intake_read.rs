//! Submitting to and reading the intake stream. An entry is taken by
//! `intake_read.lua`, which measures it inside Redis first: one larger than
//! `intake.max_document_bytes`, or taken more than `intake.max_deliveries`
//! times, reaches the daemon cut to an excerpt, so a document too large for
//! the daemon's memory is dead-lettered instead of loaded (and, after a
//! crash, loaded again at every start).
//!
//! A blocking `XREADGROUP` would hand over a new entry whole before it
//! could be measured, so the reader looks instead: at once when this
//! instance submitted a document itself, else every [`LOOK_EVERY`] while
//! the stream is empty (one script call, three commands inside it).
//!
//! Each look first takes back this consumer's own unacknowledged entries.
//! The router reads again only after finishing what it read, so such an
//! entry is one whose reply was lost: the script ran in Redis after the
//! client had given up waiting (a stall longer than
//! `redis.response_timeout_ms`). Without this the document would wait for
//! `intake.reclaim_after` untouched.

use std::pin::pin;
use std::time::Duration;

use redis::Value;

use super::connection::{INTAKE_GROUP, RedisStore};
use super::dispatch::millis;
use super::parse::corrupt;
use crate::store::{
    EXCERPT_BYTES, EXCERPT_FIELDS, IntakeEntry, IntakeLimits, RawEntry, StoreError, check_entry,
};

type Result<T> = std::result::Result<T, StoreError>;

/// How often an idle reader looks for documents other processes submitted.
pub(super) const LOOK_EVERY: Duration = Duration::from_secs(2);

impl RedisStore {
    /// Reads intake entries under `limits` (`[intake]`) from now on.
    pub fn with_intake_limits(mut self, limits: IntakeLimits) -> Self {
        self.intake_limits = limits;
        self
    }

    pub(super) async fn submit_impl(&self, document: &str) -> Result<String> {
        let id: String = redis::cmd("XADD")
            .arg(self.keys.intake())
            .arg("*")
            .arg(crate::store::DOCUMENT_FIELD)
            .arg(document)
            .query_async(&mut self.conn.clone())
            .await?;
        self.intake_added.notify_waiters();
        Ok(id)
    }

    pub(super) async fn read_intake_impl(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>> {
        let deadline = tokio::time::Instant::now() + block;
        loop {
            // Register for this instance's own submits before looking, so
            // one landing between the look and the wait is not missed.
            let mut added = pin!(self.intake_added.notified());
            added.as_mut().enable();
            let entries = self.take_intake(consumer, count, reclaim_after).await?;
            let now = tokio::time::Instant::now();
            if !entries.is_empty() || now >= deadline {
                return Ok(entries);
            }
            let wait = LOOK_EVERY.min(deadline - now);
            tokio::select! {
                () = added => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    pub(super) async fn ack_intake_impl(&self, entry_id: &str) -> Result<()> {
        let key = self.keys.intake();
        redis::pipe()
            .cmd("XACK")
            .arg(&key)
            .arg(INTAKE_GROUP)
            .arg(entry_id)
            .ignore()
            .cmd("XDEL")
            .arg(&key)
            .arg(entry_id)
            .ignore()
            .exec_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    /// One call of `intake_read.lua`: the entries taken, each checked.
    async fn take_intake(
        &self,
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>> {
        let key = self.keys.intake();
        let limits = self.intake_limits;
        let reply: Vec<Value> = self
            .with_groups(|| {
                let mut invocation = self.scripts.intake_read.key(&key);
                invocation
                    .arg(INTAKE_GROUP)
                    .arg(consumer)
                    .arg(millis(reclaim_after))
                    .arg(count.max(1))
                    .arg(limits.max_document_bytes)
                    .arg(limits.max_deliveries)
                    .arg(EXCERPT_BYTES)
                    .arg(EXCERPT_FIELDS);
                let mut conn = self.conn.clone();
                async move { invocation.invoke_async(&mut conn).await }
            })
            .await?;
        reply
            .into_iter()
            .map(|entry| {
                raw_entry(entry)
                    .map(|raw| check_entry(raw, &limits))
                    .map_err(|detail| corrupt(&key, detail))
            })
            .collect()
    }
}

/// One entry of `intake_read.lua`'s reply: `{ id, cut, deliveries, bytes,
/// field count, name, value, ... }`.
fn raw_entry(entry: Value) -> std::result::Result<RawEntry, String> {
    let Value::Array(parts) = entry else {
        return Err("intake_read reply: an entry is not an array".to_owned());
    };
    let mut parts = parts.into_iter();
    let mut next = |what: &str| {
        parts
            .next()
            .ok_or_else(|| format!("intake_read reply has no {what}"))
    };
    let number = |value: Value, what: &str| {
        redis::from_redis_value::<u64>(value).map_err(|e| format!("intake_read {what}: {e}"))
    };
    let id: String =
        redis::from_redis_value(next("id")?).map_err(|e| format!("intake_read entry id: {e}"))?;
    let cut = number(next("cut flag")?, "cut flag")? == 1;
    let deliveries = number(next("delivery count")?, "delivery count")?;
    let bytes = number(next("size")?, "size")?;
    let field_count = number(next("field count")?, "field count")?;
    let texts: Vec<Vec<u8>> = parts
        .map(|value| match value {
            Value::BulkString(bytes) => Ok(bytes),
            other => Err(format!("intake_read field is not a string: {other:?}")),
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut fields = Vec::with_capacity(texts.len() / 2);
    let mut texts = texts.into_iter();
    while let (Some(name), Some(value)) = (texts.next(), texts.next()) {
        fields.push((name, value));
    }
    Ok(RawEntry {
        id,
        cut,
        deliveries,
        bytes,
        field_count,
        fields,
    })
}
