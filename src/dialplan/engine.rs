//! The IVR state machine: `start` when the call is answered, `step` for each
//! event after. Pure: no I/O, no async, no clock; the caller stores the
//! `Session` (as JSON) between webhooks and stamps answer times.
//!
//! Owns: call flow (language menu, intro, questions minus any the caller
//! asked to skip, retries, opt-out, closing). Does not own: rendering
//! actions as provider markup, storage, inbound attribution (see `inbound`).
//! Transition table: `docs/dialplan.md`.

use serde::{Deserialize, Serialize};

use super::action::{Action, Event, Prompt, SessionStatus};
use super::model::{Dialplan, Localized, PromptSpec};
use super::placeholder;
use crate::domain::Answer;

/// What the engine knows about the contact when the call is answered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    /// The contact's preferred language code, if the campaign gave one.
    pub language: Option<String>,
    pub office: String,
    pub service: String,
}

/// Which gather the session is waiting on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    LanguageMenu,
    Question(usize),
    Done,
}

/// A call's progress through its dialplan; stored between webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    dialplan: String,
    language: String,
    office: String,
    service: String,
    stage: Stage,
    status: SessionStatus,
    /// Invalid or empty inputs so far at the current gather; reset when the
    /// session moves on, so each question (and the menu) has its own count.
    retries: u32,
    /// Ids of questions not to ask. Sessions stored before it existed have
    /// none.
    #[serde(default)]
    skip: Vec<String>,
}

impl Session {
    pub fn status(&self) -> SessionStatus {
        self.status
    }

    /// The language code prompts are spoken in (the default language while
    /// the language menu is open).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// The name of the dialplan the session was started with.
    pub fn dialplan(&self) -> &str {
        &self.dialplan
    }

    /// The index of the question being asked, if one is.
    pub fn question(&self) -> Option<usize> {
        match self.stage {
            Stage::Question(i) if !self.status.is_finished() => Some(i),
            _ => None,
        }
    }
}

/// The result of one transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutput {
    pub session: Session,
    pub actions: Vec<Action>,
    /// Answers captured by this transition (`at_ms` = 0; the store stamps it).
    pub new_answers: Vec<Answer>,
}

impl StepOutput {
    fn quiet(session: Session) -> Self {
        StepOutput {
            session,
            actions: Vec::new(),
            new_answers: Vec::new(),
        }
    }
}

/// The call was answered: open the language menu when the contact's
/// language is unknown to the plan and the plan has a menu, else greet in
/// the contact's language (or the plan's default) and ask the first question.
pub fn start(plan: &Dialplan, ctx: &CallContext) -> StepOutput {
    start_skipping(plan, ctx, &[])
}

/// `start`, except that questions whose id is in `skip` are never asked
/// (an inbound call skips what its attribution already told us). Unknown
/// ids are ignored; skipping every question goes from the intro straight to
/// the closing.
pub fn start_skipping(plan: &Dialplan, ctx: &CallContext, skip: &[String]) -> StepOutput {
    let known = ctx.language.as_deref().and_then(|c| plan.language_index(c));
    let session = Session {
        dialplan: plan.name().to_owned(),
        language: known
            .and_then(|i| plan.languages().get(i))
            .unwrap_or(plan.default_language())
            .code
            .clone(),
        office: ctx.office.clone(),
        service: ctx.service.clone(),
        stage: Stage::LanguageMenu,
        status: SessionStatus::InProgress,
        retries: 0,
        skip: skip.to_vec(),
    };
    if known.is_none() && !plan.language_menu().is_empty() {
        let actions = vec![menu_gather(plan, &session, false)];
        return StepOutput {
            session,
            actions,
            new_answers: Vec::new(),
        };
    }
    begin_survey(plan, session)
}

/// Applies one event. Finished sessions absorb every event unchanged.
pub fn step(plan: &Dialplan, session: &Session, event: &Event) -> StepOutput {
    let mut s = session.clone();
    if s.status.is_finished() {
        return StepOutput::quiet(s);
    }
    let digits = match event {
        Event::HungUp => {
            s.status = SessionStatus::Abandoned;
            s.stage = Stage::Done;
            return StepOutput::quiet(s);
        }
        Event::Digits(d) => d.trim(),
    };
    let key = single_key(digits);
    if key.is_some() && key == plan.opt_out_key() {
        let message = plan.messages().opted_out.as_ref();
        return finish(plan, s, SessionStatus::OptedOut, message, Vec::new());
    }
    match s.stage {
        Stage::LanguageMenu => {
            let chosen = key.and_then(|k| plan.language_menu().iter().find(|o| o.key == k));
            match chosen.and_then(|o| plan.languages().get(o.language)) {
                Some(language) => {
                    s.language = language.code.clone();
                    s.retries = 0;
                    begin_survey(plan, s)
                }
                None => retry_or_give_up(plan, s),
            }
        }
        Stage::Question(i) => {
            let Some(question) = plan.questions().get(i) else {
                // The plan was reloaded with fewer questions mid-call:
                // nothing left to ask.
                let closing = Some(&plan.messages().closing);
                return finish(plan, s, SessionStatus::Completed, closing, Vec::new());
            };
            match key.and_then(|k| question.choice(k)) {
                Some(choice) => {
                    let answer = Answer {
                        question: question.id.clone(),
                        digits: choice.key.to_string(),
                        value: choice.value.clone(),
                        label: choice.label.clone(),
                        flag: choice.flag.clone(),
                        at_ms: 0,
                    };
                    s.retries = 0;
                    ask(plan, s, i + 1, Vec::new(), vec![answer])
                }
                None => retry_or_give_up(plan, s),
            }
        }
        Stage::Done => StepOutput::quiet(s),
    }
}

/// The one key pressed, if exactly one was.
pub(super) fn single_key(digits: &str) -> Option<char> {
    let mut chars = digits.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

fn begin_survey(plan: &Dialplan, s: Session) -> StepOutput {
    let intro = say(plan, &s, &plan.messages().intro);
    ask(plan, s, 0, vec![intro], Vec::new())
}

/// Asks the first question from `index` on that is not skipped, or closes
/// the call when there is none left.
fn ask(
    plan: &Dialplan,
    mut s: Session,
    index: usize,
    mut actions: Vec<Action>,
    new_answers: Vec<Answer>,
) -> StepOutput {
    let questions = plan.questions();
    let index = (index..questions.len())
        .find(|&i| !s.skip.contains(&questions[i].id))
        .unwrap_or(questions.len());
    if index >= questions.len() {
        let closing = Some(&plan.messages().closing);
        let mut out = finish(plan, s, SessionStatus::Completed, closing, new_answers);
        actions.append(&mut out.actions);
        out.actions = actions;
        return out;
    }
    s.stage = Stage::Question(index);
    actions.push(question_gather(plan, &s, index, false));
    StepOutput {
        session: s,
        actions,
        new_answers,
    }
}

/// Invalid or no input: repeat the gather with the retry message, or end
/// the call once `max_retries` repeats have been used.
fn retry_or_give_up(plan: &Dialplan, mut s: Session) -> StepOutput {
    if s.retries >= plan.max_retries() {
        let sorry = Some(&plan.messages().sorry);
        return finish(plan, s, SessionStatus::Abandoned, sorry, Vec::new());
    }
    s.retries += 1;
    let gather = match s.stage {
        Stage::Question(i) => question_gather(plan, &s, i, true),
        Stage::LanguageMenu | Stage::Done => menu_gather(plan, &s, true),
    };
    StepOutput {
        session: s,
        actions: vec![gather],
        new_answers: Vec::new(),
    }
}

fn finish(
    plan: &Dialplan,
    mut s: Session,
    status: SessionStatus,
    message: Option<&Localized>,
    new_answers: Vec<Answer>,
) -> StepOutput {
    let mut actions: Vec<Action> = message.map(|m| say(plan, &s, m)).into_iter().collect();
    actions.push(Action::Hangup);
    s.status = status;
    s.stage = Stage::Done;
    StepOutput {
        session: s,
        actions,
        new_answers,
    }
}

fn question_gather(plan: &Dialplan, s: &Session, index: usize, retry: bool) -> Action {
    let mut prompts = retry_prompt(plan, s, retry);
    let choices = match plan.questions().get(index) {
        Some(q) => {
            prompts.push(render(plan, s, &q.prompt));
            q.keys()
        }
        None => String::new(),
    };
    gather(plan, prompts, choices)
}

/// The menu: each option spoken in its own language.
fn menu_gather(plan: &Dialplan, s: &Session, retry: bool) -> Action {
    let mut prompts = retry_prompt(plan, s, retry);
    for option in plan.language_menu() {
        prompts.push(render_in(plan, s, &option.prompt, option.language));
    }
    let choices = plan.language_menu().iter().map(|o| o.key).collect();
    gather(plan, prompts, choices)
}

fn retry_prompt(plan: &Dialplan, s: &Session, retry: bool) -> Vec<Prompt> {
    if retry {
        vec![render(plan, s, &plan.messages().retry)]
    } else {
        Vec::new()
    }
}

/// A one-key gather with the plan's timeout and opt-out key.
pub(super) fn gather(plan: &Dialplan, prompts: Vec<Prompt>, choices: String) -> Action {
    Action::Gather {
        prompts,
        num_digits: 1,
        timeout_secs: plan.gather_timeout_secs(),
        choices,
        opt_out: plan.opt_out_key(),
    }
}

fn say(plan: &Dialplan, s: &Session, message: &Localized) -> Action {
    Action::Say(render(plan, s, message))
}

/// A localized prompt in the session's language.
fn render(plan: &Dialplan, s: &Session, message: &Localized) -> Prompt {
    render_localized(plan, message, session_language(plan, s), &values(s))
}

/// A localized prompt in language `index`, placeholders filled from
/// `values` (see `placeholder::fill_with`).
pub(super) fn render_localized(
    plan: &Dialplan,
    message: &Localized,
    index: usize,
    values: &[(&str, &str)],
) -> Prompt {
    let empty = PromptSpec::default();
    render_spec(plan, message.get(index).unwrap_or(&empty), index, values)
}

fn session_language(plan: &Dialplan, s: &Session) -> usize {
    language_or_default(plan, &s.language)
}

/// The index of language `code`; a plan reloaded without it mid-call falls
/// back to its default language.
pub(super) fn language_or_default(plan: &Dialplan, code: &str) -> usize {
    plan.language_index(code)
        .or_else(|| plan.language_index(&plan.default_language().code))
        .unwrap_or(0)
}

fn render_in(plan: &Dialplan, s: &Session, spec: &PromptSpec, language: usize) -> Prompt {
    render_spec(plan, spec, language, &values(s))
}

/// The session's placeholder values.
fn values(s: &Session) -> [(&'static str, &str); 2] {
    [("office", &s.office), ("service", &s.service)]
}

fn render_spec(
    plan: &Dialplan,
    spec: &PromptSpec,
    language: usize,
    values: &[(&str, &str)],
) -> Prompt {
    let lang = plan
        .languages()
        .get(language)
        .unwrap_or(plan.default_language());
    let text = spec.text.as_deref().unwrap_or_default();
    Prompt {
        text: placeholder::fill_with(text, values),
        tts_language: lang.speech_language().to_owned(),
        voice: lang.speech_voice().map(str::to_owned),
        audio_url: spec.audio.clone(),
    }
}
