//! An entry as JSON, the same for `sampark dnc check --json` and the admin
//! API: the number masked, times as Unix milliseconds.

use crate::domain::PhoneNumber;
use crate::store::DncEntry;

/// `{"number", "listed", "reason", "added_at_ms", "expires_at_ms"}`
/// (`listed: false` and no more without an entry).
pub fn entry_json(phone: &PhoneNumber, entry: Option<&DncEntry>) -> serde_json::Value {
    match entry {
        None => serde_json::json!({"number": phone.masked(), "listed": false}),
        Some(e) => serde_json::json!({
            "number": phone.masked(),
            "listed": true,
            "reason": e.reason,
            "added_at_ms": e.added_at_ms,
            "expires_at_ms": e.expires_at_ms,
        }),
    }
}
