//! Putting numbers on the do-not-call list, one or a whole file, the same
//! way for the CLI and the admin API: expiries are resolved against the
//! store's clock, and an entry that would already have lapsed is refused
//! rather than stored.

use serde::Serialize;

use super::expiry::Expiry;
use super::list::{LineProblem, parse_list};
use crate::domain::PhoneNumber;
use crate::store::{DncRequest, DncWrite, Store, StoreError};

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Numbers that were not on the list.
    pub added: u64,
    /// Numbers already on the list (or given twice): reason and expiry
    /// replaced.
    pub updated: u64,
    /// Lines refused, in file order; every other line was imported.
    pub invalid: Vec<LineProblem>,
}

/// Why a single number could not be put on the list.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("the expiry is not in the future")]
    Lapsed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts one number on the list.
pub async fn put_number(
    store: &dyn Store,
    phone: PhoneNumber,
    reason: String,
    expires: Option<Expiry>,
) -> Result<DncWrite, PutError> {
    let now_ms = store.now_ms().await?;
    let request = DncRequest {
        phone,
        reason,
        expires_at_ms: expires.map(|e| e.at(now_ms)),
    };
    match store.dnc_put(std::slice::from_ref(&request)).await?.first() {
        Some(DncWrite::Lapsed) => Err(PutError::Lapsed),
        Some(write) => Ok(*write),
        None => Err(StoreError::Refused("the store replied to no entry".into()).into()),
    }
}

/// Imports a file in the format of `list.rs`: every good line is put on the
/// list, every bad one reported.
pub async fn import_list(store: &dyn Store, text: &str) -> Result<ImportReport, StoreError> {
    let parsed = parse_list(text);
    let mut report = ImportReport {
        invalid: parsed.problems,
        ..ImportReport::default()
    };
    if parsed.entries.is_empty() {
        return Ok(report);
    }
    let now_ms = store.now_ms().await?;
    let requests: Vec<DncRequest> = parsed
        .entries
        .iter()
        .map(|e| DncRequest {
            phone: e.phone.clone(),
            reason: e.reason.clone(),
            expires_at_ms: e.expires.map(|x| x.at(now_ms)),
        })
        .collect();
    let writes = store.dnc_put(&requests).await?;
    if writes.len() != requests.len() {
        return Err(StoreError::Refused(format!(
            "the store replied to {} of {} entries",
            writes.len(),
            requests.len()
        )));
    }
    for (entry, write) in parsed.entries.iter().zip(writes) {
        match write {
            DncWrite::Added => report.added += 1,
            DncWrite::Updated => report.updated += 1,
            DncWrite::Lapsed => report.invalid.push(LineProblem {
                line: entry.line,
                error: "the expiry is not in the future".into(),
            }),
        }
    }
    report.invalid.sort_by_key(|p| p.line);
    Ok(report)
}
