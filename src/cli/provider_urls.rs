//! `sampark provider-urls --config PATH`: the URLs an operator sets once on
//! the provider's side — the programme number's inbound routes — as the
//! configured adapter must be given them (Exotel's carry their token, and
//! Basic auth credentials when configured).

use std::process::ExitCode;

use clap::Args;

use super::configured::ConfigArgs;
use crate::calls::CallbackUrls;
use crate::provider::build_provider;

#[derive(Debug, Args)]
pub struct ProviderUrlsArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn command(args: ProviderUrlsArgs) -> anyhow::Result<ExitCode> {
    let settings = match args.config.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let public_url = &settings.webhook.public_url;
    let pair = build_provider(&settings.provider, public_url)?;
    let urls = CallbackUrls::new(
        public_url,
        pair.control.path_prefix(),
        settings.redis.shards,
    );
    println!(
        "inbound call (the programme number's voice URL):   {}",
        pair.control.external_url(&urls.inbound())
    );
    println!(
        "inbound status (the programme number's status URL): {}",
        pair.control.external_url(&urls.inbound_status())
    );
    Ok(ExitCode::SUCCESS)
}
