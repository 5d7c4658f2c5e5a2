//! A listener's certificate, replaceable while the server runs: rustls asks
//! [`ServerCert`] for the certified key at each handshake, so a reload
//! changes what new handshakes get and leaves open connections alone (their
//! handshake is done). The `rustls::ServerConfig` is built once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::files::{FileStamp, TlsFileError, pem_problem, read_tls_file};

/// Why a certificate and key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    File(#[from] TlsFileError),
    #[error("cannot read certificates from {path}: {detail}")]
    Certs { path: String, detail: String },
    #[error("no certificate found in {0}")]
    NoCerts(String),
    #[error("cannot read the private key from {path}: {detail}")]
    Key { path: String, detail: String },
    #[error("the certificate in {cert} and the key in {key} do not form a usable pair: {source}")]
    Pair {
        cert: String,
        key: String,
        source: rustls::Error,
    },
    #[error("cannot set up TLS: {0}")]
    Config(#[from] rustls::Error),
}

/// The certificate chain and key a listener serves, from two PEM files,
/// reloaded in place by [`ServerCert::reload`].
pub struct ServerCert {
    /// The listener's name in logs (`webhook`, `admin`).
    name: &'static str,
    cert_path: PathBuf,
    key_path: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files as they were when last read, to see a change.
    stamps: Mutex<[Option<FileStamp>; 2]>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCert")
            .field("name", &self.name)
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .finish_non_exhaustive()
    }
}

impl ServerCert {
    /// Reads the pair for the listener `name`.
    pub fn load(name: &'static str, cert_path: &Path, key_path: &Path) -> Result<Self, TlsError> {
        let stamps = [FileStamp::of(cert_path), FileStamp::of(key_path)];
        let key = load_pair(cert_path, key_path)?;
        Ok(ServerCert {
            name,
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            current: RwLock::new(Arc::new(key)),
            stamps: Mutex::new(stamps),
        })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The certificate file (for logs).
    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// A server configuration (HTTP/2 and HTTP/1.1 by ALPN) that serves
    /// whatever this certificate holds at each handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Whether either file changed since it was last read.
    pub fn files_changed(&self) -> bool {
        let now = [
            FileStamp::of(&self.cert_path),
            FileStamp::of(&self.key_path),
        ];
        *self.stamps.lock().unwrap_or_else(PoisonError::into_inner) != now
    }

    /// Reads the pair again and serves it from the next handshake on. On
    /// an error the pair served so far stays. Either way the files' current
    /// state counts as seen, so a bad pair is reported once, not at every
    /// poll.
    pub fn reload(&self) -> Result<(), TlsError> {
        let stamps = [
            FileStamp::of(&self.cert_path),
            FileStamp::of(&self.key_path),
        ];
        *self.stamps.lock().unwrap_or_else(PoisonError::into_inner) = stamps;
        let key = load_pair(&self.cert_path, &self.key_path)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// The one crypto provider sampark uses.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and the private key that matches its first
/// certificate.
fn load_pair(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey, TlsError> {
    let shown = |p: &Path| p.display().to_string();
    let pem = read_tls_file(cert_path, "certificate file")?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certs {
            path: shown(cert_path),
            detail: pem_problem(&e),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCerts(shown(cert_path)));
    }
    let pem = read_tls_file(key_path, "key file")?;
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| TlsError::Key {
        path: shown(key_path),
        detail: pem_problem(&e),
    })?;
    CertifiedKey::from_der(certs, key, &provider()).map_err(|source| TlsError::Pair {
        cert: shown(cert_path),
        key: shown(key_path),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate for `localhost` and its key, as PEM.
    fn self_signed() -> (String, String) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        (made.cert.pem(), made.signing_key.serialize_pem())
    }

    fn served(cert: &ServerCert) -> Vec<u8> {
        cert.current.read().unwrap().cert[0].to_vec()
    }

    #[test]
    fn a_pair_that_does_not_match_is_refused_and_the_served_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let (cert, key) = self_signed();
        std::fs::write(&cert_path, &cert).unwrap();
        std::fs::write(&key_path, &key).unwrap();
        let loaded = ServerCert::load("admin", &cert_path, &key_path).unwrap();
        let before = served(&loaded);
        assert!(!loaded.files_changed());

        // Another certificate with the old key: not a pair.
        let (other, _) = self_signed();
        std::fs::write(&cert_path, &other).unwrap();
        assert!(loaded.files_changed());
        let err = loaded.reload().unwrap_err();
        assert!(matches!(err, TlsError::Pair { .. }), "{err}");
        assert_eq!(served(&loaded), before);
        assert!(!loaded.files_changed(), "a refused pair is reported once");

        // Files swapped: the key file holds no certificate.
        let err = ServerCert::load("admin", &key_path, &cert_path).unwrap_err();
        assert!(err.to_string().contains("k.pem"), "{err}");
        assert!(!err.to_string().contains("PRIVATE"), "{err}");
    }
}
