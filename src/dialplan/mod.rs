//! Dialplans: the TOML format in `dialplans/`, its loader and validator, and
//! the pure IVR state machines (`start`/`step` for the survey,
//! `start_inbound`/`step_inbound` for an inbound call's attribution then
//! survey: no I/O, no async).
//!
//! Owns: what to say and ask, and how keys become answers. Does not own:
//! provider markup (see `provider`), persistence (see `store`).
//! The format and the engine's transition table: `docs/dialplan.md`.

mod action;
mod bridge;
mod bridge_section;
mod engine;
mod inbound;
mod inbound_section;
mod limits;
mod load;
mod model;
mod parse;
mod placeholder;
mod problem;
mod prompts;
mod questions;
mod scoring;
mod tree;

pub use action::{Action, Bridge, Event, Prompt, SessionStatus};
pub use bridge::{
    Leg, OfficialContext, OfficialOutput, OfficialSession, after_bridge, consent, start_official,
    step_official,
};
pub use engine::{CallContext, Session, StepOutput, start, start_skipping, step};
pub use inbound::{
    Attribution, InboundOutput, InboundSession, Visit, busy, start_inbound, step_inbound,
};
pub use limits::{MAX_FILE_BYTES, MAX_ITEMS, MAX_STRING_BYTES};
pub use load::{Dialplans, SeverityConflict, check_file, load_dir, load_file};
pub use model::{
    BridgePrompts, Choice, Dialplan, InboundPrompts, Language, Localized, MenuOption, Messages,
    PromptSpec, Question,
};
pub use parse::parse_str;
pub use placeholder::PlaceholderError;
pub use problem::{Position, Problem};

#[cfg(test)]
mod bridge_tests;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod inbound_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod scoring_tests;
#[cfg(test)]
mod testing;
