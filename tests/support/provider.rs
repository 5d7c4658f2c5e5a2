//! The provider an integration test runs on: the simulator's wire format
//! and the daemon's adapter, matched (the same account, credentials and
//! webhook secret). One suite runs over every adapter, as
//! `tests/store_contract/` does over every store.

use sampark::config::{ProviderKind, Secret, Settings};
use sampark::simulator::{SimulatorConfig, Wire};

use super::daemon::{ACCOUNT_SID, AUTH_TOKEN};

pub const EXOTEL_SID: &str = "e2e-exotel";
pub const EXOTEL_API_KEY: &str = "e2e-api-key";
pub const EXOTEL_WEBHOOK_SECRET: &str = "e2e-exotel-webhook-secret-0123456789";

/// Which adapter (and simulator wire format) a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Twilio,
    Exotel,
}

impl Provider {
    /// The webhook routes' prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::Twilio => "/twilio",
            Provider::Exotel => "/exotel",
        }
    }

    /// `config` speaking this provider's wire format, with the account and
    /// credentials the daemon's settings use.
    pub fn simulator(self, config: SimulatorConfig) -> SimulatorConfig {
        match self {
            Provider::Twilio => SimulatorConfig {
                wire: Wire::Twilio,
                account_sid: ACCOUNT_SID.into(),
                auth_token: AUTH_TOKEN.into(),
                ..config
            },
            Provider::Exotel => SimulatorConfig {
                wire: Wire::Exotel,
                account_sid: EXOTEL_SID.into(),
                api_key: EXOTEL_API_KEY.into(),
                auth_token: AUTH_TOKEN.into(),
                ..config
            },
        }
    }

    /// Points the daemon's settings (as `daemon::settings` made them, for
    /// Twilio) at the simulator at `simulator_base` with this adapter.
    pub fn configure(self, settings: &mut Settings, simulator_base: &str) {
        if self == Provider::Twilio {
            return;
        }
        let p = &mut settings.provider;
        p.kind = ProviderKind::Exotel;
        p.account_sid = EXOTEL_SID.into();
        p.exotel.api_key = EXOTEL_API_KEY.into();
        p.exotel.api_token = Secret::new(AUTH_TOKEN);
        p.exotel.base_url = simulator_base.to_owned();
        p.exotel.webhook_secret = Secret::new(EXOTEL_WEBHOOK_SECRET);
    }

    /// A status callback the provider never sent (a wrong signature, or a
    /// wrong token); the daemon must answer 403.
    pub async fn forged_status(self, addr: std::net::SocketAddr, job: &str) -> u16 {
        let job = form_urlencoded::byte_serialize(job.as_bytes()).collect::<String>();
        match self {
            Provider::Twilio => {
                let path = format!("/twilio/status?job={job}&attempt=1");
                let params = [("CallSid", "CAforged"), ("CallStatus", "completed")];
                super::http::post_form(addr, &path, &params, Some("not-the-token"))
                    .await
                    .0
            }
            Provider::Exotel => {
                let path =
                    format!("/exotel/status?job={job}&shard=0&attempt=1&sig=bm90LWEtdG9rZW4");
                let params = [("CallSid", "forged"), ("Status", "completed")];
                super::http::post_form(addr, &path, &params, None).await.0
            }
        }
    }
}

impl Provider {
    /// Posts a webhook as this provider would: Twilio's signed over the
    /// daemon's public URL (`http://{addr}`), Exotel's to the URL with its
    /// token. `path` has no token yet. Returns (status, body).
    pub async fn post_webhook(
        self,
        addr: std::net::SocketAddr,
        path: &str,
        params: &[(&str, &str)],
    ) -> (u16, String) {
        match self {
            Provider::Twilio => super::http::post_form(addr, path, params, Some(AUTH_TOKEN)).await,
            Provider::Exotel => {
                let base = format!("http://{addr}");
                let signer = sampark::provider::exotel::UrlSigner::new(EXOTEL_WEBHOOK_SECRET, None);
                let signed = signer.sign(&format!("{base}{path}"));
                super::http::post_form(addr, &signed[base.len()..], params, None).await
            }
        }
    }

    /// A status callback's parameters for call `sid` in `status`.
    pub fn status_params(
        self,
        sid: &'static str,
        status: &'static str,
    ) -> Vec<(&'static str, &'static str)> {
        match self {
            Provider::Twilio => vec![("CallSid", sid), ("CallStatus", status)],
            Provider::Exotel => {
                let event = if status == "in-progress" || status == "ringing" {
                    "answered"
                } else {
                    "terminal"
                };
                vec![("CallSid", sid), ("Status", status), ("EventType", event)]
            }
        }
    }

    /// What the markup of a hold (a pause, then the same request again)
    /// contains.
    pub fn hold_markers(self) -> [&'static str; 2] {
        match self {
            Provider::Twilio => ["<Pause", "<Redirect"],
            Provider::Exotel => ["<break", "<Redirect"],
        }
    }
}

impl Provider {
    /// The programme number's inbound voice and status URLs under
    /// `public_url`, as this provider is given them (Exotel's with tokens).
    pub fn inbound_urls(self, public_url: &str) -> (String, String) {
        let voice = format!("{public_url}{}/inbound", self.prefix());
        let status = format!("{public_url}{}/inbound/status", self.prefix());
        match self {
            Provider::Twilio => (voice, status),
            Provider::Exotel => {
                let signer = sampark::provider::exotel::UrlSigner::new(EXOTEL_WEBHOOK_SECRET, None);
                (signer.sign(&voice), signer.sign(&status))
            }
        }
    }
}
