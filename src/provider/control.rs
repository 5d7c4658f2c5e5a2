//! The webhook half of a provider: how its callbacks are authenticated and
//! read, and how the IVR engine's actions are written in its call-control
//! markup. The REST half is `Provider`; an adapter implements both.

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::dialplan::Action;
use crate::domain::CallStatus;

/// A webhook request as received, before anything is trusted.
#[derive(Clone, Copy, Debug)]
pub struct WebhookRequest<'a> {
    /// Path and query as our server received them (the public base URL,
    /// which proxies may have rewritten, is the adapter's to prepend).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A webhook's parameters, in the order received.
pub type Params = Vec<(String, String)>;

/// A call status the provider reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    pub call_sid: String,
    pub status: CallStatus,
}

/// A citizen's call to the programme's number, as the provider announced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundCall {
    pub call_sid: String,
    /// The caller's number as the provider gave it (may be withheld or
    /// malformed; the core decides what to do with it).
    pub from: String,
}

/// Who or what picked up an answered call, as the provider's
/// answering-machine detection reported it on the answer webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// A person: the survey proceeds.
    Human,
    /// An answering machine or voicemail (at the start of its greeting or
    /// at its end, whichever the provider waited for).
    Machine,
    /// A fax machine.
    Fax,
    /// Detection could not tell: the survey proceeds, as for a person.
    Unknown,
}

impl AnsweredBy {
    /// Whether no person is on the line: the survey is not played.
    pub fn is_machine(self) -> bool {
        matches!(self, AnsweredBy::Machine | AnsweredBy::Fax)
    }

    /// The value `as_str` gives.
    pub fn parse(text: &str) -> Option<AnsweredBy> {
        [
            AnsweredBy::Human,
            AnsweredBy::Machine,
            AnsweredBy::Fax,
            AnsweredBy::Unknown,
        ]
        .into_iter()
        .find(|by| by.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "human",
            AnsweredBy::Machine => "machine",
            AnsweredBy::Fax => "fax",
            AnsweredBy::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for AnsweredBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the markup of one reply sends the provider next: gathers post
/// their keys to `gather`, a `Dial` reports its outcome to `bridge` and
/// fetches the notice for the connected party from `whisper`.
#[derive(Clone, Copy, Debug)]
pub struct ActionUrls<'a> {
    pub gather: &'a str,
    pub bridge: &'a str,
    pub whisper: &'a str,
}

impl ActionUrls<'static> {
    /// For markup that sends the provider nowhere (a hang-up).
    pub const NONE: ActionUrls<'static> = ActionUrls {
        gather: "",
        bridge: "",
        whisper: "",
    };
}

/// How a bridged leg (`Action::Dial`) ended, as the provider reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BridgeStatus {
    /// The connected party answered; the conversation took place.
    Completed,
    Busy,
    NoAnswer,
    /// The leg could not be placed (e.g. an invalid number).
    Failed,
    /// The caller hung up before the connected party answered.
    Canceled,
}

impl BridgeStatus {
    /// The value `as_str` gives, as Twilio and Exotel spell it
    /// (`DialCallStatus`); `answered` is Twilio's word for a leg that was
    /// answered while the call still runs.
    pub fn parse(text: &str) -> Option<BridgeStatus> {
        Some(match text {
            "completed" | "answered" => BridgeStatus::Completed,
            "busy" => BridgeStatus::Busy,
            "no-answer" => BridgeStatus::NoAnswer,
            "failed" => BridgeStatus::Failed,
            "canceled" => BridgeStatus::Canceled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BridgeStatus::Completed => "completed",
            BridgeStatus::Busy => "busy",
            BridgeStatus::NoAnswer => "no-answer",
            BridgeStatus::Failed => "failed",
            BridgeStatus::Canceled => "canceled",
        }
    }
}

/// What the provider reported when a bridged leg ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeResult {
    pub status: BridgeStatus,
    /// Seconds the two parties were connected (0 when never connected).
    pub duration_secs: u32,
    /// Where the provider keeps the recording of the bridged conversation,
    /// when it was recorded (a reference, never the audio).
    pub recording: Option<String>,
}

/// Why a webhook's parameters cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamsError(pub String);

/// Why a webhook's parameters were not handed over.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unverified {
    /// Not signed by the provider (a forged or corrupted request: 403).
    #[error("invalid signature")]
    Signature,
    /// A body over the bounds on parameters, or unreadable (400).
    #[error(transparent)]
    Body(#[from] super::form::FormError),
}

/// The webhook half of a provider adapter.
pub trait CallControl: Send + Sync + 'static {
    /// The path under which this provider's webhooks are routed (e.g. `/twilio`).
    fn path_prefix(&self) -> &'static str;
    /// The request's parameters if its signature is valid and its body
    /// within the bounds of `provider::form` (read with `read_form`, or
    /// checked with `check_params`); why not otherwise.
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Params, Unverified>;
    /// Whether a request with this URL and these headers can be the
    /// provider's at all, decided before its body is read (a request that
    /// cannot is refused, 403, with its body unread). A provider whose
    /// check needs the body keeps this default; `verify` still decides.
    fn may_be_signed(&self, _path_and_query: &str, _headers: &http::HeaderMap) -> bool {
        true
    }
    /// The call status a status callback reports.
    fn status_event(&self, params: &Params) -> Result<StatusEvent, ParamsError>;
    /// The call an inbound-call webhook announces.
    fn inbound_call(&self, params: &Params) -> Result<InboundCall, ParamsError>;
    /// The keys pressed at a gather (empty when none were).
    fn digits(&self, params: &Params) -> String;
    /// Who picked up, from an answer webhook of a call placed with
    /// `OriginateRequest::machine_detection`; `None` when the provider did
    /// not say (detection was not asked for). A provider without
    /// answering-machine detection keeps this default.
    fn answered_by(&self, _params: &Params) -> Option<AnsweredBy> {
        None
    }
    /// How a bridged leg ended, from the request to the bridge URL.
    fn bridge_result(&self, params: &Params) -> Result<BridgeResult, ParamsError>;
    /// `actions` as call-control markup, sending the provider to `urls`.
    fn render(&self, actions: &[Action], urls: &ActionUrls<'_>) -> String;
    /// Markup that keeps the call waiting `seconds`, then fetches
    /// `redirect_url` (POST) for what to do next.
    fn render_hold(&self, seconds: u32, redirect_url: &str) -> String;
    /// The `Content-Type` of what `render` returns.
    fn content_type(&self) -> &'static str;
    /// `url` (one of ours) as this provider must be given it, for URLs set
    /// once on the provider's side (the inbound routes): Exotel adds its
    /// token; a provider that signs its requests keeps this default.
    fn external_url(&self, url: &str) -> String {
        url.to_owned()
    }
}
