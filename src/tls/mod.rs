//! TLS material: the files it comes from, the server certificates of both
//! listeners, and what the Redis client presents and trusts.
//!
//! Owns: reading a certificate, key or CA file with a size cap and only
//! from a regular file (`files.rs`); a server certificate that can be
//! replaced while connections stay open (`server.rs`), and the task that
//! replaces it on SIGHUP or when its files change (`reload.rs`); the Redis
//! client's CA and client certificate (`client.rs`). Does not own: the
//! handshake itself (the HTTP server and the `redis` crate run it), or where
//! the paths come from (`config`).

mod client;
mod files;
mod reload;
mod server;

pub use client::{ClientTls, ClientTlsError};
pub use files::{FileStamp, MAX_TLS_FILE_BYTES, TlsFileError, read_tls_file};
pub use reload::{POLL_INTERVAL, watch_certificates};
pub use server::{ServerCert, TlsError};
