//! The official's call: a pure state machine around the plan's survey
//! engine. When the official answers they hear the brief and the citizen is
//! dialled (`Action::Dial`); once that leg ends the official either keys the
//! call's disposition (the plan's questions, asked by `engine`) or, when the
//! citizen was not reached, is told so and offered to try again later.
//!
//! | stage | event | then |
//! |---|---|---|
//! | — | official answered (`start_official`) | brief, dial the citizen → `Bridging` |
//! | `Bridging` | citizen connected, leg ended (`after_bridge`) | the plan's intro and first question → `Survey` |
//! | `Bridging` | citizen busy / no answer / failed | `not_reached`, gather → `NotReached` |
//! | `Survey` | keys (`step_official`) | the survey engine's step |
//! | `NotReached` | the retry key | closing, hang up; `retry_later` |
//! | `NotReached` | anything else, nothing | closing, hang up |
//!
//! Owns: that flow. Does not own: how the leg's outcome is read from the
//! provider, the record, retries (the call core decides from `leg` and
//! `retry_later`).

use serde::{Deserialize, Serialize};

use super::action::{Action, Bridge, Event, SessionStatus};
use super::engine::{
    CallContext, Session, StepOutput, gather, language_or_default, render_localized, start, step,
};
use super::model::Dialplan;

/// What the call core knows when the official answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfficialContext {
    /// The official's language (the first of the registry's), if known.
    pub language: Option<String>,
    /// The citizen's language, for the consent notice.
    pub citizen_language: Option<String>,
    pub office: String,
    pub service: String,
    /// The citizen's first name, if the campaign gave it.
    pub citizen: Option<String>,
    /// The visit's date as spoken, if the contact has one.
    pub visit_date: Option<String>,
    /// The citizen's number and the programme's caller id.
    pub to: String,
    pub caller_id: String,
    /// Record the bridged conversation (the citizen hears `consent` first).
    pub record: bool,
}

/// How the citizen's leg ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    /// The citizen answered and the two talked.
    Connected,
    Busy,
    NoAnswer,
    /// Could not be placed, or the official hung up while it rang.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Stage {
    Bridging,
    Survey(Session),
    NotReached,
    Done,
}

/// An official's call's progress; stored between webhooks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialSession {
    /// Tells the stored shape apart from the other sessions'.
    official: OfficialState,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct OfficialState {
    dialplan: String,
    language: String,
    citizen_language: String,
    office: String,
    service: String,
    stage: Stage,
    leg: Option<Leg>,
    retry_later: bool,
}

/// The result of one transition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfficialOutput {
    pub session: OfficialSession,
    pub actions: Vec<Action>,
    pub new_answers: Vec<crate::domain::Answer>,
}

impl OfficialSession {
    /// Where the call is: in progress until the disposition is keyed (or
    /// the not-reached offer answered); then the survey's status.
    pub fn status(&self) -> SessionStatus {
        match &self.official.stage {
            Stage::Bridging | Stage::NotReached => SessionStatus::InProgress,
            Stage::Survey(s) => s.status(),
            Stage::Done => SessionStatus::Completed,
        }
    }

    /// How the citizen's leg ended, once the provider said.
    pub fn leg(&self) -> Option<Leg> {
        self.official.leg
    }

    /// The official asked to have the citizen called again later.
    pub fn retry_later(&self) -> bool {
        self.official.retry_later
    }

    pub fn dialplan(&self) -> &str {
        &self.official.dialplan
    }
}

/// The official answered: the brief, then the citizen is dialled. `None`
/// when `plan` has no `[bridge]` section.
pub fn start_official(plan: &Dialplan, ctx: &OfficialContext) -> Option<OfficialOutput> {
    let bridge = plan.bridge()?;
    let language = pick(plan, ctx.language.as_deref());
    let citizen_language = pick(plan, ctx.citizen_language.as_deref());
    let values = [
        ("office", ctx.office.as_str()),
        ("service", ctx.service.as_str()),
        ("citizen", ctx.citizen.as_deref().unwrap_or_default()),
        ("visit_date", ctx.visit_date.as_deref().unwrap_or_default()),
    ];
    let brief = render_localized(plan, &bridge.brief, language, &values);
    let session = OfficialSession {
        official: OfficialState {
            dialplan: plan.name().to_owned(),
            language: plan.languages()[language].code.clone(),
            citizen_language: plan.languages()[citizen_language].code.clone(),
            office: ctx.office.clone(),
            service: ctx.service.clone(),
            stage: Stage::Bridging,
            leg: None,
            retry_later: false,
        },
    };
    let dial = Bridge {
        to: ctx.to.clone(),
        caller_id: ctx.caller_id.clone(),
        timeout_secs: bridge.ring_timeout_secs,
        record: ctx.record,
        whisper: ctx.record,
    };
    Some(OfficialOutput {
        session,
        actions: vec![Action::Say(brief), Action::Dial(dial)],
        new_answers: Vec::new(),
    })
}

/// The consent notice the citizen hears before being connected.
pub fn consent(plan: &Dialplan, session: &OfficialSession) -> Vec<Action> {
    let Some(bridge) = plan.bridge() else {
        return Vec::new();
    };
    let s = &session.official;
    let language = language_or_default(plan, &s.citizen_language);
    let values = [
        ("office", s.office.as_str()),
        ("service", s.service.as_str()),
    ];
    vec![Action::Say(render_localized(
        plan,
        &bridge.consent,
        language,
        &values,
    ))]
}

/// The citizen's leg ended `leg`. Applies once: a session past `Bridging`
/// absorbs it unchanged.
pub fn after_bridge(plan: &Dialplan, session: &OfficialSession, leg: Leg) -> OfficialOutput {
    let mut next = session.clone();
    let s = &mut next.official;
    if s.stage != Stage::Bridging {
        return quiet(next);
    }
    s.leg = Some(leg);
    if leg == Leg::Connected {
        let ctx = CallContext {
            language: Some(s.language.clone()),
            office: s.office.clone(),
            service: s.service.clone(),
        };
        let out = start(plan, &ctx);
        s.stage = Stage::Survey(out.session);
        return OfficialOutput {
            session: next,
            actions: out.actions,
            new_answers: out.new_answers,
        };
    }
    s.stage = Stage::NotReached;
    let Some(bridge) = plan.bridge() else {
        s.stage = Stage::Done;
        return OfficialOutput {
            session: next,
            actions: vec![Action::Hangup],
            new_answers: Vec::new(),
        };
    };
    let language = language_or_default(plan, &s.language);
    let values = [
        ("office", s.office.as_str()),
        ("service", s.service.as_str()),
    ];
    let prompt = render_localized(plan, &bridge.not_reached, language, &values);
    OfficialOutput {
        session: next,
        actions: vec![gather(plan, vec![prompt], bridge.retry_key.to_string())],
        new_answers: Vec::new(),
    }
}

/// Keys the official pressed (or a hang-up).
pub fn step_official(plan: &Dialplan, session: &OfficialSession, event: &Event) -> OfficialOutput {
    let mut next = session.clone();
    let s = &mut next.official;
    match &s.stage {
        Stage::Survey(survey) => {
            let StepOutput {
                session: survey,
                actions,
                new_answers,
            } = step(plan, survey, event);
            s.stage = Stage::Survey(survey);
            OfficialOutput {
                session: next,
                actions,
                new_answers,
            }
        }
        Stage::NotReached => {
            let retry_key = plan.bridge().map(|b| b.retry_key.to_string());
            s.retry_later =
                matches!(event, Event::Digits(d) if Some(d.as_str()) == retry_key.as_deref());
            s.stage = Stage::Done;
            let language = language_or_default(plan, &s.language);
            let closing = render_localized(
                plan,
                &plan.messages().closing,
                language,
                &[
                    ("office", s.office.as_str()),
                    ("service", s.service.as_str()),
                ],
            );
            OfficialOutput {
                session: next,
                actions: vec![Action::Say(closing), Action::Hangup],
                new_answers: Vec::new(),
            }
        }
        Stage::Bridging | Stage::Done => quiet(next),
    }
}

fn quiet(session: OfficialSession) -> OfficialOutput {
    OfficialOutput {
        session,
        actions: Vec::new(),
        new_answers: Vec::new(),
    }
}

/// The index of language `code` when the plan has it, else the default.
fn pick(plan: &Dialplan, code: Option<&str>) -> usize {
    code.and_then(|c| plan.language_index(c))
        .unwrap_or_else(|| language_or_default(plan, &plan.default_language().code))
}
