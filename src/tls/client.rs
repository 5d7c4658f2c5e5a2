//! What the Redis client trusts and presents over `rediss://`: a custom CA
//! (else the Mozilla roots built in), and optionally a client certificate
//! for servers that require one (`tls-auth-clients yes`). Read and checked
//! once at start, so a bad file is a start-up error that names it rather
//! than a refused connection later.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::files::{TlsFileError, pem_problem, read_tls_file};

/// Why the Redis client's TLS files are unusable.
#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    #[error(transparent)]
    File(#[from] TlsFileError),
    #[error("{path} holds no PEM certificate{}", .detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoCerts {
        path: String,
        detail: Option<String>,
    },
    #[error("{path} holds no PEM private key ({detail})")]
    NoKey { path: String, detail: String },
}

/// The CA and client certificate, as PEM bytes (what the `redis` crate
/// takes). `Debug` shows which are set, never their contents.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    ca: Option<Vec<u8>>,
    /// Certificate chain and key.
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("custom_ca", &self.ca.is_some())
            .field("client_cert", &self.identity.is_some())
            .finish()
    }
}

impl ClientTls {
    /// Reads and checks the files: the CA bundle must hold a certificate,
    /// the client certificate file a certificate and the key file a key.
    /// The client certificate is taken only with its key (configuration
    /// validation asks for both or neither).
    pub fn from_files(
        ca: Option<&Path>,
        client_cert: Option<&Path>,
        client_key: Option<&Path>,
    ) -> Result<ClientTls, ClientTlsError> {
        let ca = ca.map(|p| certificates(p, "CA file")).transpose()?;
        let identity = match (client_cert, client_key) {
            (Some(cert), Some(key)) => Some((
                certificates(cert, "client certificate file")?,
                private_key(key)?,
            )),
            _ => None,
        };
        Ok(ClientTls { ca, identity })
    }

    /// Whether anything beyond the built-in roots is configured.
    pub fn is_custom(&self) -> bool {
        self.ca.is_some() || self.identity.is_some()
    }

    /// The same material as the `redis` crate takes it.
    pub fn redis_certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .identity
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.clone(),
                }),
            root_cert: self.ca.clone(),
        }
    }
}

/// The PEM file at `path`, if it holds at least one certificate.
fn certificates(path: &Path, what: &'static str) -> Result<Vec<u8>, ClientTlsError> {
    let pem = read_tls_file(path, what)?;
    let no_certs = |detail| ClientTlsError::NoCerts {
        path: path.display().to_string(),
        detail,
    };
    let found = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certs(Some(pem_problem(&e))))?;
    if found.is_empty() {
        return Err(no_certs(None));
    }
    Ok(pem)
}

/// The PEM file at `path`, if it holds a private key.
fn private_key(path: &Path) -> Result<Vec<u8>, ClientTlsError> {
    let pem = read_tls_file(path, "client key file")?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| ClientTlsError::NoKey {
        path: path.display().to_string(),
        detail: pem_problem(&e),
    })?;
    Ok(pem)
}
