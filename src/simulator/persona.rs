//! Personas: a scripted caller, for tests and demos that need to know what
//! a citizen will press rather than draw it from the seed.
//!
//! Owns: the persona format (`{"presses": ["1", "", "hangup"], "then":
//! "silent", "pick_up": "busy", "talk_secs": 90}`), its validation, and
//! playing it Gather by Gather. Does not
//! own: the random citizen it falls back to (`citizen`) or acting on the
//! answers (`call`).

use serde::{Deserialize, Serialize};

use super::SimulatorConfig;
use super::citizen::{Citizen, KEYPAD, Response, silent};
use super::ledger::PressKind;
use super::twiml::Gather;

/// The `presses` entry that hangs up instead of pressing.
const HANG_UP: &str = "hangup";

/// What a caller does, Gather by Gather.
///
/// Each `<Gather>` takes the next entry of `presses`: keypad keys to press,
/// `""` to press nothing (the Gather times out), or `"hangup"`. Once the
/// list is spent, `then` decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Persona {
    pub presses: Vec<String>,
    pub then: AfterScript,
    /// Whether the phone picks up an outbound call or a `<Dial>` to it
    /// (a persona given per number, `SimulatorConfig::personas`).
    pub pick_up: PickUp,
    /// How long the person talks once a `<Dial>` connects them, in
    /// simulated seconds (the seeded citizen draws 30-180 s when absent).
    pub talk_secs: Option<u32>,
}

/// Whether a persona's phone is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PickUp {
    /// As the fate rates draw.
    #[default]
    Draw,
    Answer,
    Busy,
    NoAnswer,
    Failed,
}

/// What a persona does at the Gathers after its scripted presses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterScript {
    /// Answer as the seeded random citizen does.
    #[default]
    Random,
    /// Hang up at the next Gather.
    #[serde(rename = "hangup", alias = "hang_up")]
    HangUp,
    /// Press nothing at every further Gather.
    Silent,
}

/// A `presses` entry that is neither keypad keys, `""` nor `"hangup"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "persona press {index} is {press:?}; use keypad keys (0-9, *, #), \"\" for none or \"hangup\""
)]
pub struct PersonaError {
    pub index: usize,
    pub press: String,
}

impl Persona {
    /// Checks every scripted press.
    pub fn validate(&self) -> Result<(), PersonaError> {
        let bad = self
            .presses
            .iter()
            .enumerate()
            .find(|(_, p)| *p != HANG_UP && !p.chars().all(|c| KEYPAD.contains(c)));
        match bad {
            Some((index, press)) => Err(PersonaError {
                index,
                press: press.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// A persona as one call plays it.
pub(crate) struct Scripted {
    persona: Persona,
    next: usize,
}

impl Scripted {
    pub(crate) fn new(persona: Persona) -> Self {
        Self { persona, next: 0 }
    }

    /// What the caller does at `gather`: the next scripted entry, or once the
    /// script is spent, what `then` says.
    pub(crate) fn respond(
        &mut self,
        citizen: &mut Citizen,
        config: &SimulatorConfig,
        gather: &Gather,
    ) -> Response {
        let Some(press) = self.persona.presses.get(self.next) else {
            return match self.persona.then {
                AfterScript::Random => citizen.respond(config, gather),
                AfterScript::HangUp => Response::HangUp,
                AfterScript::Silent => silent(),
            };
        };
        self.next += 1;
        if press == HANG_UP {
            return Response::HangUp;
        }
        let digits = collected(press, gather);
        let kind = classify(&digits, gather);
        Response::Press { digits, kind }
    }
}

/// The keys Twilio would report for `press`: none on a speech-only Gather,
/// at most `numDigits`, and nothing from the finishing key on.
fn collected(press: &str, gather: &Gather) -> String {
    if !gather.dtmf {
        return String::new();
    }
    let limit = gather
        .num_digits
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    press
        .chars()
        .take_while(|c| !gather.finish_on_key.contains(*c))
        .take(limit)
        .collect()
}

/// Judges scripted keys against the daemon's hint, as the ledger reports a
/// random citizen's: without a hint, any keys count as valid.
fn classify(digits: &str, gather: &Gather) -> PressKind {
    if digits.is_empty() {
        return PressKind::Silent;
    }
    let Some(hint) = &gather.hint else {
        return PressKind::Valid;
    };
    let mut keys = digits.chars();
    if let (Some(key), None) = (keys.next(), keys.next())
        && hint.opt_out == Some(key)
    {
        return PressKind::OptOut;
    }
    if hint.choices.is_empty() || digits.chars().all(|c| hint.choices.contains(c)) {
        PressKind::Valid
    } else {
        PressKind::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::super::twiml::{ChoicesHint, Method};
    use super::*;

    fn gather() -> Gather {
        Gather {
            action: None,
            method: Method::Post,
            num_digits: Some(1),
            timeout_secs: 5,
            finish_on_key: "#".into(),
            dtmf: true,
            action_on_empty_result: true,
            hint: Some(ChoicesHint {
                choices: "12".into(),
                opt_out: Some('9'),
            }),
            prompts: vec![],
        }
    }

    fn press(digits: &str, kind: PressKind) -> Response {
        Response::Press {
            digits: digits.into(),
            kind,
        }
    }

    #[test]
    fn parses_the_documented_json_with_every_field_optional() {
        let p: Persona =
            serde_json::from_str(r#"{"presses": ["1", "", "5"], "then": "hangup"}"#).unwrap();
        assert_eq!(p.presses, ["1", "", "5"]);
        assert_eq!(p.then, AfterScript::HangUp);
        assert_eq!(
            serde_json::from_str::<Persona>("{}").unwrap(),
            Persona::default()
        );
        let p: Persona = serde_json::from_str(r#"{"then": "silent"}"#).unwrap();
        assert_eq!(p.then, AfterScript::Silent);
        assert!(serde_json::from_str::<Persona>(r#"{"press": ["1"]}"#).is_err());
        assert!(serde_json::from_str::<Persona>(r#"{"then": "sing"}"#).is_err());
    }

    #[test]
    fn validation_names_the_bad_press() {
        let p = Persona {
            presses: vec!["1".into(), "".into(), "hangup".into(), "12#".into()],
            then: AfterScript::Random,
            ..Persona::default()
        };
        p.validate().unwrap();
        let p = Persona {
            presses: vec!["1".into(), "one".into()],
            ..Persona::default()
        };
        let error = p.validate().unwrap_err();
        assert_eq!(error.index, 1);
        assert!(error.to_string().contains("\"one\""), "{error}");
    }

    #[test]
    fn plays_the_script_then_the_fallback() {
        let config = SimulatorConfig::default();
        let g = gather();
        let mut citizen = Citizen::new(1, 0);
        let persona = Persona {
            presses: ["1", "", "9", "7", "#", "hangup"]
                .map(String::from)
                .to_vec(),
            then: AfterScript::Silent,
            ..Persona::default()
        };
        let mut scripted = Scripted::new(persona);
        let mut answers: Vec<_> = (0..7)
            .map(|_| scripted.respond(&mut citizen, &config, &g))
            .collect();
        assert_eq!(answers.pop(), Some(silent()), "then: silent");
        assert_eq!(
            answers,
            [
                press("1", PressKind::Valid),
                press("", PressKind::Silent),
                press("9", PressKind::OptOut),
                press("7", PressKind::Invalid),
                press("", PressKind::Silent),
                Response::HangUp,
            ]
        );
        let mut hang_up = Scripted::new(Persona {
            then: AfterScript::HangUp,
            ..Persona::default()
        });
        assert_eq!(hang_up.respond(&mut citizen, &config, &g), Response::HangUp);
    }
}
