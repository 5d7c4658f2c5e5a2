//! The provider-neutral call core: everything that happens on a call once a
//! provider's webhook has been verified and parsed — IVR sessions (start,
//! step, save), status → conclude (shared by webhooks and the reconciler),
//! the outcome table, and the callback-URL contract (built and parsed in
//! `urls`), this instance's copy of its live calls' jobs (`live`), and
//! inbound calls (`inbound`: admission, attribution to a
//! recent visit, call-backs).
//!
//! Owns: call orchestration. Does not own: HTTP (see `webhook`), provider
//! wire formats (see `provider`), the IVR state machine (see `dialplan`),
//! dialling policy (see `dialer`).

mod conclude;
mod error;
mod inbound;
mod live;
mod official;
mod outcome;
mod pending;
mod service;
mod session;
mod urls;

pub use error::{CallError, CallErrorClass};
pub use inbound::{CALLBACK_FLAG, DESK, INBOUND_CAMPAIGN, InboundPolicy, inbound_job};
pub use live::LiveCalls;
pub use outcome::{RetryPolicy, after_call, after_call_with, after_machine};
pub use pending::PendingStatuses;
pub use service::{CallCore, Reply};
pub use urls::{CallRef, Callback, CallbackUrls, CarriedLeg, Route, UrlError};
