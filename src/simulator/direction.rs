//! Which way a call goes: placed by the application through the REST API
//! (outbound) or by a citizen dialling the programme's number (inbound).
//!
//! Owns: the direction's two spellings, Twilio's (`outbound-api`,
//! `inbound`) in resources and webhooks, and the ledger's (`outbound`,
//! `inbound`). Does not own: what differs between the two (see `call`).

use serde::{Deserialize, Serialize};

/// The direction of a simulated call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Originated through `POST Calls.json`. Ledgers written before inbound
    /// calls existed hold only these, hence the default.
    #[default]
    Outbound,
    /// A citizen called the programme's number.
    Inbound,
}

impl Direction {
    /// The value of Twilio's `Direction` parameter and `direction` field.
    pub fn twilio(self) -> &'static str {
        match self {
            Direction::Outbound => "outbound-api",
            Direction::Inbound => "inbound",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelt_as_twilio_and_as_the_ledger_spell_it() {
        assert_eq!(Direction::Outbound.twilio(), "outbound-api");
        assert_eq!(Direction::Inbound.twilio(), "inbound");
        assert_eq!(
            serde_json::to_string(&Direction::Inbound).unwrap(),
            "\"inbound\""
        );
        assert_eq!(
            serde_json::from_str::<Direction>("\"outbound\"").unwrap(),
            Direction::Outbound
        );
    }
}
