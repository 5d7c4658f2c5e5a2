//! Reading and checking the optional `[bridge]` section: a plan with one is
//! an official's call plan (the official hears a brief, is connected to the
//! citizen, then keys the call's disposition as the plan's questions).
//!
//! Owns: the section's keys (`brief`, `not_reached`, `consent` prompts,
//! `ring_timeout_secs`, `retry_key`), which placeholders each may use, and
//! the rules that tie the section to the rest of the plan (no opt-out key:
//! the official is not the citizen). Does not own: the call flow (see
//! `bridge`).

use super::model::{BridgePrompts, Language};
use super::placeholder::{OFFICIAL_PLACEHOLDERS, PLACEHOLDERS};
use super::prompts::{read_key, read_localized_allowing};
use super::tree::{Reader, Table, key_path};

const KEYS: [&str; 5] = [
    "brief",
    "not_reached",
    "consent",
    "ring_timeout_secs",
    "retry_key",
];
const DEFAULT_RING_TIMEOUT_SECS: u32 = 30;
const DEFAULT_RETRY_KEY: char = '1';

/// `[bridge]`: `Some(None)` when absent, `None` when it has problems.
pub(super) fn read_bridge(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    languages: &[Language],
) -> Option<Option<BridgePrompts>> {
    let Some(v) = root.get("bridge") else {
        return Some(None);
    };
    if let Some(kv) = root.get("opt_out_key") {
        r.problem(
            kv.span(),
            "opt_out_key",
            "a plan with `[bridge]` is keyed by the official, who cannot opt the citizen out",
        );
    }
    if let Some(kv) = root.get("inbound") {
        r.problem(
            kv.span(),
            "inbound",
            "a plan cannot be both an inbound plan and an official's call plan (`[bridge]`)",
        );
    }
    let t = r.as_table(v, "bridge")?;
    r.unknown_keys(&t, &KEYS);
    let mut prompt = |key: &str, allowed: &[&str]| {
        let value = r.required(&t, key)?;
        read_localized_allowing(r, value, &key_path("bridge", key), languages, allowed)
    };
    let brief = prompt("brief", &OFFICIAL_PLACEHOLDERS);
    let not_reached = prompt("not_reached", &OFFICIAL_PLACEHOLDERS);
    let consent = prompt("consent", &PLACEHOLDERS);
    let ring_timeout_secs = match t.get("ring_timeout_secs") {
        None => Some(DEFAULT_RING_TIMEOUT_SECS),
        Some(v) => r.as_int_in(v, &key_path("bridge", "ring_timeout_secs"), 5, 120),
    };
    let retry_key = match t.get("retry_key") {
        None => Some(DEFAULT_RETRY_KEY),
        Some(v) => read_key(r, v, &key_path("bridge", "retry_key")),
    };
    Some(Some(BridgePrompts {
        brief: brief?,
        not_reached: not_reached?,
        consent: consent?,
        ring_timeout_secs: ring_timeout_secs?,
        retry_key: retry_key?,
    }))
}
