//! The HTTP side: a hyper 1.x server (plain or rustls TLS) with connection
//! slots per client address and in all (`slots.rs`), header, idle, body and
//! request deadlines (`deadlines.rs`), admission from the request head
//! before any body is read, and graceful drain; the provider webhook
//! routes; the admin API, `/metrics` and health checks; the operator console
//! (`console/`, HTML pages on the admin listener).
//!
//! Owns: HTTP, routing, status codes (signature checks are delegated to the
//! provider's `CallControl`). Does not own: call orchestration (see `calls`),
//! IVR logic (see `dialplan`), persistence.

mod access;
mod admin;
mod admin_control;
mod admin_dnc;
pub(crate) mod admin_official_calls;
mod admin_officials;
mod admin_reports;
mod audit;
mod calls;
mod console;
mod deadlines;
mod health;
mod json_body;
mod server;
mod slots;

pub use access::{AdminAccess, Caller, reload_on_sighup};
pub use admin::AdminRoutes;
pub use admin_official_calls::OfficialCallDesk;
pub use audit::TARGET as AUDIT_TARGET;
pub use calls::CallWebhooks;
pub use console::Console;
pub use health::AdminFront;
pub use server::{
    ANONYMOUS_BODY_LIMIT, Admission, ClientAddr, HttpServer, HttpServerConfig, Routes,
    text_response,
};
