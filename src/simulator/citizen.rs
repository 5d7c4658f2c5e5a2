//! The simulated citizen: whether the phone is answered and what keys get
//! pressed, drawn from a per-call RNG so a run is reproducible from the seed.
//!
//! Owns: every random choice a call makes. Does not own: acting on them.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::SimulatorConfig;
use super::ledger::PressKind;
use super::twiml::Gather;
use crate::domain::CallStatus;

/// Keys a phone keypad can send.
pub(crate) const KEYPAD: &str = "0123456789*#";

/// How a call attempt turns out once the phone has rung.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// The citizen picks up.
    Person,
    /// An answering machine picks up.
    Voicemail,
    /// Nobody picks up: busy, no answer or failed.
    Unanswered(CallStatus),
}

/// What the citizen does at a Gather.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Response {
    HangUp,
    Press { digits: String, kind: PressKind },
}

/// One call's source of randomness; choices are drawn in call order, so the
/// same seed, call index and TwiML give the same call.
pub(crate) struct Citizen {
    rng: SmallRng,
}

impl Citizen {
    pub(crate) fn new(seed: u64, call_index: u64) -> Self {
        Self {
            rng: SmallRng::seed_from_u64(seed.wrapping_add(call_index)),
        }
    }

    /// How the call attempt ends up. Voicemail comes last, so a config
    /// without it draws exactly what it drew before voicemail existed.
    pub(crate) fn fate(&mut self, config: &SimulatorConfig) -> Fate {
        let weights = [
            (config.answer_rate, Fate::Person),
            (config.busy_rate, Fate::Unanswered(CallStatus::Busy)),
            (
                config.no_answer_rate,
                Fate::Unanswered(CallStatus::NoAnswer),
            ),
            (config.failed_rate, Fate::Unanswered(CallStatus::Failed)),
            (config.voicemail_rate, Fate::Voicemail),
        ];
        let total: f64 = weights.iter().map(|(w, _)| w).sum();
        let mut draw = self.rng.random::<f64>() * total;
        for (weight, fate) in weights {
            if draw < weight {
                return fate;
            }
            draw -= weight;
        }
        // Rounding can leave a sliver past the last bucket.
        Fate::Person
    }

    /// A uniform draw from `range` (inclusive).
    pub(crate) fn delay(&mut self, (min, max): (Duration, Duration)) -> Duration {
        if max <= min {
            return min;
        }
        let span = u64::try_from((max - min).as_micros()).unwrap_or(u64::MAX);
        min + Duration::from_micros(self.rng.random_range(0..=span))
    }

    /// What the citizen does at `gather`, per the per-Gather rates.
    /// Seconds a connected person talks, drawn in `(min, max)`.
    pub(crate) fn talk_secs(&mut self, (min, max): (u64, u64)) -> u64 {
        self.rng.random_range(min..=max.max(min))
    }

    pub(crate) fn respond(&mut self, config: &SimulatorConfig, gather: &Gather) -> Response {
        let draw = self.rng.random::<f64>();
        let mut edge = config.hangup_rate;
        if draw < edge {
            return Response::HangUp;
        }
        edge += config.silent_rate;
        if draw < edge || !gather.dtmf {
            return silent();
        }
        edge += config.opt_out_rate;
        if draw < edge
            && let Some(key) = gather.hint.as_ref().and_then(|h| h.opt_out)
        {
            return press(key, PressKind::OptOut);
        }
        edge += config.invalid_key_rate;
        if draw < edge
            && let Some(key) = self.invalid_key(gather)
        {
            return press(key, PressKind::Invalid);
        }
        self.valid_press(gather)
    }

    fn valid_press(&mut self, gather: &Gather) -> Response {
        let choices: Vec<char> = match &gather.hint {
            Some(hint) if !hint.choices.is_empty() => hint.choices.chars().collect(),
            // Without the daemon's hint any digit may be right.
            _ => "123456789"
                .chars()
                .filter(|c| !gather.finish_on_key.contains(*c))
                .collect(),
        };
        match pick(&mut self.rng, &choices) {
            Some(key) => press(key, PressKind::Valid),
            None => silent(),
        }
    }

    /// A key that is neither a choice, the opt-out key nor the finishing key
    /// (which would end the Gather with nothing pressed).
    fn invalid_key(&mut self, gather: &Gather) -> Option<char> {
        let hint = gather.hint.as_ref()?;
        let keys: Vec<char> = KEYPAD
            .chars()
            .filter(|c| {
                !hint.choices.contains(*c)
                    && hint.opt_out != Some(*c)
                    && !gather.finish_on_key.contains(*c)
            })
            .collect();
        pick(&mut self.rng, &keys)
    }
}

fn pick(rng: &mut SmallRng, keys: &[char]) -> Option<char> {
    if keys.is_empty() {
        return None;
    }
    keys.get(rng.random_range(0..keys.len())).copied()
}

fn press(key: char, kind: PressKind) -> Response {
    Response::Press {
        digits: key.to_string(),
        kind,
    }
}

pub(crate) fn silent() -> Response {
    Response::Press {
        digits: String::new(),
        kind: PressKind::Silent,
    }
}

#[cfg(test)]
mod tests {
    use super::super::twiml::{ChoicesHint, Method};
    use super::*;

    fn gather(hint: Option<(&str, Option<char>)>) -> Gather {
        Gather {
            action: None,
            method: Method::Post,
            num_digits: Some(1),
            timeout_secs: 5,
            finish_on_key: "#".into(),
            dtmf: true,
            action_on_empty_result: true,
            hint: hint.map(|(c, o)| ChoicesHint {
                choices: c.into(),
                opt_out: o,
            }),
            prompts: vec![],
        }
    }

    fn only(rate: fn(&mut SimulatorConfig)) -> SimulatorConfig {
        let mut config = SimulatorConfig {
            invalid_key_rate: 0.0,
            silent_rate: 0.0,
            opt_out_rate: 0.0,
            hangup_rate: 0.0,
            ..SimulatorConfig::default()
        };
        rate(&mut config);
        config
    }

    #[test]
    fn same_seed_same_choices() {
        let config = SimulatorConfig::default();
        let g = gather(Some(("12", Some('9'))));
        let run = |index| {
            let mut c = Citizen::new(7, index);
            let fate = c.fate(&config);
            let answers: Vec<_> = (0..20).map(|_| c.respond(&config, &g)).collect();
            (fate, answers)
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3).1, run(4).1);
    }

    #[test]
    fn each_knob_produces_its_kind() {
        let g = gather(Some(("12", Some('9'))));
        let mut c = Citizen::new(1, 0);
        for _ in 0..50 {
            let valid = c.respond(&only(|_| {}), &g);
            let Response::Press { digits, kind } = valid else {
                panic!("expected a press")
            };
            assert!(
                kind == PressKind::Valid && "12".contains(&digits),
                "{digits}"
            );
            let invalid = c.respond(&only(|c| c.invalid_key_rate = 1.0), &g);
            let Response::Press { digits, kind } = invalid else {
                panic!("expected a press")
            };
            assert_eq!(kind, PressKind::Invalid);
            assert!(!"129#".contains(&digits) && digits.len() == 1, "{digits}");
        }
        assert_eq!(
            c.respond(&only(|c| c.opt_out_rate = 1.0), &g),
            press('9', PressKind::OptOut)
        );
        assert_eq!(c.respond(&only(|c| c.silent_rate = 1.0), &g), silent());
        assert_eq!(
            c.respond(&only(|c| c.hangup_rate = 1.0), &g),
            Response::HangUp
        );
    }

    #[test]
    fn without_a_hint_any_digit_and_opt_out_falls_back_to_valid() {
        let g = gather(None);
        let mut c = Citizen::new(1, 0);
        for _ in 0..50 {
            let Response::Press { digits, kind } = c.respond(&only(|c| c.opt_out_rate = 1.0), &g)
            else {
                panic!("expected a press")
            };
            assert_eq!(kind, PressKind::Valid);
            assert!("123456789".contains(&digits) && digits.len() == 1);
        }
    }

    #[test]
    fn fate_follows_the_weights() {
        let config = SimulatorConfig {
            answer_rate: 0.0,
            busy_rate: 1.0,
            no_answer_rate: 0.0,
            failed_rate: 0.0,
            ..SimulatorConfig::default()
        };
        assert!(
            (0..20).all(|i| Citizen::new(9, i).fate(&config) == Fate::Unanswered(CallStatus::Busy))
        );
        let machines = SimulatorConfig {
            busy_rate: 0.0,
            voicemail_rate: 2.0,
            ..config
        };
        assert!((0..20).all(|i| Citizen::new(9, i).fate(&machines) == Fate::Voicemail));
        let delay = Citizen::new(1, 1).delay((Duration::from_millis(2), Duration::from_millis(3)));
        assert!(delay >= Duration::from_millis(2) && delay <= Duration::from_millis(3));
    }
}
