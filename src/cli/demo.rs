//! `sampark demo`: a whole campaign in one process — the in-memory store, the
//! provider simulator on a loopback port, the real daemon (webhook server,
//! dialer, Twilio adapter) and the sample dialplan — then a summary.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::calls::RetryPolicy;
use crate::config::{Secret, Settings};
use crate::daemon::{Daemon, DaemonParts, Listeners};
use crate::dialer::{CallingHours, DialerConfig, Quotas};
use crate::dialplan::{Dialplans, parse_str};
use crate::domain::{CampaignId, FeedbackRecord};
use crate::intake::submit_document;
use crate::simulator::{Simulator, SimulatorConfig};
use crate::store::memory::MemoryStore;
use crate::store::{Quota, Store};
use crate::telemetry::Metrics;

pub use super::summary::DemoSummary;
use super::summary::{print_summary, summarise};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Contacts in the demo campaign.
    #[arg(long, default_value_t = 200)]
    pub contacts: usize,
    /// Seed for the contacts and the simulated citizens.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Officials the contacts are spread over.
    #[arg(long, default_value_t = 6)]
    pub officials: usize,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Options for `run_demo` (the CLI's, minus output format).
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub contacts: usize,
    pub seed: u64,
    pub officials: usize,
    /// Print live progress to stderr.
    pub progress: bool,
}

const OFFICES: [(&str, &str); 8] = [
    ("Dhenkanal Town PS", "FIR registration"),
    ("Capital Hospital, Bhubaneswar", "OPD consultation"),
    ("Cuttack Tahasil Office", "Land record mutation"),
    ("Puri Sadar PS", "Passport verification"),
    ("SCB Medical College, Cuttack", "Emergency admission"),
    ("Khurda Tahasil Office", "Income certificate"),
    ("Balasore Town PS", "Lost mobile report"),
    ("Berhampur RTO", "Driving licence"),
];

pub async fn command(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let opts = DemoOptions {
        contacts: args.contacts,
        seed: args.seed,
        officials: args.officials,
        progress: !args.json || std::io::stderr().is_terminal(),
    };
    let summary = run_demo(opts).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the demo campaign to completion and summarises the feedback records.
pub async fn run_demo(opts: DemoOptions) -> anyhow::Result<DemoSummary> {
    anyhow::ensure!(opts.contacts > 0, "--contacts must be at least 1");
    anyhow::ensure!(opts.officials > 0, "--officials must be at least 1");
    let started = Instant::now();
    let dialplans = Arc::new(sample_dialplans()?);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(16));
    let metrics = Arc::new(Metrics::default());
    let auth_token = format!("demo-token-{:016x}", opts.seed);
    let account_sid = format!("AC{:032x}", u128::from(opts.seed));

    let sim_cancel = CancellationToken::new();
    let sim_config = SimulatorConfig {
        account_sid: account_sid.clone(),
        auth_token: auth_token.clone(),
        seed: opts.seed,
        ..SimulatorConfig::default()
    };
    let simulator = Simulator::start(
        sim_config,
        TcpListener::bind("127.0.0.1:0").await?,
        sim_cancel.clone(),
    )
    .await
    .context("cannot start the provider simulator")?;

    let webhook_listener = TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", webhook_listener.local_addr()?);
    let settings = demo_settings(&simulator.base_url(), account_sid, auth_token, public_url);
    let mut parts = DaemonParts::from_settings(
        &settings,
        store.clone(),
        dialplans,
        Listeners {
            webhook: webhook_listener,
            admin: None,
        },
        None,
    )?;
    parts.metrics = metrics;
    parts.dialer = demo_dialer_config();
    let daemon = Daemon::start(parts)?;

    let (campaign_id, doc) = demo_campaign(&opts);
    submit_document(store.as_ref(), &doc, 5_000).await?;
    let records =
        wait_for_records(store.as_ref(), &campaign_id, opts.contacts, opts.progress).await;
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    let records = records?;
    Ok(summarise(
        &campaign_id,
        opts.contacts,
        &records,
        started.elapsed(),
    ))
}

/// The sample dialplan, built into the binary so the demo runs from anywhere.
const SAMPLE_DIALPLAN: &str = include_str!("../../dialplans/mo-sarkar-feedback.toml");

fn sample_dialplans() -> anyhow::Result<Dialplans> {
    let file = std::path::Path::new("dialplans/mo-sarkar-feedback.toml");
    match parse_str(file, SAMPLE_DIALPLAN, Some("mo-sarkar-feedback")) {
        Ok(plan) => Ok(Dialplans::from_plans([plan])),
        Err(problems) => {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            anyhow::bail!(
                "the built-in sample dialplan is invalid:\n{}",
                text.join("\n")
            )
        }
    }
}

fn demo_dialer_config() -> DialerConfig {
    DialerConfig {
        consumer: "demo".into(),
        batch_size: 64,
        poll_interval: Duration::from_millis(20),
        originate_lease: Duration::from_secs(15),
        max_call: Duration::from_secs(120),
        reclaim_after: Duration::from_secs(30),
        ring_timeout: Duration::from_secs(30),
        hours: CallingHours::ALWAYS,
        citizen_daily_cap: 5,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_millis(300), Duration::from_millis(600)],
        },
        quotas: Quotas {
            default: Quota {
                burst: 4,
                period: Duration::from_millis(100),
            },
            overrides: Default::default(),
        },
        max_concurrent_originates: 32,
        provider_cps: None,
        provider_backoff: Duration::from_millis(200),
        reconcile_give_up: Duration::from_secs(60),
    }
}

/// `serve`'s settings, pointed at the in-process simulator and store.
fn demo_settings(
    simulator_url: &str,
    account_sid: String,
    auth_token: String,
    public_url: String,
) -> Settings {
    let mut settings = Settings::default();
    settings.provider.base_url = simulator_url.to_owned();
    settings.provider.account_sid = account_sid;
    settings.provider.auth_token = Secret::new(auth_token);
    // The simulator's citizens read the hints to press valid keys.
    settings.provider.choice_hints = true;
    settings.webhook.public_url = public_url;
    settings.shutdown.grace_secs = 10;
    settings
}

/// A campaign of `opts.contacts` citizens over `opts.officials` officials.
fn demo_campaign(opts: &DemoOptions) -> (CampaignId, String) {
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let id = format!("demo-{}", opts.seed);
    let languages = ["or", "or", "hi", "en"];
    let contacts: Vec<_> = (0..opts.contacts)
        .map(|i| {
            let official = i % opts.officials;
            let (office, service) = OFFICES[official % OFFICES.len()];
            json!({
                "id": format!("c-{i:06}"),
                "phone": format!("+919{:09}", rng.random_range(0..1_000_000_000u64)),
                "language": languages[rng.random_range(0..languages.len())],
                "official_id": format!("off-{official:02}"),
                "office": office,
                "service": service,
            })
        })
        .collect();
    let doc = json!({
        "version": 1,
        "id": id,
        "name": "Mo Sarkar demo campaign",
        "dialplan": "mo-sarkar-feedback",
        "caller_id": "+916742000000",
        "department": "home",
        "contacts": contacts,
    });
    // INVARIANT: the id is built from the allowed alphabet.
    (
        CampaignId::parse(&id).expect("demo campaign id"),
        doc.to_string(),
    )
}

const DEMO_TIMEOUT: Duration = Duration::from_secs(600);

async fn wait_for_records(
    store: &dyn Store,
    campaign: &CampaignId,
    expected: usize,
    progress: bool,
) -> anyhow::Result<Vec<FeedbackRecord>> {
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let mut records = Vec::new();
    let mut cursor = "0".to_owned();
    let tty = std::io::stderr().is_terminal();
    let mut last_print = Instant::now() - Duration::from_secs(10);
    while records.len() < expected {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo did not finish within {DEMO_TIMEOUT:?}"
        );
        for (id, record) in store.read_feedback(&cursor, 1_000).await? {
            cursor = id;
            if record.campaign_id == campaign.as_str() {
                records.push(record);
            }
        }
        let due = tty || last_print.elapsed() >= Duration::from_secs(2);
        if progress
            && due
            && let Some(status) = store.campaign_status(campaign).await?
        {
            let line = progress_line(&status.counts, records.len(), expected);
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if progress && tty {
        eprintln!();
    }
    Ok(records)
}

fn progress_line(counts: &BTreeMap<String, u64>, done: usize, expected: usize) -> String {
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    format!(
        "progress: {done}/{expected} finished | queued {} | dialing {} | in call {} | retry wait {}",
        get("queued"),
        get("dialing"),
        get("in_call"),
        get("retry_wait")
    )
}
