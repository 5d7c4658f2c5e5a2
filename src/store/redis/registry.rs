//! The officials' registry on Redis: one hash (`Keys::officials`), field the
//! official id, value the official's compact JSON (`Official::to_stored`).
//! An import is one `put_officials.lua` call, so it lands whole or not at
//! all; reads are plain `HGET` / `HGETALL`, filtered and sorted here.

use std::collections::HashMap;

use super::connection::RedisStore;
use crate::domain::{Official, OfficialId};
use crate::store::{ImportSummary, OfficialQuery, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

impl RedisStore {
    pub(super) async fn put_officials_impl(&self, officials: &[Official]) -> Result<ImportSummary> {
        if officials.is_empty() {
            return Ok(ImportSummary::default());
        }
        let mut invocation = self.scripts.put_officials.key(self.keys.officials());
        for official in officials {
            invocation
                .arg(official.official_id().as_str())
                .arg(official.to_stored());
        }
        let (created, updated, unchanged): (u64, u64, u64) =
            invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(ImportSummary {
            created,
            updated,
            unchanged,
        })
    }

    pub(super) async fn official_impl(&self, id: &OfficialId) -> Result<Option<Official>> {
        let key = self.keys.officials();
        let stored: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg(id.as_str())
            .query_async(&mut self.conn.clone())
            .await?;
        stored
            .map(|text| parse(&key, id.as_str(), &text))
            .transpose()
    }

    pub(super) async fn officials_impl(&self, query: &OfficialQuery) -> Result<Vec<Official>> {
        let key = self.keys.officials();
        let all: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await?;
        let mut officials = Vec::with_capacity(all.len());
        for (id, text) in &all {
            let official = parse(&key, id, text)?;
            if query.matches(&official) {
                officials.push(official);
            }
        }
        officials.sort_by(|a, b| a.official_id().cmp(b.official_id()));
        Ok(officials)
    }

    pub(super) async fn remove_official_impl(&self, id: &OfficialId) -> Result<bool> {
        let removed: u64 = redis::cmd("HDEL")
            .arg(self.keys.officials())
            .arg(id.as_str())
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(removed == 1)
    }
}

/// One stored official; the error names the field, never the number.
fn parse(key: &str, id: &str, text: &str) -> Result<Official> {
    let official = Official::from_stored(text).map_err(|detail| StoreError::Corrupt {
        key: key.to_owned(),
        detail: format!("official {id:?}: {detail}"),
    })?;
    if official.official_id().as_str() != id {
        return Err(StoreError::Corrupt {
            key: key.to_owned(),
            detail: format!(
                "field {id:?} holds official {:?}",
                official.official_id().as_str()
            ),
        });
    }
    Ok(official)
}
