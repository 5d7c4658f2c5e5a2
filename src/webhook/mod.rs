//! The HTTP side: a hyper 1.x server (plain or rustls TLS) with connection
//! and body limits, request timeouts and graceful drain; the provider webhook
//! routes; the admin API, `/metrics` and health checks.
//!
//! Owns: HTTP, routing, signature checks, status codes. Does not own: IVR
//! logic (see `dialplan`), outcome policy (see `dialer`), persistence.

mod admin;
mod server;
mod tls;
mod twilio;

pub use admin::AdminRoutes;
pub use server::{HttpServer, HttpServerConfig, Routes, text_response};
pub use tls::{TlsError, load_tls_config};
pub use twilio::TwilioWebhooks;
