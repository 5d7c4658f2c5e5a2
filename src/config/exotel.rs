//! `[provider.exotel]`: the Exotel adapter's own keys (API credentials,
//! region, and how its webhooks are authenticated). The account sid, ring
//! timeout and pacing keys are `[provider]`'s, shared with every adapter.
//!
//! Owns: the schema and defaults of that table. Does not own: validation
//! (see `validate`) nor what the values mean on the wire (`provider::exotel`).

use serde::Deserialize;

use super::secret::Secret;

/// The Exotel cluster an account lives in; it decides the API host.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExotelRegion {
    /// `https://api.exotel.com`.
    Singapore,
    /// `https://api.in.exotel.com`: accounts whose data stays in India.
    #[default]
    Mumbai,
}

impl ExotelRegion {
    /// The REST API's base URL for the region.
    pub fn base_url(self) -> &'static str {
        match self {
            ExotelRegion::Singapore => "https://api.exotel.com",
            ExotelRegion::Mumbai => "https://api.in.exotel.com",
        }
    }
}

/// `[provider.exotel]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExotelSettings {
    /// The API key (Basic auth user name of our REST requests).
    pub api_key: String,
    /// The API token (Basic auth password of our REST requests).
    pub api_token: Secret,
    pub region: ExotelRegion,
    /// Overrides the region's base URL (the simulator, a proxy); empty = the
    /// region's.
    pub base_url: String,
    /// Key of the HMAC-SHA256 token every callback URL we hand Exotel
    /// carries (Exotel does not sign its webhooks). At least 32 characters.
    pub webhook_secret: Secret,
    /// When set (with `webhook_password`), callback URLs also carry these
    /// Basic auth credentials and webhooks must present them.
    pub webhook_username: String,
    pub webhook_password: Secret,
}

impl ExotelSettings {
    /// The base URL requests go to: `base_url` if set, else the region's.
    pub fn api_base_url(&self) -> &str {
        if self.base_url.is_empty() {
            self.region.base_url()
        } else {
            &self.base_url
        }
    }

    /// The webhook Basic auth credentials, when configured.
    pub fn webhook_basic_auth(&self) -> Option<(&str, &str)> {
        (!self.webhook_username.is_empty()).then(|| {
            (
                self.webhook_username.as_str(),
                self.webhook_password.expose(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_picks_the_host_unless_overridden() {
        let mut s = ExotelSettings::default();
        assert_eq!(s.api_base_url(), "https://api.in.exotel.com");
        s.region = ExotelRegion::Singapore;
        assert_eq!(s.api_base_url(), "https://api.exotel.com");
        s.base_url = "http://127.0.0.1:4010".into();
        assert_eq!(s.api_base_url(), "http://127.0.0.1:4010");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let s = ExotelSettings {
            api_token: Secret::new("tok-123456"),
            webhook_secret: Secret::new("whs-abcdef"),
            webhook_password: Secret::new("pw-xyz"),
            ..ExotelSettings::default()
        };
        let shown = format!("{s:?}");
        for secret in ["tok-123456", "whs-abcdef", "pw-xyz"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
