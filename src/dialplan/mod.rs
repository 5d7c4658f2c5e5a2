//! Dialplans: the TOML format in `dialplans/`, its loader and validator, and
//! the pure IVR state machine (`start`/`step`: no I/O, no async).
//!
//! Owns: what to say and ask, and how keys become answers. Does not own:
//! provider markup (see `provider`), persistence (see `store`).
//! The format and the engine's transition table: `docs/dialplan.md`.

mod action;
mod engine;
mod load;
mod model;
mod parse;
mod placeholder;
mod problem;
mod prompts;
mod questions;
mod tree;

pub use action::{Action, Event, Prompt, SessionStatus};
pub use engine::{CallContext, Session, StepOutput, start, step};
pub use load::{Dialplans, check_file, load_dir, load_file};
pub use model::{
    Choice, Dialplan, Language, Localized, MenuOption, Messages, PromptSpec, Question,
};
pub use parse::parse_str;
pub use placeholder::PlaceholderError;
pub use problem::{Position, Problem};

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod parse_tests;
#[cfg(test)]
mod testing;
