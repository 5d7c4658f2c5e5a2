//! Inbound calls: the citizen calls the programme. Before the survey the
//! call is attributed to one of the caller's recent visits (which the
//! daemon looks up and passes in), then the engine's survey runs, skipping
//! the `department` question when a visit was confirmed. Pure: no I/O, no
//! async, no clock; the caller stores the `InboundSession` (as JSON).
//!
//! Owns: the attribution flow (confirm one visit, or choose among up to
//! eight, retries, opt-out, hang-up) and the hand-over to the survey. Does
//! not own: the survey itself (see `engine`), the `[inbound]` format (see
//! `inbound_section`). Transition table: `docs/dialplan.md`.

use serde::{Deserialize, Serialize};

use super::action::{Action, Event, Prompt, SessionStatus};
use super::engine::{self, CallContext, Session, start_skipping, step};
use super::model::{Dialplan, InboundPrompts, Localized};
use crate::domain::Answer;

/// The question an attributed call does not ask: the visit says which
/// department it was.
const DEPARTMENT: &str = "department";

/// A recent visit of the caller, as the daemon found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visit {
    pub office: String,
    pub service: String,
    /// The language code recorded with the visit, if any.
    pub language: Option<String>,
}

/// How the call got attributed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Not decided yet (or the call ended before it was).
    Pending,
    /// The caller confirmed or chose this visit (an index into the visits).
    Visit(usize),
    /// No visit: none known, none confirmed, or no valid choice.
    Unattributed,
}

/// Where the call is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Waiting on the confirm or options gather; `retries` counts invalid
    /// or empty inputs at it so far.
    Attributing { retries: u32 },
    /// Ended before the survey began (hang-up or opt-out).
    Ended { status: SessionStatus },
    /// Attribution decided: the survey runs.
    Survey { session: Session },
}

/// An inbound call's progress; stored between webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundSession {
    dialplan: String,
    /// The language code attribution prompts are spoken in.
    language: String,
    /// The visits offered: the first `InboundPrompts::MAX_OPTIONS` given.
    visits: Vec<Visit>,
    attribution: Attribution,
    phase: Phase,
}

impl InboundSession {
    /// In progress while attributing, then the survey's status (or how the
    /// call ended if it ended during attribution).
    pub fn status(&self) -> SessionStatus {
        match &self.phase {
            Phase::Attributing { .. } => SessionStatus::InProgress,
            Phase::Ended { status } => *status,
            Phase::Survey { session } => session.status(),
        }
    }

    /// Never changes once it is no longer `Pending`.
    pub fn attribution(&self) -> &Attribution {
        &self.attribution
    }

    /// The survey, once attribution is decided.
    pub fn survey(&self) -> Option<&Session> {
        match &self.phase {
            Phase::Survey { session } => Some(session),
            _ => None,
        }
    }

    /// The visits offered to the caller; `Attribution::Visit` indexes them.
    pub fn visits(&self) -> &[Visit] {
        &self.visits
    }

    /// The name of the dialplan the session was started with.
    pub fn dialplan(&self) -> &str {
        &self.dialplan
    }
}

/// The result of one transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundOutput {
    pub session: InboundSession,
    pub actions: Vec<Action>,
    /// Answers captured by this transition (`at_ms` = 0; the store stamps it).
    pub new_answers: Vec<Answer>,
}

impl InboundOutput {
    fn with(session: InboundSession, actions: Vec<Action>) -> Self {
        InboundOutput {
            session,
            actions,
            new_answers: Vec::new(),
        }
    }
}

/// The call was answered: ask the caller to confirm their one visit or to
/// choose among several; with no visits, or a plan without `[inbound]`,
/// start the survey unattributed.
pub fn start_inbound(plan: &Dialplan, visits: &[Visit]) -> InboundOutput {
    let visits: Vec<Visit> = visits
        .iter()
        .take(InboundPrompts::MAX_OPTIONS)
        .cloned()
        .collect();
    let first_language = visits.first().and_then(|v| v.language.as_deref());
    let language = first_language
        .and_then(|c| plan.language_index(c))
        .and_then(|i| plan.languages().get(i))
        .unwrap_or(plan.default_language())
        .code
        .clone();
    let s = InboundSession {
        dialplan: plan.name().to_owned(),
        language,
        visits,
        attribution: Attribution::Pending,
        phase: Phase::Attributing { retries: 0 },
    };
    match attribution_gather(plan, &s, false) {
        Some(gather) => InboundOutput::with(s, vec![gather]),
        None => decide(plan, s, Attribution::Unattributed),
    }
}

/// What a caller turned away because the lines are full hears: the plan's
/// `busy` prompt in its default language, then the call ends. A plan
/// without `[inbound]` just ends the call.
pub fn busy(plan: &Dialplan) -> Vec<Action> {
    let mut actions: Vec<Action> = plan
        .inbound()
        .map(|inbound| {
            let language = engine::language_or_default(plan, &plan.default_language().code);
            Action::Say(engine::render_localized(plan, &inbound.busy, language, &[]))
        })
        .into_iter()
        .collect();
    actions.push(Action::Hangup);
    actions
}

/// Applies one event: attribution input until decided, then the survey's
/// `step`. Finished sessions absorb every event unchanged.
pub fn step_inbound(plan: &Dialplan, session: &InboundSession, event: &Event) -> InboundOutput {
    let mut s = session.clone();
    match &mut s.phase {
        Phase::Ended { .. } => InboundOutput::with(s, Vec::new()),
        Phase::Survey { session } => {
            let out = step(plan, session, event);
            *session = out.session;
            InboundOutput {
                session: s,
                actions: out.actions,
                new_answers: out.new_answers,
            }
        }
        Phase::Attributing { retries } => {
            let retries = *retries;
            attribute(plan, s, retries, event)
        }
    }
}

/// One event at the attribution gather.
fn attribute(plan: &Dialplan, mut s: InboundSession, retries: u32, event: &Event) -> InboundOutput {
    let digits = match event {
        Event::HungUp => return end(s, SessionStatus::Abandoned, Vec::new()),
        Event::Digits(d) => d.trim(),
    };
    let key = engine::single_key(digits);
    if key.is_some() && key == plan.opt_out_key() {
        let message = plan.messages().opted_out.as_ref();
        let mut actions: Vec<Action> = message
            .map(|m| Action::Say(render(plan, &s, m)))
            .into_iter()
            .collect();
        actions.push(Action::Hangup);
        return end(s, SessionStatus::OptedOut, actions);
    }
    if let Some(attribution) = key.and_then(|k| decode(k, s.visits.len())) {
        return decide(plan, s, attribution);
    }
    // The caller called us: running out of retries still gets them the
    // survey, unattributed, rather than a hang-up.
    if retries >= plan.max_retries() {
        return decide(plan, s, Attribution::Unattributed);
    }
    s.phase = Phase::Attributing {
        retries: retries + 1,
    };
    match attribution_gather(plan, &s, true) {
        Some(gather) => InboundOutput::with(s, vec![gather]),
        // The plan was reloaded without `[inbound]` mid-call.
        None => decide(plan, s, Attribution::Unattributed),
    }
}

/// What `key` means with `offered` visits: with one, 1 = yes and 2 = no;
/// with several, 1..=n picks a visit and 0 is none of them.
fn decode(key: char, offered: usize) -> Option<Attribution> {
    if offered == 1 {
        return match key {
            InboundPrompts::YES => Some(Attribution::Visit(0)),
            InboundPrompts::NO => Some(Attribution::Unattributed),
            _ => None,
        };
    }
    if key == InboundPrompts::NONE {
        return Some(Attribution::Unattributed);
    }
    option_keys()
        .take(offered)
        .position(|k| k == key)
        .map(Attribution::Visit)
}

/// The keys of the options, `1` to `8`.
fn option_keys() -> impl Iterator<Item = char> {
    InboundPrompts::KEYS
        .chars()
        .filter(|&k| k != InboundPrompts::NONE)
}

/// Records the attribution and starts the survey: for a visit, in its
/// language with its office and service and without `department`; else
/// from the language menu with every question.
fn decide(plan: &Dialplan, mut s: InboundSession, attribution: Attribution) -> InboundOutput {
    let visit = match attribution {
        Attribution::Visit(i) => s.visits.get(i),
        Attribution::Pending | Attribution::Unattributed => None,
    };
    let (ctx, skip) = match visit {
        Some(v) => (
            CallContext {
                language: v.language.clone(),
                office: v.office.clone(),
                service: v.service.clone(),
            },
            vec![DEPARTMENT.to_owned()],
        ),
        None => (CallContext::default(), Vec::new()),
    };
    s.attribution = match visit {
        Some(_) => attribution,
        None => Attribution::Unattributed,
    };
    let out = start_skipping(plan, &ctx, &skip);
    s.phase = Phase::Survey {
        session: out.session,
    };
    InboundOutput {
        session: s,
        actions: out.actions,
        new_answers: out.new_answers,
    }
}

/// The call ended during attribution; the attribution stays `Pending`.
fn end(mut s: InboundSession, status: SessionStatus, actions: Vec<Action>) -> InboundOutput {
    s.phase = Phase::Ended { status };
    InboundOutput::with(s, actions)
}

/// The confirm gather (one visit) or the options gather (several), after
/// the retry message when `retry`; `None` without visits or `[inbound]`.
fn attribution_gather(plan: &Dialplan, s: &InboundSession, retry: bool) -> Option<Action> {
    let inbound = plan.inbound()?;
    let language = engine::language_or_default(plan, &s.language);
    let mut prompts: Vec<Prompt> = Vec::new();
    if retry {
        prompts.push(render(plan, s, &plan.messages().retry));
    }
    let choices = match s.visits.as_slice() {
        [] => return None,
        [only] => {
            let values = visit_values(only, "");
            prompts.push(engine::render_localized(
                plan,
                &inbound.confirm,
                language,
                &values,
            ));
            [InboundPrompts::YES, InboundPrompts::NO].iter().collect()
        }
        several => {
            let mut keys = String::new();
            for (visit, key) in several.iter().zip(option_keys()) {
                let key_text = key.to_string();
                let values = visit_values(visit, &key_text);
                prompts.push(engine::render_localized(
                    plan,
                    &inbound.option,
                    language,
                    &values,
                ));
                keys.push(key);
            }
            prompts.push(engine::render_localized(plan, &inbound.none, language, &[]));
            keys.push(InboundPrompts::NONE);
            keys
        }
    };
    Some(engine::gather(plan, prompts, choices))
}

/// The placeholder values of one visit (and its key, for an option).
fn visit_values<'a>(visit: &'a Visit, key: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("office", &visit.office),
        ("service", &visit.service),
        ("key", key),
    ]
}

/// A plan message (retry, opted_out) in the attribution language; its
/// `{office}`/`{service}` are the visit's when there is exactly one, else
/// empty.
fn render(plan: &Dialplan, s: &InboundSession, message: &Localized) -> Prompt {
    let language = engine::language_or_default(plan, &s.language);
    let values = match s.visits.as_slice() {
        [only] => visit_values(only, ""),
        _ => [("office", ""), ("service", ""), ("key", "")],
    };
    engine::render_localized(plan, message, language, &values[..2])
}
