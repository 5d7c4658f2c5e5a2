//! `serve`'s checks of citizen keys before it dials anyone (the counterpart
//! of [`refuse_unless_durable`](super::refuse_unless_durable)):
//!
//! | finding | does |
//! |---|---|
//! | no `policy.citizen_key_secret` | refuses (the caller, before connecting) |
//! | another secret's fingerprint in Redis | refuses: opt-outs and do-not-call entries would not be found |
//! | old opt-out markers left, or not known to be gone | refuses, naming `sampark dnc upgrade`; with `--accept-legacy-optouts` logs an ERROR and starts |
//!
//! The legacy check reads what the last upgrade recorded, or else SCANs at
//! most [`LEGACY_SCAN_BUDGET`] keys (a small or new Redis is checked in
//! full, and the result recorded; a large one without a record needs the
//! upgrade once).

use tracing::error;

use crate::store::redis::{KeyClaim, LegacyOptOuts, RedisStore};

/// Keys `serve` may SCAN at start looking for old opt-out markers.
pub const LEGACY_SCAN_BUDGET: u64 = 200_000;

/// The environment variable that sets `policy.citizen_key_secret`.
pub const SECRET_ENV: &str = "SAMPARK__POLICY__CITIZEN_KEY_SECRET";

/// Why `serve` will not start without a secret, for the operator.
pub fn missing_secret_message() -> String {
    format!(
        "policy.citizen_key_secret is not set. Opt-outs, the do-not-call list and the \
         citizens' call caps are stored under keyed hashes of phone numbers, made with this \
         secret; every instance and tool sharing this Redis needs the same one. Set it with \
         {SECRET_ENV} (at least 16 bytes; generate one with `openssl rand -hex 32`) and keep it \
         safe: a lost secret orphans every opt-out."
    )
}

/// `Err(message)` when `serve` must not start on this store; with
/// `accept_legacy`, old opt-out markers are logged at ERROR instead.
pub async fn refuse_unless_keys_settled(
    store: &RedisStore,
    accept_legacy: bool,
) -> anyhow::Result<Result<(), String>> {
    if store.claim_citizen_key().await? == KeyClaim::Mismatch {
        return Ok(Err(format!(
            "policy.citizen_key_secret is not the secret this Redis's citizen keys were made \
             with (the fingerprint recorded in it differs): with it, opt-outs and do-not-call \
             entries would not be found and those citizens would be called. Start every \
             instance and tool with the same secret ({SECRET_ENV})."
        )));
    }
    let problem = match store.legacy_opt_outs(LEGACY_SCAN_BUDGET).await? {
        LegacyOptOuts::None => return Ok(Ok(())),
        LegacyOptOuts::Found => "this Redis holds opt-out markers written by an earlier version \
             (under a bare SHA-256 tag), which are no longer read: those citizens would be called. \
             Run `sampark dnc upgrade` (add `--numbers FILE` for numbers no job holds any more)"
            .to_owned(),
        LegacyOptOuts::Unmatched(n) => format!(
            "{n} opt-out marker(s) written by an earlier version are left: the last \
             `sampark dnc upgrade` found no number for them, so those citizens would be called. \
             Run `sampark dnc upgrade --numbers FILE` with the numbers that opted out"
        ),
        LegacyOptOuts::Unchecked => format!(
            "whether this Redis holds opt-out markers from an earlier version could not be \
             settled within {LEGACY_SCAN_BUDGET} keys. Run `sampark dnc upgrade` once: it \
             moves them and records the result"
        ),
    };
    if accept_legacy {
        error!(
            problem = %problem,
            "Starting with old opt-out markers not upgraded (--accept-legacy-optouts): citizens who opted out may be called."
        );
        return Ok(Ok(()));
    }
    Ok(Err(format!(
        "{problem}; or start with --accept-legacy-optouts to run anyway."
    )))
}
