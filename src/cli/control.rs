//! `sampark campaign pause|resume|cancel|list`: operators' control of what
//! is dialled. The commands talk to Redis directly (no daemon needed); every
//! instance sees the change at its next authorisation.

use std::process::ExitCode;

use super::campaign::RedisArgs;
use crate::domain::CampaignId;
use crate::store::{CampaignAction, CampaignState, Store};

/// Applies `action` to campaign `id` and prints what it is now.
pub async fn control(
    id: &str,
    action: CampaignAction,
    redis: &RedisArgs,
) -> anyhow::Result<ExitCode> {
    let id = CampaignId::parse(id)?;
    let store = redis.connect().await?;
    let Some(state) = store.control_campaign(&id, action).await? else {
        eprintln!("no campaign {id} (it may still be waiting on the intake stream)");
        return Ok(ExitCode::from(3));
    };
    let asked = match action {
        CampaignAction::Pause => "paused",
        CampaignAction::Resume => "active",
        CampaignAction::Cancel { .. } => "cancelled",
    };
    match state {
        CampaignState::Cancelled { .. } if asked != "cancelled" => {
            eprintln!("campaign {id} is cancelled; a cancelled campaign cannot be {asked} again");
            return Ok(ExitCode::from(4));
        }
        CampaignState::Cancelled { hangup: true } => {
            println!("campaign {id}: cancelled; calls in progress are being hung up");
        }
        CampaignState::Cancelled { hangup: false } => {
            println!("campaign {id}: cancelled; calls in progress finish");
        }
        CampaignState::Paused => println!("campaign {id}: paused; calls in progress finish"),
        CampaignState::Active => println!("campaign {id}: active"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Every campaign with its state and progress.
pub async fn list(redis: &RedisArgs, json: bool) -> anyhow::Result<ExitCode> {
    let store = redis.connect().await?;
    let mut rows = Vec::new();
    for id in store.campaigns().await? {
        if let Some(status) = store.campaign_status(&id).await? {
            rows.push(status);
        }
    }
    if json {
        let all: Vec<_> = rows.iter().map(|s| s.summary()).collect();
        println!("{}", serde_json::Value::Array(all));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:<10} {:>9} {:>9}  name",
        "campaign", "state", "contacts", "finished"
    );
    for s in &rows {
        println!(
            "{:<28} {:<10} {:>9} {:>9}  {}",
            s.header.id.as_str(),
            s.state.as_str(),
            s.total(),
            s.finished(),
            s.header.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
