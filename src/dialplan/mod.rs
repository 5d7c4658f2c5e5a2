//! Dialplans: the TOML format in `dialplans/`, its loader and validator, and
//! the pure IVR state machine (`start`/`step`: no I/O, no async).
//!
//! Owns: what to say and ask, and how keys become answers. Does not own:
//! provider markup (see `provider`), persistence (see `store`).

mod action;

pub use action::{Action, Event, Prompt, SessionStatus};
