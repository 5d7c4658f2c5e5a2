//! The process-wide tracing subscriber: JSON lines for machines or a
//! human-readable format, filtered by an `EnvFilter` directive, to stderr.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::Deserialize;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line, fields flattened, for log shippers.
    Json,
    /// One human-readable line per event (coloured on a terminal, local
    /// times, no module paths).
    Pretty,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("unknown log format {other:?}; use json or pretty")),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogFormat::Json => "json",
            LogFormat::Pretty => "pretty",
        })
    }
}

/// Why the subscriber could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("log level {directive:?} is not a valid filter directive: {source}")]
    Filter {
        directive: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
}

/// Installs the global subscriber, pretty times in UTC; see [`init_in_zone`].
pub fn init(format: LogFormat, level: &str) -> Result<(), TelemetryError> {
    init_in_zone(format, level, "UTC")
}

/// Installs the global subscriber. The level is an `EnvFilter` directive
/// (`info`, `warn,sampark=debug`); it comes from settings, not `RUST_LOG`,
/// because only `config` reads the environment.
///
/// `json`: one object per line, fields flattened, RFC 3339 UTC times.
/// `pretty`: one line per event for a terminal — the time in `zone` (an
/// IANA name; `serve` passes the calling window's, the zone the programme
/// works in) to the second, the level, the span, the sentence, then the
/// fields; no module paths; coloured only on a terminal.
///
/// Calling it again (tests, embedded demo) is harmless: the first
/// subscriber stays and later calls only check their directive.
pub fn init_in_zone(format: LogFormat, level: &str, zone: &str) -> Result<(), TelemetryError> {
    let filter = EnvFilter::try_new(level).map_err(|source| TelemetryError::Filter {
        directive: level.to_owned(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // `try_init` fails only when a global subscriber already exists, which
    // is exactly the repeat call we promise to tolerate.
    let _already_set = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder
            .compact()
            .with_target(false)
            .with_timer(LocalTime::in_zone(zone))
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
    Ok(())
}

/// Times of the pretty format: `2026-03-02 14:05:09 IST`.
struct LocalTime(TimeZone);

impl LocalTime {
    /// `zone` from the tz database built in; UTC if it is not there
    /// (settings validation has already refused unknown zones).
    fn in_zone(zone: &str) -> LocalTime {
        LocalTime(
            TimeZoneDatabase::bundled()
                .get(zone)
                .unwrap_or(TimeZone::UTC),
        )
    }
}

impl FormatTime for LocalTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let now = jiff::Timestamp::now().to_zoned_datetime(self.0.clone());
        write!(w, "{}", now.strftime("%Y-%m-%d %H:%M:%S %Z"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_directive_is_refused_and_repeats_are_harmless() {
        let err = init(LogFormat::Json, "info,sampark=loud").unwrap_err();
        assert!(err.to_string().contains("sampark=loud"), "{err}");
        init(LogFormat::Json, "info").unwrap();
        init(LogFormat::Pretty, "debug,hyper=warn").unwrap();
        tracing::info!(test.field = 1, "subscriber accepts events after re-init");
    }

    #[test]
    fn pretty_times_are_in_the_zone_asked_for() {
        let mut text = String::new();
        LocalTime::in_zone("Asia/Kolkata")
            .format_time(&mut Writer::new(&mut text))
            .unwrap();
        assert!(text.ends_with(" IST"), "{text}");
        assert_eq!(text.len(), "2026-03-02 14:05:09 IST".len(), "{text}");
        let mut utc = String::new();
        LocalTime::in_zone("Not/AZone")
            .format_time(&mut Writer::new(&mut utc))
            .unwrap();
        assert!(utc.ends_with(" UTC"), "{utc}");
    }

    #[test]
    fn format_parses_and_prints() {
        for f in [LogFormat::Json, LogFormat::Pretty] {
            assert_eq!(f.to_string().parse::<LogFormat>().unwrap(), f);
        }
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
