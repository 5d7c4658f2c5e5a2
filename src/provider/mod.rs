//! The IVR provider boundary: a `Provider` trait for the REST side
//! (originate, look up, hang up), a `CallControl` trait for the webhook side
//! (verify, parse, render), and adapters implementing both: Twilio and
//! Exotel.
//! `build_provider` turns `provider.kind` into the pair.
//!
//! Owns: the provider's wire protocols (REST, webhook signatures, callback
//! parameters, call-control markup). Does not own: call policy, the
//! callback-URL contract or IVR orchestration (see `calls`).

mod build;
mod control;
mod error;
pub mod exotel;
mod form;
mod reply;
#[cfg(test)]
mod test_server;
pub mod twilio;
mod xml;

use std::time::Duration;

use async_trait::async_trait;

pub use build::{ProviderPair, ProviderSetupError, build_provider};
pub use control::{
    ActionUrls, AnsweredBy, BridgeResult, BridgeStatus, CallControl, InboundCall, Params,
    ParamsError, StatusEvent, Unverified, WebhookRequest,
};
pub use error::{ErrorClass, ProviderError};
pub use form::{FormError, MAX_FIELDS, MAX_NAME_BYTES, MAX_VALUE_BYTES, check_params, read_form};
pub use reply::MAX_REPLY_BYTES;

use crate::domain::{CallStatus, PhoneNumber};

/// What to ask the provider to dial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateRequest {
    pub to: PhoneNumber,
    pub from: PhoneNumber,
    /// Where the provider fetches call-control markup when the call is answered.
    pub answer_url: String,
    /// Where the provider posts status callbacks.
    pub status_url: String,
    /// How long to let the phone ring.
    pub ring_timeout: Duration,
    /// Ask the provider to tell a person from an answering machine before
    /// the answer webhook, which then says who picked up (`AnsweredBy`).
    pub machine_detection: bool,
}

/// A call as the provider reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallInfo {
    pub sid: String,
    pub status: CallStatus,
    /// When the provider created the call, Unix milliseconds, if it said.
    pub created_ms: Option<i64>,
}

/// The REST side of an IVR provider.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// Places a call. An error says whether the call certainly was not placed
    /// (`Rejected`, `Throttled`, `Transient`) or its fate is unknown (`Unknown`).
    async fn originate(&self, req: &OriginateRequest) -> Result<CallInfo, ProviderError>;
    /// Looks a call up by id; `None` when the provider does not know it.
    async fn fetch_call(&self, sid: &str) -> Result<Option<CallInfo>, ProviderError>;
    /// Calls from `from` to `to` created at or after `since_ms` (to reconcile
    /// an originate whose reply was lost).
    async fn find_calls(
        &self,
        to: &PhoneNumber,
        from: &PhoneNumber,
        since_ms: i64,
    ) -> Result<Vec<CallInfo>, ProviderError>;
    /// Ends a call in progress.
    async fn hangup(&self, sid: &str) -> Result<(), ProviderError>;
}
