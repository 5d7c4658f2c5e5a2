//! `sampark demo`: a whole campaign in one process — the in-memory store, the
//! provider simulator on a loopback port, the real daemon (webhook server,
//! dialer, the Twilio or Exotel adapter: `--provider`) and the sample
//! dialplans — then a summary. With
//! `--inbound N`, N citizens also call the programme's number (most of them
//! contacts of the campaign, so their calls can be attributed), and the
//! call-backs they ask for are dialled before the summary.

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

use crate::calls::CALLBACK_FLAG;
use crate::calls::RetryPolicy;
use crate::config::{ProviderKind, ProviderSettings, Settings};
use crate::daemon::{Daemon, DaemonParts, Listeners, ServerTls};
use crate::dialer::{DialerConfig, Quotas};
use crate::dialplan::{Dialplans, parse_str};
use crate::domain::{CampaignId, Direction, FeedbackRecord};
use crate::intake::submit_document;
use crate::policy::CallingWindow;
use crate::simulator::Simulator;
use crate::store::memory::MemoryStore;
use crate::store::{CitizenCaps, Quota, Store};

use super::demo_provider;
pub use super::summary::DemoSummary;
use super::summary::{EscalationLine, ScoreLine, print_summary, summarise};
use crate::accountability::report::{ReportQuery, build_report};
use crate::accountability::scorer::{ScoringContext, score_pending};
use crate::daemon::flush_feedback;
use crate::domain::scorecard::Dimension;
use crate::store::EscalationQuery;

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
    /// Inbound calls citizens make to the programme's number during the run.
    #[arg(long, default_value_t = 0)]
    pub inbound: usize,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Keep the finished campaign open in the operator console (the admin
    /// listener, at a printed URL on 127.0.0.1) until Ctrl-C.
    #[arg(long)]
    pub console: bool,
    /// The provider the daemon's adapter and the simulator speak: twilio
    /// or exotel.
    #[arg(long, default_value = "twilio", value_parser = demo_provider::parse_kind)]
    pub provider: ProviderKind,
}

/// Options for `run_demo` (the CLI's, minus output format).
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub contacts: usize,
    pub seed: u64,
    pub officials: usize,
    /// Inbound calls to place.
    pub inbound: usize,
    /// Print live progress to stderr.
    pub progress: bool,
    /// Serve the operator console once the campaign is done, printing the
    /// summary and the console's URL, until Ctrl-C.
    pub console: bool,
    /// The provider adapter and simulator wire format.
    pub provider: ProviderKind,
}

/// The in-memory store's shards.
const SHARDS: u16 = 16;

/// The demo campaign's department; declared in `reports.departments` so
/// its records count under its own name in `/metrics`.
const DEPARTMENT: &str = "home";

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
        inbound: args.inbound,
        progress: !args.json || std::io::stderr().is_terminal(),
        console: args.console,
        provider: args.provider,
    };
    let console = opts.console;
    let summary = run_demo(opts).await?;
    if console {
        // Printed before the console opened.
    } else if args.json {
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
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(SHARDS));

    let webhook_listener = TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", webhook_listener.local_addr()?);
    let sim_listener = TcpListener::bind("127.0.0.1:0").await?;
    let sim_url = format!("http://{}", sim_listener.local_addr()?);
    let (sim_config, provider) =
        demo_provider::simulated(opts.provider, opts.seed, &sim_url, &public_url, SHARDS)?;
    let sim_cancel = CancellationToken::new();
    let simulator = Simulator::start(sim_config, sim_listener, sim_cancel.clone())
        .await
        .context("cannot start the provider simulator")?;

    let mut settings = demo_settings(provider, public_url);
    // Every demo caller is taken (the busy message is tested elsewhere).
    settings.inbound.max_concurrent = u32::try_from(opts.inbound.max(1)).unwrap_or(u32::MAX);
    let callbacks = CampaignId::parse(&settings.inbound.callback_campaign)?;
    let mut parts = DaemonParts::from_settings(
        &settings,
        store.clone(),
        dialplans,
        Listeners {
            webhook: webhook_listener,
            admin: if opts.console {
                Some(TcpListener::bind("127.0.0.1:0").await?)
            } else {
                None
            },
        },
        ServerTls::default(),
    )?;
    parts.dialer = demo_dialer_config();
    let scoring = parts.scoring.clone();
    let daemon = Daemon::start(parts)?;

    let (campaign_id, doc, phones) = demo_campaign(&opts);
    submit_document(store.as_ref(), &doc, 5_000).await?;
    let records =
        match place_inbound_calls(store.as_ref(), &simulator, &campaign_id, &opts, &phones).await {
            Ok(()) => {
                let expected = Expected {
                    campaign: &campaign_id,
                    callbacks: &callbacks,
                    contacts: opts.contacts,
                    inbound: opts.inbound,
                };
                wait_for_records(store.as_ref(), &expected, opts.progress).await
            }
            Err(e) => Err(e),
        };
    if opts.console
        && let Ok(done) = &records
    {
        let finished = Finished {
            campaign: &campaign_id,
            callbacks: &callbacks,
            records: done,
            started,
        };
        if let Err(e) = open_console(store.as_ref(), &daemon, &scoring, &opts, &finished).await {
            daemon.shutdown().await;
            sim_cancel.cancel();
            return Err(e);
        }
    }
    daemon.shutdown().await;
    sim_cancel.cancel();
    simulator.wait().await;
    let records = records?;
    let mut summary = summarise(
        &campaign_id,
        &callbacks,
        opts.contacts,
        &records,
        started.elapsed(),
    );
    summary.real_time =
        super::real_time::compare(&demo_dialer_config(), opts.contacts, opts.officials);
    accountability(store.as_ref(), &mut summary).await?;
    Ok(summary)
}

/// A finished demo campaign.
struct Finished<'a> {
    campaign: &'a CampaignId,
    callbacks: &'a CampaignId,
    records: &'a [FeedbackRecord],
    started: Instant,
}

/// Prints the summary of the finished campaign (its records relayed and
/// counted first), then keeps the daemon serving the console until Ctrl-C.
async fn open_console(
    store: &dyn Store,
    daemon: &Daemon,
    scoring: &ScoringContext,
    opts: &DemoOptions,
    done: &Finished<'_>,
) -> anyhow::Result<()> {
    flush_feedback(store, &scoring.rules).await?;
    score_pending(store, scoring, "demo", |_| {}).await?;
    let mut summary = summarise(
        done.campaign,
        done.callbacks,
        opts.contacts,
        done.records,
        done.started.elapsed(),
    );
    summary.real_time =
        super::real_time::compare(&demo_dialer_config(), opts.contacts, opts.officials);
    accountability(store, &mut summary).await?;
    print_summary(&summary);
    let addr = daemon
        .admin_addr()
        .context("the demo's console listener did not start")?;
    println!();
    println!(
        "Operator console: http://{addr}/  (no admin token: this demo's console is open to this machine only)"
    );
    println!("Press Ctrl-C to stop.");
    crate::daemon::wait_for_signal().await;
    Ok(())
}

/// The open escalations and the scorecard by official, as the scorer left
/// them when the daemon stopped (its last pass counts every record).
async fn accountability(store: &dyn Store, summary: &mut DemoSummary) -> anyhow::Result<()> {
    let open = store
        .escalations(&EscalationQuery {
            open_only: true,
            ..EscalationQuery::default()
        })
        .await?;
    for e in &open {
        *summary
            .open_escalations
            .entry(e.escalation.severity.to_string())
            .or_insert(0) += 1;
    }
    summary.top_escalations = open
        .iter()
        .take(5)
        .map(|v| EscalationLine {
            escalation_id: v.escalation.escalation_id.clone(),
            severity: v.escalation.severity.to_string(),
            official_id: v.escalation.official_id.clone(),
            office: v.escalation.office.clone(),
            flags: v.escalation.flags.clone(),
        })
        .collect();
    let report = build_report(store, &ReportQuery::new(Dimension::Official)).await?;
    summary.scorecard = report.rows.iter().take(10).map(ScoreLine::of).collect();
    Ok(())
}

/// The sample dialplans, built into the binary so the demo runs from anywhere.
const SAMPLE_DIALPLANS: [(&str, &str); 2] = [
    (
        "mo-sarkar-feedback",
        include_str!("../../dialplans/mo-sarkar-feedback.toml"),
    ),
    (
        "mo-sarkar-inbound",
        include_str!("../../dialplans/mo-sarkar-inbound.toml"),
    ),
];

fn sample_dialplans() -> anyhow::Result<Dialplans> {
    let mut plans = Vec::new();
    for (name, text) in SAMPLE_DIALPLANS {
        let file = std::path::PathBuf::from(format!("dialplans/{name}.toml"));
        match parse_str(&file, text, Some(name)) {
            Ok(plan) => plans.push(plan),
            Err(problems) => {
                let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                anyhow::bail!(
                    "the built-in sample dialplan {name} is invalid:\n{}",
                    text.join("\n")
                )
            }
        }
    }
    Dialplans::from_plans(plans).context("the built-in sample dialplans do not agree")
}

/// Once the campaign is ingested (so its visits are remembered), has
/// `opts.inbound` citizens call in: three in four are the campaign's
/// contacts, the rest numbers sampark has never called. Their answers are
/// the simulator's seeded random citizen's.
async fn place_inbound_calls(
    store: &dyn Store,
    simulator: &Simulator,
    campaign: &CampaignId,
    opts: &DemoOptions,
    phones: &[String],
) -> anyhow::Result<()> {
    if opts.inbound == 0 {
        return Ok(());
    }
    let deadline = Instant::now() + DEMO_TIMEOUT;
    loop {
        let ingested = store
            .campaign_status(campaign)
            .await?
            .is_some_and(|s| s.total() >= opts.contacts as u64);
        if ingested {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo campaign was not ingested"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rng = SmallRng::seed_from_u64(opts.seed ^ 0x1b);
    // Contacts call in at most once each while there are enough of them (a
    // citizen calling five times would hit the daily cap with the call-backs
    // they ask for, and wait for tomorrow).
    let mut callers: Vec<&String> = phones.iter().collect();
    for i in 0..opts.inbound {
        let from = if i % 4 == 3 || callers.is_empty() {
            format!("+918{:09}", rng.random_range(0..1_000_000_000u64))
        } else {
            callers
                .swap_remove(rng.random_range(0..callers.len()))
                .clone()
        };
        simulator
            .place_inbound(Some(&from), None)
            .context("the simulator refused an inbound call")?;
    }
    Ok(())
}

fn demo_dialer_config() -> DialerConfig {
    DialerConfig {
        consumer: "demo".into(),
        batch_size: 64,
        poll_interval: Duration::from_millis(20),
        originate_lease: Duration::from_secs(15),
        originate_timeout: Duration::from_secs(5),
        max_call: Duration::from_secs(120),
        reclaim_after: Duration::from_secs(30),
        ring_timeout: Duration::from_secs(30),
        hours: CallingWindow::always(),
        // A contact may get three attempts and a call-back it asked for.
        citizen_caps: CitizenCaps {
            per_day: 6,
            per_week: 0,
        },
        max_live_calls: None,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_millis(300), Duration::from_millis(600)],
        },
        quotas: Quotas::uniform(Quota {
            burst: 4,
            period: Duration::from_millis(100),
        }),
        max_concurrent_originates: 32,
        provider_cps: None,
        provider_backoff: Duration::from_millis(200),
        reconcile_give_up: Duration::from_secs(60),
        number_plan: Default::default(),
    }
}

/// `serve`'s settings, pointed at the in-process simulator (`provider`)
/// and store.
fn demo_settings(provider: ProviderSettings, public_url: String) -> Settings {
    let mut settings = Settings {
        provider,
        ..Settings::default()
    };
    settings.webhook.public_url = public_url;
    settings.shutdown.grace_secs = 10;
    settings.reports.departments = vec![DEPARTMENT.into()];
    settings
}

/// A campaign of `opts.contacts` citizens over `opts.officials` officials,
/// and their numbers.
fn demo_campaign(opts: &DemoOptions) -> (CampaignId, String, Vec<String>) {
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let id = format!("demo-{}", opts.seed);
    let languages = ["or", "or", "hi", "en"];
    let mut phones = Vec::with_capacity(opts.contacts);
    let contacts: Vec<_> = (0..opts.contacts)
        .map(|i| {
            let official = i % opts.officials;
            let (office, service) = OFFICES[official % OFFICES.len()];
            let phone = format!("+919{:09}", rng.random_range(0..1_000_000_000u64));
            phones.push(phone.clone());
            json!({
                "id": format!("c-{i:06}"),
                "phone": phone,
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
        "department": DEPARTMENT,
        "contacts": contacts,
    });
    // INVARIANT: the id is built from the allowed alphabet.
    (
        CampaignId::parse(&id).expect("demo campaign id"),
        doc.to_string(),
        phones,
    )
}

const DEMO_TIMEOUT: Duration = Duration::from_secs(600);

/// What the demo waits for: a record for every contact of its campaign and
/// for every inbound call, and one for every call-back those calls asked for.
struct Expected<'a> {
    campaign: &'a CampaignId,
    callbacks: &'a CampaignId,
    contacts: usize,
    inbound: usize,
}

impl Expected<'_> {
    fn wanted(&self, r: &FeedbackRecord) -> bool {
        r.campaign_id == self.campaign.as_str()
            || r.campaign_id == self.callbacks.as_str()
            || r.direction == Direction::Inbound
    }

    /// How many records there will be, as far as `records` tell.
    fn total(&self, records: &[FeedbackRecord]) -> usize {
        let asked = records
            .iter()
            .filter(|r| r.direction == Direction::Inbound)
            .filter(|r| r.flags.iter().any(|f| f == CALLBACK_FLAG))
            .count();
        self.contacts + self.inbound + asked
    }

    fn done(&self, records: &[FeedbackRecord]) -> bool {
        let inbound = records
            .iter()
            .filter(|r| r.direction == Direction::Inbound)
            .count();
        inbound == self.inbound && records.len() >= self.total(records)
    }
}

async fn wait_for_records(
    store: &dyn Store,
    expected: &Expected<'_>,
    progress: bool,
) -> anyhow::Result<Vec<FeedbackRecord>> {
    let deadline = Instant::now() + DEMO_TIMEOUT;
    let mut records = Vec::new();
    let mut cursor = "0".to_owned();
    let tty = std::io::stderr().is_terminal();
    let mut last_print = Instant::now() - Duration::from_secs(10);
    while !expected.done(&records) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo did not finish within {DEMO_TIMEOUT:?}"
        );
        for (id, record) in store.read_feedback(&cursor, 1_000).await? {
            cursor = id;
            if expected.wanted(&record) {
                records.push(record);
            }
        }
        let due = tty || last_print.elapsed() >= Duration::from_secs(2);
        if progress
            && due
            && let Some(status) = store.campaign_status(expected.campaign).await?
        {
            let line = progress_line(&status.counts, records.len(), expected.total(&records));
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
