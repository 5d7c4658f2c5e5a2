//! `sampark simulate-provider`: the provider simulator as a process,
//! speaking Twilio's (`--kind twilio`) or Exotel's (`--kind exotel`) wire
//! format.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::simulator::{Simulator, SimulatorConfig, Wire};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on, e.g. 127.0.0.1:4010.
    #[arg(long)]
    pub listen: String,
    /// The wire format: twilio or exotel.
    #[arg(long, default_value = "twilio", value_parser = parse_wire)]
    pub kind: Wire,
    #[arg(long)]
    pub account_sid: String,
    /// Exotel's API key (the REST API's Basic auth user); Twilio's user is
    /// the account sid.
    #[arg(long, required_if_eq("kind", "exotel"))]
    pub api_key: Option<String>,
    /// Twilio's auth token, or Exotel's API token.
    #[arg(long)]
    pub auth_token: String,
    /// Seed for call fates and key presses.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write one JSON line per originate, key press, hang-up and call end.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Weight of calls that are answered.
    #[arg(long)]
    pub answer_rate: Option<f64>,
    /// Weight of calls that get a busy signal.
    #[arg(long)]
    pub busy_rate: Option<f64>,
    /// Weight of calls nobody answers.
    #[arg(long)]
    pub no_answer_rate: Option<f64>,
    /// Weight of calls that fail in the network.
    #[arg(long)]
    pub failed_rate: Option<f64>,
    /// Weight of calls an answering machine picks up (it presses nothing;
    /// answering-machine detection reports it as a machine).
    #[arg(long)]
    pub voicemail_rate: Option<f64>,
    /// Comma-separated E.164 numbers whose calls an answering machine
    /// always picks up.
    #[arg(long, value_name = "E164,...", value_delimiter = ',')]
    pub voicemail_numbers: Vec<String>,
    /// A scripted phone at one number, as `NUMBER=JSON` (e.g.
    /// `+919437000001={"pick_up":"answer","presses":["1","5"]}`); repeat
    /// for more numbers. See docs/simulator.md, "Personas".
    #[arg(long = "persona", value_name = "E164=JSON")]
    pub personas: Vec<String>,
    /// Share of key presses that are not a valid choice.
    #[arg(long)]
    pub invalid_key_rate: Option<f64>,
    /// Share of prompts the citizen lets time out.
    #[arg(long)]
    pub silent_rate: Option<f64>,
    /// Share of prompts at which the citizen presses the opt-out key.
    #[arg(long)]
    pub opt_out_rate: Option<f64>,
    /// Share of prompts at which the citizen hangs up.
    #[arg(long)]
    pub hangup_rate: Option<f64>,
    /// Active calls at once before answering 429 / 20429.
    #[arg(long)]
    pub max_concurrent: Option<usize>,
    /// Calls per second before answering 429 / 20429.
    #[arg(long)]
    pub calls_per_second: Option<u32>,
    /// Real seconds a TwiML <Pause> takes per second of its length (0: none,
    /// calls run as fast as possible; 1: as on a real call).
    #[arg(long)]
    pub pause_scale: Option<f64>,
    /// How long a phone rings before it is answered (or its fate shows),
    /// milliseconds: `N`, or `MIN-MAX` drawn uniformly [default: 5-20].
    /// A long ring holds calls open, e.g. `--ring-ms 60000` keeps every
    /// call ringing for a minute.
    #[arg(long, value_name = "MS[-MS]", value_parser = parse_ms_range)]
    pub ring_ms: Option<(Duration, Duration)>,
    /// How long a citizen thinks before pressing a key, milliseconds: `N`
    /// or `MIN-MAX` [default: 1-5].
    #[arg(long, value_name = "MS[-MS]", value_parser = parse_ms_range)]
    pub think_ms: Option<(Duration, Duration)>,
    /// What the simulator logs, as a filter directive (`warn`,
    /// `info,sampark::simulator::api=debug`); `info` logs two lines per
    /// call, which a load test may not want.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log_level: String,
    /// Threads that run the simulator's tasks (0: one per core).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=256)
    )]
    pub worker_threads: usize,
    /// Citizens calling the programme's number. Boxed: the flags would
    /// otherwise make this the one outsized `Command` variant.
    #[command(flatten)]
    pub inbound: Box<InboundArgs>,
}

/// Inbound calls: the programme number's settings, and automatic callers.
#[derive(Debug, Args)]
#[command(next_help_heading = "Inbound calls")]
pub struct InboundArgs {
    /// Automatic inbound calls per minute, on average (0: none; needs
    /// --inbound-voice-url).
    #[arg(long, value_name = "N")]
    pub inbound_rate: Option<f64>,
    /// The programme number's Voice URL, POSTed when a citizen calls it.
    #[arg(long, value_name = "URL")]
    pub inbound_voice_url: Option<String>,
    /// The programme number's status callback URL (POST).
    #[arg(long, value_name = "URL")]
    pub inbound_status_url: Option<String>,
    /// The programme's number citizens call [default: +916742100100].
    #[arg(long, value_name = "E164")]
    pub inbound_number: Option<String>,
    /// Comma-separated E.164 numbers automatic callers are drawn from
    /// (default: random Indian mobile numbers).
    #[arg(long, value_name = "E164,...", value_delimiter = ',')]
    pub inbound_callers: Vec<String>,
}

pub async fn command(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    crate::telemetry::init(crate::telemetry::LogFormat::Pretty, &args.log_level)?;
    let mut config = SimulatorConfig {
        wire: args.kind,
        account_sid: args.account_sid,
        auth_token: args.auth_token,
        seed: args.seed,
        ledger: args.ledger,
        ..SimulatorConfig::default()
    };
    if let Some(key) = args.api_key {
        config.api_key = key;
    }
    let set = |target: &mut f64, v: Option<f64>| {
        if let Some(v) = v {
            *target = v;
        }
    };
    set(&mut config.answer_rate, args.answer_rate);
    set(&mut config.busy_rate, args.busy_rate);
    set(&mut config.no_answer_rate, args.no_answer_rate);
    set(&mut config.failed_rate, args.failed_rate);
    set(&mut config.voicemail_rate, args.voicemail_rate);
    config.voicemail_numbers = args.voicemail_numbers;
    for given in &args.personas {
        let (number, json) = given.split_once('=').with_context(
            || "--persona must be NUMBER=JSON, e.g. +919437000001={\"pick_up\":\"busy\"}",
        )?;
        let persona = serde_json::from_str(json).with_context(|| {
            format!(
                "--persona for the number #{}: not a persona",
                config.personas.len() + 1
            )
        })?;
        config.personas.insert(number.trim().to_owned(), persona);
    }
    set(&mut config.invalid_key_rate, args.invalid_key_rate);
    set(&mut config.silent_rate, args.silent_rate);
    set(&mut config.opt_out_rate, args.opt_out_rate);
    set(&mut config.hangup_rate, args.hangup_rate);
    set(&mut config.pause_scale, args.pause_scale);
    if let Some(ring) = args.ring_ms {
        config.ring_delay = ring;
    }
    if let Some(think) = args.think_ms {
        config.think_delay = think;
    }
    if let Some(n) = args.max_concurrent {
        config.max_concurrent = n;
    }
    if args.calls_per_second.is_some() {
        config.calls_per_second = args.calls_per_second;
    }
    let inbound = *args.inbound;
    set(&mut config.inbound_rate_per_minute, inbound.inbound_rate);
    config.inbound_voice_url = inbound.inbound_voice_url;
    config.inbound_status_url = inbound.inbound_status_url;
    if let Some(number) = inbound.inbound_number {
        config.inbound_number = number;
    }
    config.inbound_callers = inbound.inbound_callers;
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let cancel = CancellationToken::new();
    let simulator = Simulator::start(config, listener, cancel.clone()).await?;
    println!("simulator listening on {}", simulator.base_url());
    crate::daemon::wait_for_signal().await;
    cancel.cancel();
    simulator.wait().await;
    Ok(ExitCode::SUCCESS)
}

fn parse_wire(text: &str) -> Result<Wire, String> {
    Wire::parse(text).ok_or_else(|| format!("{text:?} is not a provider: twilio or exotel"))
}

/// `N` or `MIN-MAX` whole milliseconds, as a (min, max) pair.
fn parse_ms_range(text: &str) -> Result<(Duration, Duration), String> {
    let ms = |part: &str| -> Result<Duration, String> {
        part.trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| {
                format!(
                    "{text:?}: expected whole milliseconds, N or MIN-MAX (e.g. 60000 or 500-2000)"
                )
            })
    };
    let (min, max) = match text.split_once('-') {
        Some((a, b)) => (ms(a)?, ms(b)?),
        None => {
            let n = ms(text)?;
            (n, n)
        }
    };
    if min > max {
        return Err(format!("{text:?}: the minimum exceeds the maximum"));
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_ranges_parse_one_value_or_a_range() {
        let ms = Duration::from_millis;
        assert_eq!(parse_ms_range("60000"), Ok((ms(60_000), ms(60_000))));
        assert_eq!(parse_ms_range("500-2000"), Ok((ms(500), ms(2_000))));
        assert_eq!(parse_ms_range("0"), Ok((ms(0), ms(0))));
    }

    #[test]
    fn bad_ms_ranges_are_refused_with_the_reason() {
        assert!(
            parse_ms_range("2000-500")
                .unwrap_err()
                .contains("minimum exceeds")
        );
        for bad in ["", "1.5", "-5", "5-", "a-b", "10s"] {
            let err = parse_ms_range(bad).unwrap_err();
            assert!(err.contains("whole milliseconds"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_ring_time_reaches_the_simulator_config() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: SimulateArgs,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--listen",
            "127.0.0.1:0",
            "--account-sid",
            "AC1",
            "--auth-token",
            "t",
            "--ring-ms",
            "60000",
            "--think-ms",
            "10-20",
        ])
        .unwrap();
        assert_eq!(
            cli.args.ring_ms,
            Some((Duration::from_secs(60), Duration::from_secs(60)))
        );
        assert_eq!(
            cli.args.think_ms,
            Some((Duration::from_millis(10), Duration::from_millis(20)))
        );
        assert!(
            Cli::try_parse_from([
                "x",
                "--listen",
                "127.0.0.1:0",
                "--account-sid",
                "AC1",
                "--auth-token",
                "t",
                "--ring-ms",
                "slow",
            ])
            .is_err()
        );
    }
}
