//! Typed settings for the whole daemon: one [`Settings`] loaded from a TOML
//! file (`config/sampark.toml`) overridden by `SAMPARK__SECTION__KEY`
//! environment variables, with every problem reported in one run.
//!
//! Owns: the settings schema and its defaults, loading (the file with error
//! recovery and line numbers, the environment through the `config` crate),
//! where each value came from, resolving relative paths, semantic
//! validation, redaction of secrets in `Debug`, and derived values other
//! modules need (per-official quotas). The calling window's own rules
//! are in [`crate::policy`].
//! Does not own: reading the environment anywhere else (callers pass it in, or
//! use [`load_from_process_env`] once in `main`), nor acting on settings.

mod admin;
mod error;
mod exotel;
mod file;
mod http;
mod load;
mod paths;
mod policy;
mod rate;
#[cfg(test)]
mod redis_tests;
mod secret;
mod secret_file;
mod sections;
mod tree;
mod validate;

pub use admin::{AdminRole, AdminToken, LEGACY_TOKEN_NAME, TokenSource, TokenSpec};
pub use error::{ConfigError, ConfigProblem, Origin};
pub use exotel::{ExotelRegion, ExotelSettings};
pub use http::HttpSettings;
pub use load::{load, load_from_process_env};
pub use policy::PolicySettings;
pub use rate::{RateLimit, RateSettings};
pub use secret::{RedisUrl, Secret};
pub use secret_file::{MAX_SECRET_FILE_BYTES, read_secret_file};
pub use sections::{
    AdminSettings, DialerSettings, DialplanSettings, InboundSettings, LogSettings,
    OfficialsSettings, PersistencePolicy, ProviderKind, ProviderSettings, RedisMode, RedisSettings,
    RedisTlsSettings, ReportsSettings, RuntimeSettings, Settings, ShutdownSettings, TlsSettings,
    WebhookSettings,
};
pub use tree::ENV_PREFIX;
