//! The demo's provider (`sampark demo --provider twilio|exotel`): the
//! simulator's wire format and credentials, and the daemon's `[provider]`
//! settings pointed at it, for either adapter.
//!
//! Owns: matching the two sides (the same account, secrets and inbound
//! URLs). Does not own: running either (see `demo`).

use crate::calls::CallbackUrls;
use crate::config::{ProviderKind, ProviderSettings, Secret};
use crate::provider::build_provider;
use crate::simulator::{SimulatorConfig, Wire};

/// The provider a demo runs on.
pub(super) fn parse_kind(text: &str) -> Result<ProviderKind, String> {
    match text {
        "twilio" => Ok(ProviderKind::Twilio),
        "exotel" => Ok(ProviderKind::Exotel),
        other => Err(format!("{other:?} is not a provider: twilio or exotel")),
    }
}

/// The simulator's config (without the knobs `demo` sets) and the daemon's
/// provider settings, for a simulator at `simulator_url` and a webhook
/// server at `public_url`. The programme number's inbound URLs are given
/// to the simulator as the adapter needs them (Exotel's with their token).
pub(super) fn simulated(
    kind: ProviderKind,
    seed: u64,
    simulator_url: &str,
    public_url: &str,
    shards: u16,
) -> anyhow::Result<(SimulatorConfig, ProviderSettings)> {
    let token = format!("demo-token-{seed:016x}");
    let mut provider = ProviderSettings {
        kind,
        // The simulator's citizens read the hints to press valid keys.
        choice_hints: true,
        ..ProviderSettings::default()
    };
    let mut sim = SimulatorConfig {
        auth_token: token.clone(),
        seed,
        ..SimulatorConfig::default()
    };
    match kind {
        ProviderKind::Twilio => {
            let sid = format!("AC{:032x}", u128::from(seed));
            provider.base_url = simulator_url.to_owned();
            provider.account_sid = sid.clone();
            provider.auth_token = Secret::new(token);
            sim.account_sid = sid;
        }
        ProviderKind::Exotel => {
            let sid = format!("demo{seed}");
            provider.account_sid = sid.clone();
            provider.exotel.api_key = "demo-api-key".into();
            provider.exotel.api_token = Secret::new(token);
            provider.exotel.base_url = simulator_url.to_owned();
            provider.exotel.webhook_secret =
                Secret::new(format!("demo-webhook-secret-{seed:016x}-0123456789"));
            sim.wire = Wire::Exotel;
            sim.account_sid = sid;
            sim.api_key = "demo-api-key".into();
        }
    }
    let pair = build_provider(&provider, public_url)?;
    let urls = CallbackUrls::new(public_url, pair.control.path_prefix(), shards);
    sim.inbound_voice_url = Some(pair.control.external_url(&urls.inbound()));
    sim.inbound_status_url = Some(pair.control.external_url(&urls.inbound_status()));
    Ok((sim, provider))
}
