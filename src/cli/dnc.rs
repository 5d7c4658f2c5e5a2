//! `sampark dnc add|remove|check|import|count|upgrade`: the do-not-call
//! list, managed in Redis directly (no daemon needed; every instance honours
//! a change at its next authorisation). Numbers are accepted in the Indian
//! forms of `PhoneNumber::from_indian_input`, stored only as keyed tags, and
//! printed masked.
//!
//! Every command needs the citizen-key secret the daemons use
//! (`SAMPARK__POLICY__CITIZEN_KEY_SECRET`), and refuses one that is not the
//! secret recorded in Redis: an entry keyed under another secret would be
//! silently ignored.
//!
//! Exit codes: 0 done; 2 bad input (for `import`: some lines, the rest were
//! imported); 3 the number is not on the list (`check`, `remove`) or old
//! opt-out markers are left (`upgrade`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::campaign::RedisArgs;
use crate::config::Secret;
use crate::daemon::{SECRET_ENV, missing_secret_message};
use crate::dnc::{
    Expiry, PutError, check_reason, entry_json, format_ist, import_list, parse_list, put_number,
};
use crate::domain::PhoneNumber;
use crate::store::keys::CitizenKey;
use crate::store::redis::{KeyClaim, RedisStore};
use crate::store::{DncEntry, DncWrite, Store};

/// Where the store is, and the secret its citizen keys are made with.
#[derive(Debug, Args)]
pub struct CitizenArgs {
    #[command(flatten)]
    redis: RedisArgs,
    /// The citizen-key secret (`policy.citizen_key_secret`), the same as the
    /// daemons'. Prefer the environment variable: a command line can be read
    /// by other users of the machine.
    #[arg(
        long = "citizen-key-secret",
        env = "SAMPARK__POLICY__CITIZEN_KEY_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        value_parser = parse_secret
    )]
    secret: Option<Secret>,
}

/// Wraps the secret without checking it: clap would print a refused value,
/// so `connect` checks it and says why without showing it.
fn parse_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(text))
}

impl CitizenArgs {
    /// The store, with the citizen-key secret given, or else the settings
    /// file's (`--config`).
    pub(super) async fn connect(&self) -> anyhow::Result<RedisStore> {
        let settings = self.redis.settings()?;
        let secret = self
            .secret
            .as_ref()
            .or_else(|| settings.as_ref()?.policy.citizen_key_secret.as_ref())
            .with_context(missing_secret_message)?;
        let key =
            CitizenKey::new(secret.expose()).map_err(|e| anyhow::anyhow!("{SECRET_ENV}: {e}"))?;
        let store = match &settings {
            Some(settings) => super::configured::connect(settings).await?,
            None => self.redis.connect().await?,
        }
        .with_citizen_key(key);
        anyhow::ensure!(
            store.claim_citizen_key().await? != KeyClaim::Mismatch,
            "the citizen-key secret given ({SECRET_ENV}) is not the one this Redis's citizen \
             keys were made with; use the daemons' secret"
        );
        Ok(store)
    }
}

#[derive(Debug, Subcommand)]
pub enum DncCommand {
    /// Put a number on the list (again: replace its reason and expiry).
    Add {
        number: String,
        /// Why (free text, at most 200 characters).
        #[arg(long, default_value = "")]
        reason: String,
        /// When the entry lapses: a date (2026-12-31: through that day,
        /// IST), an RFC 3339 time, or a duration (90d, 12h). Default never.
        #[arg(long)]
        expires: Option<String>,
        #[command(flatten)]
        store: CitizenArgs,
    },
    /// Take a number off the list.
    Remove {
        number: String,
        #[command(flatten)]
        store: CitizenArgs,
    },
    /// Say whether a number is on the list, and why.
    Check {
        number: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: CitizenArgs,
    },
    /// Put every number of a file on the list: one number per line, or CSV
    /// lines `phone[,reason[,expires]]`. Bad lines are reported by line
    /// number; the rest are imported.
    Import {
        file: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: CitizenArgs,
    },
    /// How many numbers are on the list.
    Count {
        #[command(flatten)]
        store: CitizenArgs,
    },
    /// Move opt-out markers written by earlier versions (bare SHA-256 tags)
    /// to keyed ones, finding their numbers in the jobs in Redis and in
    /// `--numbers`. Idempotent; run it with every daemon stopped or upgraded.
    Upgrade {
        /// More numbers that may have opted out (same format as `import`;
        /// only the numbers are used), for markers whose jobs are gone.
        #[arg(long)]
        numbers: Option<PathBuf>,
        #[command(flatten)]
        store: CitizenArgs,
    },
}

pub async fn command(cmd: DncCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DncCommand::Add {
            number,
            reason,
            expires,
            store,
        } => add(&number, &reason, expires.as_deref(), &store).await,
        DncCommand::Remove { number, store } => remove(&number, &store).await,
        DncCommand::Check {
            number,
            json,
            store,
        } => check(&number, json, &store).await,
        DncCommand::Import { file, json, store } => import(&file, json, &store).await,
        DncCommand::Count { store } => {
            println!("{}", store.connect().await?.dnc_count().await?);
            Ok(ExitCode::SUCCESS)
        }
        DncCommand::Upgrade { numbers, store } => upgrade(numbers.as_deref(), &store).await,
    }
}

/// A number as an operator typed it; `Err` is printed as is (no digits).
pub(super) fn number(text: &str) -> Result<PhoneNumber, String> {
    PhoneNumber::from_indian_input(text).map_err(|e| format!("error: {e}"))
}

/// Prints `message` and exits with 2 (bad input).
pub(super) fn bad_input(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("{message}");
    Ok(ExitCode::from(2))
}

async fn add(
    text: &str,
    reason: &str,
    expires: Option<&str>,
    args: &CitizenArgs,
) -> anyhow::Result<ExitCode> {
    let phone = match number(text) {
        Ok(phone) => phone,
        Err(e) => return bad_input(&e),
    };
    let reason = match check_reason(reason) {
        Ok(reason) => reason,
        Err(e) => return bad_input(&format!("error: --reason: {e}")),
    };
    let expires = match expires.map(Expiry::parse).transpose() {
        Ok(expires) => expires,
        Err(e) => return bad_input(&format!("error: --expires: {e}")),
    };
    let store = args.connect().await?;
    let masked = phone.masked();
    match put_number(&store, phone.clone(), reason, expires).await {
        Ok(write) => {
            let verb = if write == DncWrite::Updated {
                "updated"
            } else {
                "added"
            };
            let entry = store.dnc_check(&phone).await?;
            println!("{verb}: {}", describe(&masked, entry.as_ref()));
            Ok(ExitCode::SUCCESS)
        }
        Err(PutError::Lapsed) => bad_input("error: --expires: the expiry is not in the future"),
        Err(PutError::Store(e)) => Err(e.into()),
    }
}

async fn remove(text: &str, args: &CitizenArgs) -> anyhow::Result<ExitCode> {
    let phone = match number(text) {
        Ok(phone) => phone,
        Err(e) => return bad_input(&e),
    };
    if args.connect().await?.dnc_remove(&phone).await? {
        println!("removed {} from the do-not-call list", phone.masked());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} was not on the do-not-call list", phone.masked());
        Ok(ExitCode::from(3))
    }
}

async fn check(text: &str, json: bool, args: &CitizenArgs) -> anyhow::Result<ExitCode> {
    let phone = match number(text) {
        Ok(phone) => phone,
        Err(e) => return bad_input(&e),
    };
    let entry = args.connect().await?.dnc_check(&phone).await?;
    if json {
        println!("{}", entry_json(&phone, entry.as_ref()));
    } else {
        println!("{}", describe(&phone.masked(), entry.as_ref()));
    }
    Ok(if entry.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn describe(masked: &str, entry: Option<&DncEntry>) -> String {
    let Some(e) = entry else {
        return format!("{masked} is not on the do-not-call list");
    };
    let reason = if e.reason.is_empty() {
        "no reason given".to_owned()
    } else {
        format!("reason: {}", e.reason)
    };
    let expires = e.expires_at_ms.map_or("never expires".to_owned(), |t| {
        format!("expires {}", format_ist(t))
    });
    format!(
        "{masked} is on the do-not-call list ({reason}; added {}; {expires})",
        format_ist(e.added_at_ms)
    )
}

async fn import(file: &Path, json: bool, args: &CitizenArgs) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => return bad_input(&format!("error: cannot read {}: {e}", file.display())),
    };
    let store = args.connect().await?;
    let report = import_list(&store, &text).await?;
    for problem in &report.invalid {
        eprintln!("{}:{}: {}", file.display(), problem.line, problem.error);
    }
    if json {
        println!("{}", serde_json::to_value(&report)?);
    } else {
        println!(
            "added {}, updated {}, invalid {}",
            report.added,
            report.updated,
            report.invalid.len()
        );
    }
    Ok(if report.invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn upgrade(numbers: Option<&Path>, args: &CitizenArgs) -> anyhow::Result<ExitCode> {
    let mut phones = Vec::new();
    if let Some(file) = numbers {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => return bad_input(&format!("error: cannot read {}: {e}", file.display())),
        };
        let parsed = parse_list(&text);
        for problem in &parsed.problems {
            eprintln!("{}:{}: {}", file.display(), problem.line, problem.error);
        }
        if !parsed.problems.is_empty() {
            return bad_input(&format!(
                "error: {} line(s) of {} are not numbers; nothing was changed",
                parsed.problems.len(),
                file.display()
            ));
        }
        phones = parsed.entries.into_iter().map(|e| e.phone).collect();
    }
    let store = args.connect().await?;
    let report = store.upgrade_legacy_opt_outs(&phones).await?;
    println!(
        "read {} job(s) and {} given number(s); migrated {} old opt-out marker(s); {} left unmatched",
        report.jobs,
        phones.len(),
        report.migrated,
        report.unmatched
    );
    if report.unmatched > 0 {
        eprintln!(
            "{} old opt-out marker(s) have no known number: `serve` refuses to start until they \
             are migrated (run again with --numbers FILE holding the numbers that opted out) or \
             it is started with --accept-legacy-optouts",
            report.unmatched
        );
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
