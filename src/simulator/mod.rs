//! A provider simulator for the demo, the end-to-end tests and the
//! benchmarks, speaking Twilio's or Exotel's wire format (`wire`): Twilio's
//! 2010-04-01 Calls REST API (Basic auth, Twilio's error codes, rate and
//! concurrency limits), signed status callbacks and TwiML; or Exotel's v1
//! Calls API (`Calls/connect`, call details, `RestException`s), unsigned
//! webhooks and ExoML. Its simulated citizens answer `<Gather>`s per seeded
//! random knobs (or a scripted persona) and write what they did to a ledger.
//! Citizens also call in: inbound calls to the programme's number, placed on
//! request or at a seeded rate.
//!
//! Owns: everything a provider does, closely enough that the daemon's real
//! Twilio adapter talks to it unchanged. Does not own: anything the daemon
//! needs in production.
//!
//! | file | owns |
//! |---|---|
//! | `config` | the knobs and their defaults |
//! | `server` | the public handle, accept loop, shutdown |
//! | `wire` | which provider's wire format; per-wire parameter names |
//! | `api`, `list` | Twilio's REST routes, validation, error bodies, the call list |
//! | `exotel` | Exotel's REST routes, resources, `RestException`s, status callbacks |
//! | `exotel_hooks` | Exotel's outgoing webhook requests (Basic auth from the URL, JSON) |
//! | `control` | the simulator's own routes (`POST /sim/inbound`) |
//! | `registry` | call records and the call resource JSON |
//! | `direction` | outbound or inbound, in Twilio's and the ledger's words |
//! | `plan` | what a call was asked to do |
//! | `call` | one call's task: callbacks, fate, conversation |
//! | `inbound` | the programme's line; placing an inbound call |
//! | `arrivals` | automatic inbound calls at a seeded rate |
//! | `citizen` | every random choice, seeded per call |
//! | `persona` | a scripted caller instead of random choices |
//! | `twiml` | TwiML (and ExoML) parsing |
//! | `client` | outgoing webhooks (signed, or with Basic auth), retries, URL resolution |
//! | `ledger` | the JSON-lines record of what citizens did |
//! | `clock` | RFC 2822 dates and list filter dates |

mod api;
mod arrivals;
mod call;
mod citizen;
mod client;
mod clock;
mod config;
mod control;
mod direction;
mod error;
mod exotel;
mod exotel_hooks;
mod inbound;
mod ledger;
mod list;
mod persona;
mod plan;
mod registry;
mod server;
mod twiml;
mod wire;

#[cfg(test)]
mod tests;

pub use config::SimulatorConfig;
pub use direction::Direction;
pub use error::SimulatorError;
pub use ledger::{LedgerEntry, PressKind, read_ledger};
pub use persona::{AfterScript, Persona, PersonaError, PickUp};
pub use server::Simulator;
pub use wire::Wire;
