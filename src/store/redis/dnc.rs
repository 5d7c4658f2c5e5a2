//! The do-not-call list on Redis: one hash per citizen tag (`Keys::dnc`,
//! read by `authorize.lua`), written by `dnc_put.lua`, and an index ZSET
//! (`Keys::dnc_index`) that makes counting the list cheap.
//!
//! The entry and the index are in different Cluster slots, so no script
//! touches both: each change is made in two round trips, ordered so that a
//! step lost halfway (Redis gone between them) can only leave an index
//! member without a live entry. That overstates `dnc_count` until the same
//! change is made again; it never lets a number be called. Dialling and
//! `dnc_check` read only the entry.

use super::connection::{RedisStore, has_code};
use super::parse::unexpected;
use crate::domain::PhoneNumber;
use crate::store::{DncEntry, DncRequest, DncWrite, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Entries per pipeline: bounds the memory of one round trip.
const BATCH: usize = 1_000;

impl RedisStore {
    pub(super) async fn dnc_put_impl(&self, requests: &[DncRequest]) -> Result<Vec<DncWrite>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // An expiry already past stores nothing. Decided here, on the
        // store's clock, rather than in the script: a script refusing after
        // the index was written would leave the index wrong for a live
        // entry. An expiry that passes while the pipeline runs is written
        // and lapses at once, entry and index alike.
        let now_ms = self.now_ms_impl().await?;
        let mut writes = vec![DncWrite::Lapsed; requests.len()];
        let live: Vec<(usize, &DncRequest)> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.expires_at_ms.is_none_or(|t| t > now_ms))
            .collect();
        if live.is_empty() {
            return Ok(writes);
        }
        // Pipelines call the script by its hash: load it once first, and
        // again should Redis forget it (a restart) between batches.
        let mut conn = self.conn.clone();
        self.scripts.dnc_put.load_async(&mut conn).await?;
        for batch in live.chunks(BATCH) {
            let replies = match self.dnc_put_batch(batch).await {
                Err(e) if has_code(&e, "NOSCRIPT") => {
                    self.scripts.dnc_put.load_async(&mut conn).await?;
                    self.dnc_put_batch(batch).await?
                }
                other => other?,
            };
            if replies.len() != batch.len() {
                return Err(unexpected("dnc_put", &replies));
            }
            for ((index, _), reply) in batch.iter().zip(&replies) {
                writes[*index] = match reply.as_str() {
                    "added" => DncWrite::Added,
                    "updated" => DncWrite::Updated,
                    _ => return Err(unexpected("dnc_put", std::slice::from_ref(reply))),
                };
            }
        }
        Ok(writes)
    }

    /// Two round trips: the batch's index members, then its entries (on a
    /// cluster they are in different slots, where one pipeline would keep no
    /// order between them); the script's verdicts in order.
    async fn dnc_put_batch(
        &self,
        batch: &[(usize, &DncRequest)],
    ) -> std::result::Result<Vec<String>, redis::RedisError> {
        let mut index = redis::pipe();
        let mut entries = redis::pipe();
        for (_, request) in batch {
            let tag = self.keys.citizen_tag(&request.phone);
            let (score, expires) = match request.expires_at_ms {
                Some(at) => (at.to_string(), at.to_string()),
                None => ("+inf".to_owned(), String::new()),
            };
            index
                .cmd("ZADD")
                .arg(self.keys.dnc_index())
                .arg(score)
                .arg(&tag)
                .ignore();
            entries
                .cmd("EVALSHA")
                .arg(self.scripts.dnc_put.get_hash())
                .arg(1)
                .arg(self.keys.dnc(&tag))
                .arg(&request.reason)
                .arg(expires);
        }
        index.exec_async(&mut self.conn.clone()).await?;
        entries.query_async(&mut self.conn.clone()).await
    }

    pub(super) async fn dnc_remove_impl(&self, phone: &PhoneNumber) -> Result<bool> {
        let tag = self.keys.citizen_tag(phone);
        let key = self.keys.dnc(&tag);
        // The entry first, then the index (see the module header), in two
        // round trips: on a cluster the two keys are in different slots,
        // where a pipeline keeps no order between them.
        let (time, lapses, deleted): ((i64, i64), Option<i64>, i64) = redis::pipe()
            .cmd("TIME")
            .cmd("HGET")
            .arg(&key)
            .arg("expires_at_ms")
            .cmd("DEL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        redis::cmd("ZREM")
            .arg(self.keys.dnc_index())
            .arg(&tag)
            .exec_async(&mut self.conn.clone())
            .await?;
        let now_ms = time.0 * 1000 + time.1 / 1000;
        Ok(deleted == 1 && lapses.is_none_or(|t| now_ms < t))
    }

    pub(super) async fn dnc_check_impl(&self, phone: &PhoneNumber) -> Result<Option<DncEntry>> {
        let key = self.keys.dnc(&self.keys.citizen_tag(phone));
        let (time, fields): ((i64, i64), Vec<Option<String>>) = redis::pipe()
            .cmd("TIME")
            .cmd("HMGET")
            .arg(&key)
            .arg("reason")
            .arg("added_at_ms")
            .arg("expires_at_ms")
            .query_async(&mut self.conn.clone())
            .await?;
        let now_ms = time.0 * 1000 + time.1 / 1000;
        let [reason, added, lapses] =
            <[Option<String>; 3]>::try_from(fields).map_err(|f| StoreError::Corrupt {
                key: key.clone(),
                detail: format!("HMGET replied {} fields", f.len()),
            })?;
        let Some(added) = added else {
            return Ok(None);
        };
        let number = |field: &str, text: &str| {
            text.parse::<i64>().map_err(|_| StoreError::Corrupt {
                key: key.clone(),
                detail: format!("{field} is not a number"),
            })
        };
        let entry = DncEntry {
            reason: reason.unwrap_or_default(),
            added_at_ms: number("added_at_ms", &added)?,
            expires_at_ms: lapses
                .as_deref()
                .map(|t| number("expires_at_ms", t))
                .transpose()?,
        };
        Ok(entry.is_live(now_ms).then_some(entry))
    }

    pub(super) async fn dnc_count_impl(&self) -> Result<u64> {
        Ok(self
            .scripts
            .dnc_count
            .key(self.keys.dnc_index())
            .invoke_async(&mut self.conn.clone())
            .await?)
    }
}
