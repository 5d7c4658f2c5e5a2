//! Which provider the simulator speaks: Twilio's 2010-04-01 API and TwiML,
//! or Exotel's v1 Calls API and ExoML. Everything provider-neutral
//! (citizens, personas, clock, ledger, registry, the call task) is shared;
//! the wire decides the REST routes and bodies, the webhook parameter names
//! and how webhooks are authenticated.
//!
//! Owns: the choice and the per-wire names of webhook parameters. Does not
//! own: the REST routes (`api` for Twilio, `exotel` for Exotel).

use crate::domain::PhoneNumber;

/// The provider wire format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Wire {
    /// Twilio: `X-Twilio-Signature` on every webhook, `Digits`, TwiML.
    #[default]
    Twilio,
    /// Exotel: unsigned webhooks (Basic auth taken from the URL's user
    /// info), `DigitsPressed`, `CallFrom`/`CallTo`, ExoML, JSON status
    /// callbacks when asked for.
    Exotel,
}

impl Wire {
    pub fn as_str(self) -> &'static str {
        match self {
            Wire::Twilio => "twilio",
            Wire::Exotel => "exotel",
        }
    }

    pub fn parse(text: &str) -> Option<Wire> {
        [Wire::Twilio, Wire::Exotel]
            .into_iter()
            .find(|w| w.as_str() == text)
    }

    /// The name a gather's keys are posted under.
    pub(crate) fn digits_param(self) -> &'static str {
        match self {
            Wire::Twilio => "Digits",
            Wire::Exotel => "DigitsPressed",
        }
    }
}

/// A number as Exotel writes it in webhooks and resources: an Indian
/// number with the trunk prefix (`09876543210`), any other in E.164.
pub(crate) fn exotel_number(number: &PhoneNumber) -> String {
    match number.as_str().strip_prefix("+91") {
        Some(national) if national.len() == 10 => format!("0{national}"),
        _ => number.as_str().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(Wire::parse("exotel"), Some(Wire::Exotel));
        assert_eq!(Wire::parse("twilio"), Some(Wire::Twilio));
        assert_eq!(Wire::parse("plivo"), None);
        let indian = PhoneNumber::parse("+919876543210").unwrap();
        assert_eq!(exotel_number(&indian), "09876543210");
        let other = PhoneNumber::parse("+14155550100").unwrap();
        assert_eq!(exotel_number(&other), "+14155550100");
    }
}
