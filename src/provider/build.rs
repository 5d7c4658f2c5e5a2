//! The composition point of providers: `provider.kind` → the adapter's two
//! halves, built once. Adding a provider is a folder under `provider/`
//! implementing `Provider` and `CallControl`, plus one arm here.

use std::sync::Arc;

use super::exotel::{ExotelClient, ExotelConfig, ExotelControl, UrlSigner};
use super::twilio::{DEFAULT_STATUS_EVENTS, TwilioClient, TwilioConfig, TwilioControl};
use super::{CallControl, Provider};
use crate::config::{ProviderKind, ProviderSettings};

/// Both halves of one provider adapter.
#[derive(Clone)]
pub struct ProviderPair {
    /// REST: originate, look up, hang up.
    pub rest: Arc<dyn Provider>,
    /// Webhooks: verify, parse, render.
    pub control: Arc<dyn CallControl>,
}

/// Why the configured provider could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up provider {}: {reason}", kind.as_str())]
pub struct ProviderSetupError {
    kind: ProviderKind,
    reason: String,
}

/// Builds the adapter `settings.kind` names. `public_url` is where the
/// provider reaches our webhook server (what Twilio signs).
pub fn build_provider(
    settings: &ProviderSettings,
    public_url: &str,
) -> Result<ProviderPair, ProviderSetupError> {
    match settings.kind {
        ProviderKind::Twilio => {
            let token = settings.auth_token.expose();
            let rest = TwilioClient::new(TwilioConfig {
                base_url: settings.base_url.clone(),
                account_sid: settings.account_sid.clone(),
                auth_token: token.to_owned(),
                request_timeout: settings.request_timeout(),
                status_events: DEFAULT_STATUS_EVENTS.map(String::from).to_vec(),
            })
            .map_err(|e| ProviderSetupError {
                kind: settings.kind,
                reason: e.to_string(),
            })?;
            let control = TwilioControl::new(token, public_url, settings.choice_hints);
            Ok(ProviderPair {
                rest: Arc::new(rest),
                control: Arc::new(control),
            })
        }
        ProviderKind::Exotel => {
            let e = &settings.exotel;
            let signer = Arc::new(UrlSigner::new(
                e.webhook_secret.expose(),
                e.webhook_basic_auth(),
            ));
            let rest = ExotelClient::new(
                ExotelConfig {
                    base_url: e.api_base_url().to_owned(),
                    account_sid: settings.account_sid.clone(),
                    api_key: e.api_key.clone(),
                    api_token: e.api_token.expose().to_owned(),
                    request_timeout: settings.request_timeout(),
                },
                signer.clone(),
            )
            .map_err(|e| ProviderSetupError {
                kind: settings.kind,
                reason: e.to_string(),
            })?;
            Ok(ProviderPair {
                rest: Arc::new(rest),
                control: Arc::new(ExotelControl::new(signer, settings.choice_hints)),
            })
        }
    }
}
