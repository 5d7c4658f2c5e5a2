//! `sampark redis status|accept-empty`: what the daemon thinks of its Redis,
//! and the operator's word that dialling may resume on a Redis that came
//! back empty (see `store/guard.rs`).

use std::process::ExitCode;

use clap::Subcommand;

use super::campaign::RedisArgs;
use crate::store::guard::{Accepted, DataGuard, Durability};

#[derive(Debug, Subcommand)]
pub enum RedisCommand {
    /// Print the epoch marker, any dialling hold, and the persistence
    /// settings sampark's guarantees rely on.
    Status {
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Resume dialling after Redis came back empty: accept the data Redis
    /// holds now (a new epoch) and lift the hold on every instance. Campaigns
    /// resubmitted afterwards are dialled in full, including citizens already
    /// called before the loss.
    AcceptEmpty {
        #[command(flatten)]
        redis: RedisArgs,
    },
}

pub async fn command(cmd: RedisCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RedisCommand::Status { redis } => status(&redis.connect().await?).await,
        RedisCommand::AcceptEmpty { redis } => accept(&redis.connect().await?).await,
    }
}

async fn status(guard: &dyn DataGuard) -> anyhow::Result<ExitCode> {
    let marker = guard.read_epoch().await?;
    println!("epoch: {}", marker.id.as_deref().unwrap_or("(none)"));
    if let Some(at) = marker.accepted_at_ms {
        println!("accepted by an operator at: {at} (Unix ms)");
    }
    match (&marker.hold, marker.held_at_ms) {
        (Some(reason), Some(at)) => println!("dialling: HELD since {at} (Unix ms): {reason}"),
        (Some(reason), None) => println!("dialling: HELD: {reason}"),
        (None, _) => println!("dialling: not held"),
    }
    match guard.durability().await {
        Durability::Unknown(reason) => println!("persistence: could not be read ({reason})"),
        report @ Durability::Settings { .. } => {
            let problems = report.problems();
            if problems.is_empty() {
                println!("persistence: ok");
            }
            for p in problems.iter().chain(report.notes().iter()) {
                println!("persistence: {p}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn accept(guard: &dyn DataGuard) -> anyhow::Result<ExitCode> {
    match guard.accept_if_held().await? {
        Accepted::Lifted { reason, epoch } => {
            println!("dialling was held: {reason}");
            println!("accepted: new epoch {epoch}; every instance resumes dialling within seconds");
        }
        Accepted::NotHeld => println!("dialling is not held; nothing changed"),
    }
    Ok(ExitCode::SUCCESS)
}
