//! The simulator's knobs: how calls end, how citizens answer, how fast.
//!
//! Owns: `SimulatorConfig` and its defaults. Does not own: drawing from the
//! distributions (see `citizen`) or placing inbound calls (`inbound`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::client::is_http_url;
use super::persona::Persona;
use crate::domain::PhoneNumber;

/// Everything that shapes the simulated provider's behaviour.
///
/// The five fate rates are relative weights (they need not sum to 1); the
/// four per-Gather rates are probabilities, and whatever they leave over is
/// the chance of a valid key press.
#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    /// The Twilio account id the REST API accepts (`AC` + 32 hex).
    pub account_sid: String,
    /// The secret for Basic auth and for signing webhooks.
    pub auth_token: String,
    /// Seeds every per-call random choice (fate, keys, delays).
    pub seed: u64,
    pub answer_rate: f64,
    pub busy_rate: f64,
    pub no_answer_rate: f64,
    pub failed_rate: f64,
    /// Calls an answering machine picks up (voicemail): it says nothing at
    /// any Gather, and answering-machine detection reports it as a machine.
    pub voicemail_rate: f64,
    /// Numbers (E.164) whose calls an answering machine always picks up,
    /// whatever the fate rates draw.
    pub voicemail_numbers: Vec<String>,
    /// Numbers (E.164) with a scripted phone: whether it picks up, what it
    /// presses, how long it talks when bridged (e.g. an official who
    /// always answers and keys a disposition, a citizen who is busy).
    pub personas: BTreeMap<String, Persona>,
    /// Per Gather: press a key that is not among the choices.
    pub invalid_key_rate: f64,
    /// Per Gather: press nothing.
    pub silent_rate: f64,
    /// Per Gather: press the opt-out key (when the Gather has one).
    pub opt_out_rate: f64,
    /// Per Gather: hang up instead of answering.
    pub hangup_rate: f64,
    /// Calls not yet ended; one more originate is refused with 429 / 20429.
    pub max_concurrent: usize,
    /// Originates per second; over it is refused with 429 / 20429.
    pub calls_per_second: Option<u32>,
    /// How long a phone rings before its fate shows (drawn uniformly).
    pub ring_delay: (Duration, Duration),
    /// How long a citizen thinks before each key press (drawn uniformly).
    pub think_delay: (Duration, Duration),
    /// Extra attempts for a status callback that got a 5xx or no answer.
    pub status_retries: u32,
    /// Where to append the ledger, one JSON line per entry.
    pub ledger: Option<PathBuf>,
    /// Limit on every outgoing webhook request (connect + response body).
    pub http_timeout: Duration,
    /// The programme number's Voice URL, POSTed when a citizen calls it;
    /// without one no inbound call can be placed.
    pub inbound_voice_url: Option<String>,
    /// The programme number's status callback URL (POST, `completed` or
    /// `failed` once per inbound call).
    pub inbound_status_url: Option<String>,
    /// The programme's number citizens call (E.164).
    pub inbound_number: String,
    /// Average automatic inbound calls a minute; 0 places none.
    pub inbound_rate_per_minute: f64,
    /// Callers for inbound calls without a given number (E.164), drawn
    /// uniformly; when empty, random Indian mobile numbers.
    pub inbound_callers: Vec<String>,
    /// Real seconds a `<Pause>` takes per second of its length: 0 (the
    /// default) runs calls as fast as possible; 1 holds the call as a real
    /// one would (for tests of a daemon holding calls through an outage).
    pub pause_scale: f64,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            auth_token: "test_auth_token".into(),
            seed: 42,
            answer_rate: 0.8,
            busy_rate: 0.08,
            no_answer_rate: 0.1,
            failed_rate: 0.02,
            voicemail_rate: 0.0,
            voicemail_numbers: Vec::new(),
            personas: BTreeMap::new(),
            invalid_key_rate: 0.05,
            silent_rate: 0.05,
            opt_out_rate: 0.02,
            hangup_rate: 0.02,
            max_concurrent: 1000,
            calls_per_second: None,
            ring_delay: (Duration::from_millis(5), Duration::from_millis(20)),
            think_delay: (Duration::from_millis(1), Duration::from_millis(5)),
            status_retries: 5,
            ledger: None,
            http_timeout: Duration::from_secs(10),
            inbound_voice_url: None,
            inbound_status_url: None,
            inbound_number: "+916742100100".into(),
            inbound_rate_per_minute: 0.0,
            inbound_callers: Vec::new(),
            pause_scale: 0.0,
        }
    }
}

impl SimulatorConfig {
    /// Reports every problem at once.
    pub fn validate(&self) -> Result<(), super::SimulatorError> {
        let mut problems = Vec::new();
        let rates = [
            ("answer_rate", self.answer_rate),
            ("busy_rate", self.busy_rate),
            ("no_answer_rate", self.no_answer_rate),
            ("failed_rate", self.failed_rate),
            ("voicemail_rate", self.voicemail_rate),
            ("invalid_key_rate", self.invalid_key_rate),
            ("silent_rate", self.silent_rate),
            ("opt_out_rate", self.opt_out_rate),
            ("hangup_rate", self.hangup_rate),
        ];
        for (name, rate) in rates {
            if !rate.is_finite() || rate < 0.0 {
                problems.push(format!("{name} must be a finite number >= 0"));
            }
        }
        let fates = self.answer_rate
            + self.busy_rate
            + self.no_answer_rate
            + self.failed_rate
            + self.voicemail_rate;
        if fates <= 0.0 {
            problems.push("the five fate rates must not all be 0".into());
        }
        for (index, number) in self.voicemail_numbers.iter().enumerate() {
            if let Err(error) = PhoneNumber::parse(number) {
                // The index, not the number: configured numbers stay out of logs.
                problems.push(format!("voicemail_numbers[{index}] is not E.164: {error}"));
            }
        }
        for (index, (number, persona)) in self.personas.iter().enumerate() {
            if let Err(error) = PhoneNumber::parse(number) {
                problems.push(format!(
                    "personas[{index}]: the number is not E.164: {error}"
                ));
            }
            if let Err(error) = persona.validate() {
                problems.push(format!("personas[{index}]: {error}"));
            }
        }
        let per_gather =
            self.invalid_key_rate + self.silent_rate + self.opt_out_rate + self.hangup_rate;
        if per_gather > 1.0 + 1e-9 {
            problems.push(format!(
                "invalid_key_rate + silent_rate + opt_out_rate + hangup_rate is {per_gather}, above 1"
            ));
        }
        if !self.pause_scale.is_finite() || !(0.0..=10.0).contains(&self.pause_scale) {
            problems.push("pause_scale must be between 0 and 10".into());
        }
        if self.ring_delay.0 > self.ring_delay.1 {
            problems.push("ring_delay's minimum exceeds its maximum".into());
        }
        if self.think_delay.0 > self.think_delay.1 {
            problems.push("think_delay's minimum exceeds its maximum".into());
        }
        if self.calls_per_second == Some(0) {
            problems.push("calls_per_second must be at least 1 when set".into());
        }
        if self.account_sid.len() != 34 || !self.account_sid.starts_with("AC") {
            problems.push("account_sid must be AC followed by 32 hex digits".into());
        }
        self.check_inbound(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(super::SimulatorError::Config(problems.join("; ")))
        }
    }

    /// The scripted phone at `to`, if one is configured.
    pub(crate) fn persona_for(&self, to: &PhoneNumber) -> Option<&Persona> {
        self.personas
            .iter()
            .find(|(n, _)| PhoneNumber::parse(n).is_ok_and(|n| &n == to))
            .map(|(_, p)| p)
    }

    /// Whether an answering machine always picks up calls to `to`.
    pub(crate) fn is_voicemail(&self, to: &PhoneNumber) -> bool {
        self.voicemail_numbers
            .iter()
            .any(|n| PhoneNumber::parse(n).is_ok_and(|n| &n == to))
    }

    fn check_inbound(&self, problems: &mut Vec<String>) {
        let rate = self.inbound_rate_per_minute;
        if !rate.is_finite() || rate < 0.0 {
            problems.push("inbound_rate_per_minute must be a finite number >= 0".into());
        } else if rate > 0.0 && self.inbound_voice_url.is_none() {
            problems.push("inbound_rate_per_minute above 0 needs an inbound_voice_url".into());
        }
        let urls = [
            ("inbound_voice_url", &self.inbound_voice_url),
            ("inbound_status_url", &self.inbound_status_url),
        ];
        for (name, url) in urls {
            if let Some(url) = url
                && !is_http_url(url)
            {
                problems.push(format!("{name} must be an absolute http(s) URL"));
            }
        }
        if let Err(error) = PhoneNumber::parse(&self.inbound_number) {
            problems.push(format!("inbound_number is not E.164: {error}"));
        }
        for (index, caller) in self.inbound_callers.iter().enumerate() {
            if let Err(error) = PhoneNumber::parse(caller) {
                // The index, not the number: configured numbers stay out of logs.
                problems.push(format!("inbound_callers[{index}] is not E.164: {error}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_every_problem_is_reported() {
        SimulatorConfig::default().validate().unwrap();
        let bad = SimulatorConfig {
            answer_rate: 0.0,
            busy_rate: 0.0,
            no_answer_rate: 0.0,
            failed_rate: -1.0,
            voicemail_rate: -0.5,
            voicemail_numbers: vec!["+919876543210".into(), "98765".into()],
            silent_rate: 0.9,
            hangup_rate: 0.9,
            calls_per_second: Some(0),
            account_sid: "nope".into(),
            ..SimulatorConfig::default()
        };
        let message = bad.validate().unwrap_err().to_string();
        assert!(!message.contains("voicemail_numbers[0]"), "{message}");
        for needle in [
            "failed_rate",
            "voicemail_rate",
            "voicemail_numbers[1]",
            "fate rates",
            "above 1",
            "calls_per_second",
            "account_sid",
        ] {
            assert!(message.contains(needle), "{needle} missing from {message}");
        }
    }

    #[test]
    fn inbound_settings_are_checked() {
        let bad = SimulatorConfig {
            inbound_rate_per_minute: 6.0,
            inbound_status_url: Some("/status".into()),
            inbound_number: "6742100100".into(),
            inbound_callers: vec!["+919876543210".into(), "+9198765".into()],
            ..SimulatorConfig::default()
        };
        let message = bad.validate().unwrap_err().to_string();
        for needle in [
            "needs an inbound_voice_url",
            "inbound_status_url must be",
            "inbound_number is not E.164",
            "inbound_callers[1]",
        ] {
            assert!(message.contains(needle), "{needle} missing from {message}");
        }
        assert!(!message.contains("inbound_callers[0]"), "{message}");
        let nan = SimulatorConfig {
            inbound_rate_per_minute: f64::NAN,
            ..SimulatorConfig::default()
        };
        assert!(nan.validate().is_err());
        let good = SimulatorConfig {
            inbound_rate_per_minute: 6.0,
            inbound_voice_url: Some("http://127.0.0.1:8099/twilio/voice".into()),
            inbound_callers: vec!["+919876543210".into()],
            ..SimulatorConfig::default()
        };
        good.validate().unwrap();
    }
}
