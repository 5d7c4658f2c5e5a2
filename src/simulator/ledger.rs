//! The ledger: what the simulated citizens did, as JSON lines, so tests and
//! the demo can compare it with what the daemon recorded.
//!
//! Owns: the entry format, appending (file + memory) and reading back. Does
//! not own: deciding what happens on a call.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::SimulatorError;
use super::direction::Direction;

/// How a simulated citizen answered a Gather.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PressKind {
    Valid,
    Invalid,
    Silent,
    OptOut,
}

/// One thing that happened, one JSON line each, tagged by `event`.
///
/// Every entry carries the call's `direction` (`"outbound"` or `"inbound"`);
/// lines written before inbound calls existed lack it and read as outbound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LedgerEntry {
    /// A call was accepted by the REST API.
    Originate {
        call_sid: String,
        /// The answer URL, or `""` when the call carried inline TwiML.
        url: String,
        status_callback: Option<String>,
        to_masked: String,
        at_ms: i64,
        #[serde(default)]
        direction: Direction,
        /// The originate's `MachineDetection` (`Enable`,
        /// `DetectMessageEnd`), when it asked for answering-machine
        /// detection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        machine_detection: Option<String>,
    },
    /// A citizen called the programme's number.
    Incoming {
        call_sid: String,
        /// The number's Voice URL.
        url: String,
        status_callback: Option<String>,
        from_masked: String,
        at_ms: i64,
        #[serde(default)]
        direction: Direction,
    },
    /// The citizen answered Gather number `gather` (0-based per call).
    Press {
        call_sid: String,
        gather: u32,
        /// The keys sent as `Digits`; `""` when silent.
        digits: String,
        kind: PressKind,
        #[serde(default)]
        direction: Direction,
    },
    /// An answering machine picked the call up (voicemail): it presses
    /// nothing at any Gather.
    Machine {
        call_sid: String,
        /// The `AnsweredBy` detection reported (`machine_start`,
        /// `machine_end_beep`); absent when the originate asked for none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answered_by: Option<String>,
        #[serde(default)]
        direction: Direction,
    },
    /// The citizen hung up during Gather number `gather`.
    Hangup {
        call_sid: String,
        gather: u32,
        #[serde(default)]
        direction: Direction,
    },
    /// A `<Dial>` on the call rang a second party (an official's call
    /// connecting the citizen) and that leg ended `status` (Twilio's
    /// `DialCallStatus`) after `talk_secs` connected.
    Bridge {
        call_sid: String,
        to_masked: String,
        /// The `callerId` the dialled party saw (the programme's number),
        /// absent when the Dial set none (the caller's own would show).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_id: Option<String>,
        status: String,
        talk_secs: u64,
        /// The dialled party heard the `<Number url>` document first.
        whispered: bool,
        recorded: bool,
    },
    /// The call reached its terminal status.
    End {
        call_sid: String,
        status: String,
        duration_secs: u64,
        #[serde(default)]
        direction: Direction,
    },
}

impl LedgerEntry {
    /// The call the entry is about.
    pub fn call_sid(&self) -> &str {
        match self {
            LedgerEntry::Originate { call_sid, .. }
            | LedgerEntry::Incoming { call_sid, .. }
            | LedgerEntry::Press { call_sid, .. }
            | LedgerEntry::Machine { call_sid, .. }
            | LedgerEntry::Hangup { call_sid, .. }
            | LedgerEntry::Bridge { call_sid, .. }
            | LedgerEntry::End { call_sid, .. } => call_sid,
        }
    }

    /// The direction of the call the entry is about.
    pub fn direction(&self) -> Direction {
        match self {
            LedgerEntry::Originate { direction, .. }
            | LedgerEntry::Incoming { direction, .. }
            | LedgerEntry::Press { direction, .. }
            | LedgerEntry::Machine { direction, .. }
            | LedgerEntry::Hangup { direction, .. }
            | LedgerEntry::End { direction, .. } => *direction,
            // A Dial is placed by a call sampark originated.
            LedgerEntry::Bridge { .. } => Direction::Outbound,
        }
    }
}

/// The ledger shared by every call task: an in-memory copy and an optional
/// file appended one flushed line at a time.
pub(crate) struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
    file: Mutex<Option<(PathBuf, File)>>,
}

impl Ledger {
    pub(crate) fn open(path: Option<&Path>) -> Result<Self, SimulatorError> {
        let file = match path {
            Some(path) => {
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SimulatorError::LedgerOpen {
                        path: path.to_owned(),
                        source,
                    })?;
                Some((path.to_owned(), file))
            }
            None => None,
        };
        Ok(Self {
            entries: Mutex::new(Vec::new()),
            file: Mutex::new(file),
        })
    }

    /// Records an entry. A failing file write is logged, not returned: the
    /// in-memory copy stays complete and the call goes on, as a real
    /// provider's would.
    pub(crate) fn append(&self, entry: LedgerEntry) {
        if let Some((path, file)) = lock(&self.file).as_mut() {
            let written = serde_json::to_string(&entry)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(file, "{line}"))
                .and_then(|()| file.flush());
            if let Err(error) = written {
                tracing::error!(ledger.path = %path.display(), %error, "simulator ledger write failed");
            }
        }
        lock(&self.entries).push(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<LedgerEntry> {
        lock(&self.entries).clone()
    }
}

/// Locks a mutex, carrying on if a panicking holder poisoned it: every
/// critical section here leaves the data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads a ledger file written by a simulator (blank lines are skipped).
pub fn read_ledger(path: impl AsRef<Path>) -> Result<Vec<LedgerEntry>, SimulatorError> {
    let path = path.as_ref();
    let read_err = |source| SimulatorError::LedgerRead {
        path: path.to_owned(),
        source,
    };
    let reader = BufReader::new(File::open(path).map_err(read_err)?);
    let mut entries = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(read_err)?;
        if line.trim().is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line).map_err(|source| SimulatorError::LedgerParse {
            path: path.to_owned(),
            line: index + 1,
            source,
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<LedgerEntry> {
        let outbound = Direction::Outbound;
        vec![
            LedgerEntry::Originate {
                call_sid: "CA1".into(),
                url: "http://x/answer?job=1".into(),
                status_callback: Some("http://x/status".into()),
                to_masked: "+91******3210".into(),
                at_ms: 1_700_000_000_000,
                direction: outbound,
                machine_detection: None,
            },
            LedgerEntry::Press {
                call_sid: "CA1".into(),
                gather: 0,
                digits: "".into(),
                kind: PressKind::Silent,
                direction: outbound,
            },
            LedgerEntry::Press {
                call_sid: "CA1".into(),
                gather: 1,
                digits: "9".into(),
                kind: PressKind::OptOut,
                direction: outbound,
            },
            LedgerEntry::Hangup {
                call_sid: "CA1".into(),
                gather: 2,
                direction: outbound,
            },
            LedgerEntry::End {
                call_sid: "CA1".into(),
                status: "completed".into(),
                duration_secs: 17,
                direction: outbound,
            },
            LedgerEntry::Incoming {
                call_sid: "CA2".into(),
                url: "http://x/voice".into(),
                status_callback: None,
                from_masked: "+91******3210".into(),
                at_ms: 1_700_000_000_001,
                direction: Direction::Inbound,
            },
            LedgerEntry::Originate {
                call_sid: "CA3".into(),
                url: "http://x/answer?job=3".into(),
                status_callback: None,
                to_masked: "+91******3210".into(),
                at_ms: 1_700_000_000_002,
                direction: outbound,
                machine_detection: Some("Enable".into()),
            },
            LedgerEntry::Machine {
                call_sid: "CA3".into(),
                answered_by: Some("machine_start".into()),
                direction: outbound,
            },
        ]
    }

    #[test]
    fn entries_are_tagged_json_lines() {
        let json = serde_json::to_string(&sample()[2]).unwrap();
        assert_eq!(
            json,
            r#"{"event":"press","call_sid":"CA1","gather":1,"digits":"9","kind":"opt_out","direction":"outbound"}"#
        );
        let json = serde_json::to_string(&sample()[4]).unwrap();
        assert!(json.starts_with(r#"{"event":"end","#), "{json}");
        let json = serde_json::to_string(&sample()[5]).unwrap();
        assert!(json.ends_with(r#","direction":"inbound"}"#), "{json}");
        assert_eq!(sample()[5].direction(), Direction::Inbound);
        assert_eq!(sample()[5].call_sid(), "CA2");
        // Answering-machine detection shows only when asked for.
        let plain = serde_json::to_string(&sample()[0]).unwrap();
        assert!(!plain.contains("machine_detection"), "{plain}");
        let amd = serde_json::to_string(&sample()[6]).unwrap();
        assert!(amd.contains(r#""machine_detection":"Enable""#), "{amd}");
        let machine = serde_json::to_string(&sample()[7]).unwrap();
        assert_eq!(
            machine,
            r#"{"event":"machine","call_sid":"CA3","answered_by":"machine_start","direction":"outbound"}"#
        );
        assert_eq!(sample()[7].call_sid(), "CA3");
    }

    #[test]
    fn lines_without_a_direction_read_as_outbound() {
        let old = r#"{"event":"press","call_sid":"CA1","gather":1,"digits":"9","kind":"opt_out"}"#;
        let entry: LedgerEntry = serde_json::from_str(old).unwrap();
        assert_eq!(entry, sample()[2]);
        assert_eq!(entry.direction(), Direction::Outbound);
    }

    #[test]
    fn file_round_trip_appends_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.jsonl");
        let ledger = Ledger::open(Some(&path)).unwrap();
        for entry in sample() {
            ledger.append(entry);
        }
        assert_eq!(ledger.snapshot(), sample());
        assert_eq!(read_ledger(&path).unwrap(), sample());
        // A second simulator on the same file appends rather than truncates.
        let again = Ledger::open(Some(&path)).unwrap();
        again.append(sample()[0].clone());
        assert_eq!(read_ledger(&path).unwrap().len(), sample().len() + 1);
    }

    #[test]
    fn a_corrupt_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(
            &path,
            "{\"event\":\"hangup\",\"call_sid\":\"CA1\",\"gather\":0}\n\nnot json\n",
        )
        .unwrap();
        match read_ledger(&path) {
            Err(SimulatorError::LedgerParse { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
