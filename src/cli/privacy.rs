//! `sampark privacy erase NUMBER`: the right to erasure, against Redis
//! directly (no daemon needed). What is removed and what is kept:
//! `store::redis::erase` (and README, "Data protection").
//!
//! Exit codes: 0 erased (counts printed); 2 bad input; 3 refused, nothing
//! removed: a contact with the number is still queued or in a call, or a
//! document holding it is not routed yet.

use std::process::ExitCode;

use clap::Subcommand;

use super::dnc::{CitizenArgs, bad_input, number};
use crate::store::redis::Erasure;

#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Remove everything held about one number: its claims in campaigns,
    /// its placed calls and visits, dead letters that mention it (masked),
    /// and with `--with-opt-out` its opt-out and do-not-call entry. Prints
    /// what it removed, per kind.
    Erase {
        number: String,
        /// Also remove the number's opt-out and do-not-call entry (the
        /// citizen's wish not to be called: without them it may be called
        /// again by a later campaign).
        #[arg(long)]
        with_opt_out: bool,
        #[command(flatten)]
        store: CitizenArgs,
    },
}

pub async fn command(cmd: PrivacyCommand) -> anyhow::Result<ExitCode> {
    let PrivacyCommand::Erase {
        number: text,
        with_opt_out,
        store,
    } = cmd;
    let phone = match number(&text) {
        Ok(phone) => phone,
        Err(message) => return bad_input(&message),
    };
    let store = store.connect().await?;
    match store.erase_number(&phone, with_opt_out).await? {
        Erasure::Done(erased) => {
            println!("erased {phone}:");
            println!("  campaign number claims: {}", erased.campaign_claims);
            println!("  citizen keys: {}", erased.citizen_keys);
            println!("  remembered visits (days): {}", erased.remembered_visits);
            println!("  dead letters masked: {}", erased.dead_letters_masked);
            if erased.wishes_kept > 0 {
                println!(
                    "  kept: {} opt-out / do-not-call key(s) (--with-opt-out removes them)",
                    erased.wishes_kept
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Erasure::Live { jobs, intake } => {
            eprintln!(
                "refused, nothing removed: {phone} is still held by {} job(s) not ended and {intake} intake entr(ies) not routed; cancel the contact's campaign (or wait until it ends) and try again",
                jobs.len()
            );
            for job in jobs {
                eprintln!("  {job}");
            }
            Ok(ExitCode::from(3))
        }
    }
}
