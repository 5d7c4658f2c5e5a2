//! What the IVR engine asks the call to do, and what it is told happened.
//! Provider adapters render `Action`s into their markup (TwiML for Twilio).

use serde::{Deserialize, Serialize};

/// One thing to say: recorded audio when the dialplan has it for the
/// language, with TTS text as fallback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// Text with placeholders already filled (`{office}`, `{service}`).
    pub text: String,
    /// BCP-47 language for TTS (e.g. `en-IN`, `hi-IN`).
    pub tts_language: String,
    /// Provider voice name, if the dialplan sets one.
    pub voice: Option<String>,
    /// Recorded audio to play instead of TTS.
    pub audio_url: Option<String>,
}

/// An instruction for the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Speak or play a prompt.
    Say(Prompt),
    /// Silence.
    Pause { seconds: u32 },
    /// Play the prompts while collecting keys; the next event is `Digits`.
    Gather {
        prompts: Vec<Prompt>,
        /// Stop after this many keys.
        num_digits: u32,
        /// Seconds of silence before giving up (then `Digits("")`).
        timeout_secs: u32,
        /// The keys that count as a valid choice here, e.g. `"12"`. Adapters
        /// may pass them on as a hint (test tooling such as the simulator
        /// reads it); the engine, not the provider, enforces validity.
        choices: String,
        /// The opt-out key, if the dialplan has one.
        opt_out: Option<char>,
    },
    /// End the call.
    Hangup,
    /// Connect the caller to another number (an official's call to a
    /// citizen); when that leg ends, the provider reports its outcome to the
    /// bridge URL and plays what sampark answers there.
    Dial(Bridge),
}

/// A second leg connected to the call in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    /// The number to connect (E.164): the citizen's.
    pub to: String,
    /// The number the connected party sees (E.164): the programme's, never
    /// the caller's own.
    pub caller_id: String,
    /// How long to let it ring, in seconds.
    pub timeout_secs: u32,
    /// Record the bridged conversation.
    pub record: bool,
    /// Play the markup fetched from the whisper URL to the connected party
    /// when they answer, before the two are connected (a consent notice).
    pub whisper: bool,
}

/// What happened on the call since the last step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Keys pressed for the pending `Gather`; empty when nothing was pressed.
    Digits(String),
    /// The citizen hung up (or the call ended otherwise).
    HungUp,
}

/// Where a session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Waiting for the answer to a `Gather`.
    InProgress,
    /// Every question answered; closing message played.
    Completed,
    /// The citizen pressed the opt-out key.
    OptedOut,
    /// Ended before completion: hang-up, or too many invalid/no inputs.
    Abandoned,
}

impl SessionStatus {
    pub fn is_finished(self) -> bool {
        self != SessionStatus::InProgress
    }
}
