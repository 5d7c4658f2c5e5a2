//! Job states, terminal outcomes and provider call statuses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a contact ended. Every accepted contact ends in exactly one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The citizen answered every question.
    Completed,
    /// The call was answered but the survey was not finished (answers kept).
    Partial,
    NoAnswer,
    Busy,
    /// The provider could not place the call (e.g. invalid number), or retries ran out.
    Failed,
    /// The citizen asked not to be called again, now or in an earlier campaign.
    OptedOut,
    /// The campaign's deadline passed before the contact could be reached.
    Expired,
    Cancelled,
    /// The contact's data was unusable.
    Dead,
    /// An originate's fate could not be established with the provider.
    Unknown,
    /// Another contact of the same campaign has the same number and is the
    /// one called; the record's `reason` names it.
    Duplicate,
    /// The campaign calls a sample of its contacts and this one is not in it.
    NotSampled,
    /// An answering machine (or fax) picked up every call placed, as the
    /// provider's answering-machine detection reported; never surveyed.
    Machine,
}

impl Outcome {
    pub const ALL: [Outcome; 13] = [
        Outcome::Completed,
        Outcome::Partial,
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Failed,
        Outcome::OptedOut,
        Outcome::Expired,
        Outcome::Cancelled,
        Outcome::Dead,
        Outcome::Unknown,
        Outcome::Duplicate,
        Outcome::NotSampled,
        Outcome::Machine,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Partial => "partial",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Failed => "failed",
            Outcome::OptedOut => "opted_out",
            Outcome::Expired => "expired",
            Outcome::Cancelled => "cancelled",
            Outcome::Dead => "dead",
            Outcome::Unknown => "unknown",
            Outcome::Duplicate => "duplicate",
            Outcome::NotSampled => "not_sampled",
            Outcome::Machine => "machine",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown outcome {s:?}"))
    }
}

/// Where a job is in its lifecycle (see ARCHITECTURE.md, "Call lifecycle").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    Queued,
    Dialing,
    InCall,
    RetryWait,
    Done(Outcome),
}

impl JobState {
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Done(_))
    }

    /// The string stored in Redis and used as a status-count key.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Dialing => "dialing",
            JobState::InCall => "in_call",
            JobState::RetryWait => "retry_wait",
            JobState::Done(o) => o.as_str(),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => JobState::Queued,
            "dialing" => JobState::Dialing,
            "in_call" => JobState::InCall,
            "retry_wait" => JobState::RetryWait,
            other => JobState::Done(other.parse()?),
        })
    }
}

/// A provider call status (Twilio's `CallStatus` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
}

impl CallStatus {
    /// Status callbacks are ranked so a late or duplicate one never moves a
    /// call backwards: queued < initiated < ringing < in-progress < terminal.
    pub fn rank(self) -> u8 {
        match self {
            CallStatus::Queued => 1,
            CallStatus::Initiated => 2,
            CallStatus::Ringing => 3,
            CallStatus::InProgress => 4,
            _ => 5,
        }
    }

    pub fn is_terminal(self) -> bool {
        self.rank() == 5
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "queued",
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::InProgress => "in-progress",
            CallStatus::Completed => "completed",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no-answer",
            CallStatus::Failed => "failed",
            CallStatus::Canceled => "canceled",
        }
    }
}

impl FromStr for CallStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "queued" => CallStatus::Queued,
            "initiated" => CallStatus::Initiated,
            "ringing" => CallStatus::Ringing,
            "in-progress" | "answered" => CallStatus::InProgress,
            "completed" => CallStatus::Completed,
            "busy" => CallStatus::Busy,
            "no-answer" => CallStatus::NoAnswer,
            "failed" => CallStatus::Failed,
            "canceled" => CallStatus::Canceled,
            other => return Err(format!("unknown call status {other:?}")),
        })
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_strings() {
        for o in Outcome::ALL {
            let s = JobState::Done(o);
            assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
        }
        for s in [
            JobState::Queued,
            JobState::Dialing,
            JobState::InCall,
            JobState::RetryWait,
        ] {
            assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
        }
    }

    #[test]
    fn terminal_statuses_outrank_progress() {
        assert!(CallStatus::Ringing.rank() < CallStatus::InProgress.rank());
        assert!(CallStatus::InProgress.rank() < CallStatus::Completed.rank());
        assert!(CallStatus::Busy.is_terminal());
        assert!(!CallStatus::Ringing.is_terminal());
    }
}
