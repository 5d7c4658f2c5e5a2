//! The validated dialplan: what `parse` builds and the engine reads.
//!
//! Owns: the in-memory shape of a dialplan and read-only accessors. Every
//! value here has passed validation, so the engine can rely on, e.g., every
//! localized prompt having an entry for every declared language. Does not
//! own: reading or checking files (see `parse`), call flow (see `engine`).

use std::collections::BTreeMap;

use crate::domain::{ScoringRules, Severity};

/// A language the dialplan speaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Language {
    /// Short code used by contacts and menus (`or`, `hi`, `en`).
    pub code: String,
    /// BCP-47 language for the provider's TTS; `None` when the provider has
    /// no voice for it (Odia on Twilio), so prompts must carry audio.
    pub tts: Option<String>,
    /// Provider voice for `tts`.
    pub voice: Option<String>,
    /// Explicit opt-in for a language without `tts`: speak a prompt's text
    /// with this TTS language when the prompt has no audio.
    pub fallback_tts: Option<String>,
}

impl Language {
    /// The language the provider is told to speak this language's text in.
    /// A language with neither `tts` nor `fallback_tts` has audio on every
    /// prompt (validation enforces it); its bare code is still a valid
    /// BCP-47 tag for the transcript.
    pub fn speech_language(&self) -> &str {
        self.tts
            .as_deref()
            .or(self.fallback_tts.as_deref())
            .unwrap_or(&self.code)
    }

    /// The voice, which belongs to `tts` and so is not used for the fallback.
    pub fn speech_voice(&self) -> Option<&str> {
        self.tts.as_ref().and(self.voice.as_deref())
    }
}

/// One prompt in one language: text (may hold `{office}`/`{service}`),
/// recorded audio, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptSpec {
    pub text: Option<String>,
    pub audio: Option<String>,
}

/// A prompt in every language of the plan, indexed like `Dialplan::languages`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Localized(pub(super) Vec<PromptSpec>);

impl Localized {
    /// The prompt for language `index`, or the first one if the index is out
    /// of range (cannot happen in a validated plan).
    pub fn get(&self, index: usize) -> Option<&PromptSpec> {
        self.0.get(index).or(self.0.first())
    }
}

/// An entry of the language menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuOption {
    pub key: char,
    /// Index into `Dialplan::languages`.
    pub language: usize,
    /// Spoken in the option's own language ("for Odia press 1" in Odia).
    pub prompt: PromptSpec,
}

/// One possible answer to a question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub key: char,
    pub value: String,
    pub label: String,
    pub flag: Option<String>,
}

/// One question of the survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub prompt: Localized,
    pub choices: Vec<Choice>,
}

impl Question {
    pub fn choice(&self, key: char) -> Option<&Choice> {
        self.choices.iter().find(|c| c.key == key)
    }

    /// The valid keys in order, e.g. `"12"`.
    pub fn keys(&self) -> String {
        self.choices.iter().map(|c| c.key).collect()
    }
}

/// The fixed messages of a dialplan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Messages {
    pub intro: Localized,
    /// Said before repeating a question after invalid or no input.
    pub retry: Localized,
    pub closing: Localized,
    /// Said when retries run out, before hanging up.
    pub sorry: Localized,
    /// Said after the opt-out key; present exactly when the plan has one.
    pub opted_out: Option<Localized>,
}

/// The prompts of the optional `[inbound]` section, which attribute an
/// inbound call to one of the caller's recent visits (see `inbound`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundPrompts {
    /// Asked when the caller has exactly one recent visit (1 = yes, 2 = no).
    pub confirm: Localized,
    /// Spoken once per candidate visit; may use `{key}`.
    pub option: Localized,
    /// Spoken after the options (0 = none of these).
    pub none: Localized,
    /// Spoken, in the default language, to a caller turned away because the
    /// programme's lines are full; the call then ends.
    pub busy: Localized,
}

impl InboundPrompts {
    /// `confirm`: the visit is the one.
    pub const YES: char = '1';
    /// `confirm`: it is not.
    pub const NO: char = '2';
    /// After the options: none of these.
    pub const NONE: char = '0';
    /// At most this many visits are offered, on keys `1` to `8`.
    pub const MAX_OPTIONS: usize = 8;
    /// Every key attribution can use; the opt-out key must be none of them.
    pub const KEYS: &'static str = "012345678";
}

/// The optional `[bridge]` section: the plan is an official's call plan
/// (see `bridge`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgePrompts {
    /// Told to the official before the citizen is dialled; may use
    /// `{citizen}`, `{service}`, `{office}`, `{visit_date}`.
    pub brief: Localized,
    /// Told to the official when the citizen did not answer, with the
    /// offer to try again later (`retry_key`).
    pub not_reached: Localized,
    /// Played to the citizen before they are connected, when the campaign
    /// records the conversation.
    pub consent: Localized,
    /// How long the citizen's phone rings.
    pub ring_timeout_secs: u32,
    /// The key the official presses to have the citizen called again later.
    pub retry_key: char,
}

/// A loaded, validated dialplan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialplan {
    pub(super) name: String,
    pub(super) languages: Vec<Language>,
    pub(super) default_language: usize,
    pub(super) gather_timeout_secs: u32,
    pub(super) max_retries: u32,
    pub(super) opt_out_key: Option<char>,
    pub(super) language_menu: Vec<MenuOption>,
    pub(super) messages: Messages,
    pub(super) questions: Vec<Question>,
    pub(super) inbound: Option<InboundPrompts>,
    pub(super) bridge: Option<BridgePrompts>,
    /// `[escalations]`: flags some choice raises, with their severity.
    pub(super) escalations: BTreeMap<String, Severity>,
    /// `rating_question`: a question whose choice values are integers.
    pub(super) rating_question: Option<String>,
}

impl Dialplan {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    pub fn default_language(&self) -> &Language {
        // INVARIANT: validation sets `default_language` to an index of a
        // declared language and rejects plans without languages.
        &self.languages[self.default_language]
    }

    /// The index of a language code, if the plan declares it.
    pub fn language_index(&self, code: &str) -> Option<usize> {
        self.languages.iter().position(|l| l.code == code)
    }

    pub fn gather_timeout_secs(&self) -> u32 {
        self.gather_timeout_secs
    }

    /// How many times a gather is repeated after invalid or no input.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    pub fn opt_out_key(&self) -> Option<char> {
        self.opt_out_key
    }

    /// Empty when the plan has no language menu.
    pub fn language_menu(&self) -> &[MenuOption] {
        &self.language_menu
    }

    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }

    /// The `[inbound]` prompts; `None` when the plan has no such section.
    /// `[bridge]`, when this is an official's call plan.
    pub fn bridge(&self) -> Option<&BridgePrompts> {
        self.bridge.as_ref()
    }

    pub fn inbound(&self) -> Option<&InboundPrompts> {
        self.inbound.as_ref()
    }

    /// This plan's escalating flags and rating question. The daemon uses
    /// the merge over every plan (`Dialplans::scoring_rules`), since a
    /// record does not say which plan produced it.
    pub fn scoring_rules(&self) -> ScoringRules {
        ScoringRules::new(
            self.escalations.iter().map(|(f, s)| (f.clone(), *s)),
            self.rating_question.clone(),
        )
    }
}
