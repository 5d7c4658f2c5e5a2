//! Reading and checking the optional `[inbound]` section: the prompts that
//! attribute an inbound call to one of the caller's recent visits.
//!
//! Owns: the section's keys (`confirm`, `option`, `none`, `busy`, all
//! required), which placeholders each may use (`{key}` only in `option`;
//! none at all in `none` and `busy`, which are about no visit in particular), and the rule that the
//! opt-out key is not one of the fixed attribution keys. Does not own: the
//! prompt rules (see `prompts`), the call flow (see `inbound`).

use super::model::{InboundPrompts, Language};
use super::placeholder::{ALL_PLACEHOLDERS, PLACEHOLDERS};
use super::prompts::read_localized_allowing;
use super::tree::{Reader, Table, key_path};

const KEYS: [&str; 4] = ["confirm", "option", "none", "busy"];

/// `[inbound]`: `Some(None)` when absent, `None` when it has problems.
pub(super) fn read_inbound(
    r: &mut Reader<'_>,
    root: &Table<'_, '_>,
    languages: &[Language],
    opt_out: Option<char>,
) -> Option<Option<InboundPrompts>> {
    let Some(v) = root.get("inbound") else {
        return Some(None);
    };
    if let (Some(key), Some(kv)) = (opt_out, root.get("opt_out_key"))
        && InboundPrompts::KEYS.contains(key)
    {
        r.problem(
            kv.span(),
            "opt_out_key",
            format!("`{key}` is one of the fixed `[inbound]` keys (0 = none, 1-8 = a visit)"),
        );
    }
    let t = r.as_table(v, "inbound")?;
    r.unknown_keys(&t, &KEYS);
    let mut prompt = |key: &str, allowed: &[&str]| {
        let value = r.required(&t, key)?;
        read_localized_allowing(r, value, &key_path("inbound", key), languages, allowed)
    };
    let confirm = prompt("confirm", &PLACEHOLDERS);
    let option = prompt("option", &ALL_PLACEHOLDERS);
    let none = prompt("none", &[]);
    let busy = prompt("busy", &[]);
    Some(Some(InboundPrompts {
        confirm: confirm?,
        option: option?,
        none: none?,
        busy: busy?,
    }))
}
