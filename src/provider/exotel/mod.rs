//! Exotel adapter: the v1 Calls REST API (connect a number to sampark's
//! ExoML, call details, bulk call details), webhook authentication by
//! per-URL tokens, Exotel's callback parameters and ExoML rendering.
//!
//! Owns: everything Exotel-specific on the wire: `ExotelClient` (the REST
//! half, `Provider`), `ExotelControl` (the webhook half, `CallControl`) and
//! the `UrlSigner` both share. Does not own: call policy, IVR decisions,
//! HTTP serving. The operator's setup is in `docs/exotel.md`.
//!
//! | file | owns |
//! |---|---|
//! | `config` | the client's settings and their validation |
//! | `client` | requests, transport, `Calls/connect` form |
//! | `wire` | reply shapes, `RestException` classification, IST dates |
//! | `token` | signing callback URLs, checking webhook requests |
//! | `params` | webhook bodies and parameter names |
//! | `exoml` | the markup |
//! | `control` | `CallControl` over the above |

mod client;
mod config;
mod control;
pub mod exoml;
mod params;
mod token;
mod wire;

#[cfg(test)]
mod client_tests;

pub use client::{ExotelClient, STATUS_EVENTS};
pub use config::{ExotelConfig, ExotelSetupError};
pub use control::ExotelControl;
pub use token::{TOKEN_PARAM, UrlSigner};
pub use wire::{format_local, parse_local_ms};
