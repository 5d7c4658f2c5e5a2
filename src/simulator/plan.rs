//! What a call was asked to do: where its TwiML comes from, where its
//! status goes, who answers it, and whether to detect answering machines.
//!
//! Owns: the plan a call task runs. Does not own: building it from an
//! originate request (`api`) or an inbound call (`inbound`), or running it
//! (`call`).

use super::client::Encoding;
use super::persona::Persona;
use super::twiml::Method;

/// Which status-callback events the application asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Events {
    pub initiated: bool,
    pub ringing: bool,
    pub answered: bool,
}

/// The answering-machine detection an originate asked for
/// (`MachineDetection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MachineDetection {
    /// `Enable`: the verdict as soon as the callee is identified
    /// (`machine_start` for a machine).
    Enable,
    /// `DetectMessageEnd`: for a machine, the verdict once its greeting
    /// ends (`machine_end_beep`).
    DetectMessageEnd,
}

impl MachineDetection {
    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "Enable" => Some(MachineDetection::Enable),
            "DetectMessageEnd" => Some(MachineDetection::DetectMessageEnd),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            MachineDetection::Enable => "Enable",
            MachineDetection::DetectMessageEnd => "DetectMessageEnd",
        }
    }
}

/// Where the call's first TwiML comes from.
#[derive(Clone, Debug)]
pub(crate) enum Script {
    Url { url: String, method: Method },
    Inline(String),
}

/// What the call was asked to do: by the originate request, or by the
/// programme number's settings for an inbound call.
#[derive(Clone, Debug)]
pub(crate) struct CallPlan {
    pub script: Script,
    pub status_callback: Option<String>,
    pub status_method: Method,
    /// How status callbacks are written (Exotel may ask for JSON).
    pub status_encoding: Encoding,
    pub events: Events,
    /// Who answers the Gathers; the seeded random citizen when `None`.
    pub persona: Option<Persona>,
    /// Answering-machine detection, when the originate asked for it.
    pub machine_detection: Option<MachineDetection>,
}
