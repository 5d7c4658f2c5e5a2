//! A campaign's retry ladder: per outcome, the waits before each further
//! attempt (`"busy": ["10m", "1h"]`; the last repeats; `[]` never retries
//! that outcome), and how many calls at most. Outcomes it does not name use
//! the daemon's `dialer.retry_backoff_secs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::parse_duration;

/// Waits in milliseconds, per outcome a call can be retried after.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryLadder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_answer: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<Vec<u64>>,
    /// Answered, but no key press ever came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_input: Option<Vec<u64>>,
    /// Answered by an answering machine or fax, as the provider's
    /// answering-machine detection (campaign `machine_detection`) said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Vec<u64>>,
}

const KEYS: [&str; 6] = [
    "max_attempts",
    "busy",
    "no_answer",
    "failed",
    "no_input",
    "machine",
];

impl RetryLadder {
    /// The document's `retry` object, or every problem with it.
    pub fn parse(value: &Value) -> Result<RetryLadder, Vec<String>> {
        let Some(obj) = value.as_object() else {
            return Err(vec!["field `retry` must be an object".into()]);
        };
        let mut problems = Vec::new();
        for key in obj.keys().filter(|k| !KEYS.contains(&k.as_str())) {
            problems.push(format!(
                "field `retry.{key}` is not known (use {})",
                KEYS.join(", ")
            ));
        }
        let max_attempts = obj.get("max_attempts").and_then(|v| {
            match v.as_u64().filter(|n| (1..=20).contains(n)) {
                Some(n) => Some(n as u32),
                None => {
                    problems
                        .push("field `retry.max_attempts` must be a whole number in 1..=20".into());
                    None
                }
            }
        });
        let mut ladder = |name: &str| -> Option<Vec<u64>> {
            let items = obj.get(name)?;
            let Some(items) = items.as_array() else {
                problems.push(format!("field `retry.{name}` must be a list of durations"));
                return None;
            };
            let mut waits = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(parse_duration) {
                    Some(Ok(d)) if !d.is_zero() => {
                        waits.push(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                    }
                    Some(Ok(_)) => {
                        problems.push(format!("`retry.{name}[{i}]` must be longer than 0"))
                    }
                    Some(Err(e)) => problems.push(format!("`retry.{name}[{i}]`: {e}")),
                    None => {
                        problems.push(format!("`retry.{name}[{i}]` must be a string like \"10m\""))
                    }
                }
            }
            Some(waits)
        };
        let (busy, no_answer, failed, no_input, machine) = (
            ladder("busy"),
            ladder("no_answer"),
            ladder("failed"),
            ladder("no_input"),
            ladder("machine"),
        );
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(RetryLadder {
            max_attempts,
            busy,
            no_answer,
            failed,
            no_input,
            machine,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_machine_key_is_a_ladder_like_the_others() {
        let ladder =
            RetryLadder::parse(&json!({"max_attempts": 3, "machine": ["30m", "2h"]})).unwrap();
        assert_eq!(ladder.machine, Some(vec![1_800_000, 7_200_000]));
        assert_eq!(ladder.busy, None);
        let never = RetryLadder::parse(&json!({"machine": []})).unwrap();
        assert_eq!(never.machine, Some(Vec::new()));
        // Stored with the job and read back unchanged; absent when unset.
        let stored = serde_json::to_string(&ladder).unwrap();
        assert_eq!(
            serde_json::from_str::<RetryLadder>(&stored).unwrap(),
            ladder
        );
        let plain = serde_json::to_string(&RetryLadder::default()).unwrap();
        assert_eq!(plain, "{}");
        let problems = RetryLadder::parse(&json!({"machine": ["0s", 5], "voicemail": ["1h"]}))
            .unwrap_err()
            .join("\n");
        for want in [
            "retry.machine[0]",
            "retry.machine[1]",
            "retry.voicemail",
            "machine",
        ] {
            assert!(problems.contains(want), "{want} in {problems}");
        }
    }
}
