//! A Twilio-compatible provider simulator for the demo, the end-to-end tests
//! and the benchmarks: the 2010-04-01 Calls REST API (Basic auth, Twilio's
//! error codes, rate and concurrency limits), signed status callbacks, and a
//! TwiML interpreter whose simulated citizens answer `<Gather>`s per seeded
//! random knobs and write what they did to a ledger.
//!
//! Owns: everything a provider does, closely enough that the daemon's real
//! Twilio adapter talks to it unchanged. Does not own: anything the daemon
//! needs in production.
//!
//! | file | owns |
//! |---|---|
//! | `config` | the knobs and their defaults |
//! | `server` | the public handle, accept loop, shutdown |
//! | `api`, `list` | REST routes, validation, error bodies, the call list |
//! | `registry` | call records and the call resource JSON |
//! | `call` | one call's task: callbacks, fate, conversation |
//! | `citizen` | every random choice, seeded per call |
//! | `twiml` | TwiML parsing |
//! | `client` | signed outgoing webhooks, retries, URL resolution |
//! | `ledger` | the JSON-lines record of what citizens did |
//! | `clock` | RFC 2822 dates and list filter dates |

mod api;
mod call;
mod citizen;
mod client;
mod clock;
mod config;
mod error;
mod ledger;
mod list;
mod registry;
mod server;
mod twiml;

#[cfg(test)]
mod tests;

pub use config::SimulatorConfig;
pub use error::SimulatorError;
pub use ledger::{LedgerEntry, PressKind, read_ledger};
pub use server::Simulator;
