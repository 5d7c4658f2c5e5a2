//! Reading a TLS file: only a regular file (after following symbolic
//! links, as Kubernetes mounts secrets), at most [`MAX_TLS_FILE_BYTES`].
//! A device such as `/dev/zero` or a FIFO would otherwise be read forever,
//! and a reader stuck in a blocking read ignores SIGTERM.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::SystemTime;

/// The largest certificate, key or CA bundle read. A PEM chain is a few
/// kilobytes; the Mozilla CA bundle is about 200 KiB.
pub const MAX_TLS_FILE_BYTES: u64 = 1024 * 1024;

/// Why a TLS file could not be read. Each names the file's role and path.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("cannot read the {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the {what} {path} is not a regular file (a directory, device or FIFO); give the path of a PEM file"
    )]
    NotAFile { what: &'static str, path: String },
    #[error(
        "the {what} {path} is larger than {MAX_TLS_FILE_BYTES} bytes; a PEM file is far smaller"
    )]
    TooLarge { what: &'static str, path: String },
}

/// The bytes of the TLS file at `path`; `what` names its role in errors
/// ("certificate file", "CA file", ...).
pub fn read_tls_file(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsFileError> {
    let shown = || path.display().to_string();
    let io = |source| TlsFileError::Io {
        what,
        path: shown(),
        source,
    };
    // Checked before opening: opening a FIFO blocks until a writer comes.
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(TlsFileError::NotAFile {
            what,
            path: shown(),
        });
    }
    let too_large = || TlsFileError::TooLarge {
        what,
        path: shown(),
    };
    if metadata.len() > MAX_TLS_FILE_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // The file may have grown since it was measured: never read past the cap.
    file.take(MAX_TLS_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TLS_FILE_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// A PEM parse error in words. The library's own text shows marker lines
/// as byte arrays; this shows them as text (they are markers such as
/// `-----END CERTIFICATE-----`, never key material).
pub(super) fn pem_problem(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "a PEM section has no end line (expected -----END {}-----)",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => format!(
            "a PEM section starts with a malformed line ({:?})",
            String::from_utf8_lossy(line)
        ),
        Error::Base64Decode(e) => format!("a PEM section is not valid base64 ({e})"),
        Error::NoItemsFound => "no PEM section of the expected kind".to_owned(),
        other => other.to_string(),
    }
}

/// What tells that a file was replaced or rewritten: its inode (a new file
/// moved into place, or a Kubernetes secret's symbolic link swapped), size
/// and modification time. `None` from [`FileStamp::of`] when it cannot be
/// read (e.g. gone for a moment during a swap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// The stamp of the file `path` leads to (symbolic links followed).
    pub fn of(path: &Path) -> Option<FileStamp> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            device: metadata.dev(),
            inode: metadata.ino(),
            len: metadata.len(),
            modified: metadata.modified().ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, b"-----BEGIN CERTIFICATE-----\n").unwrap();
        assert_eq!(
            read_tls_file(&path, "CA file").unwrap(),
            b"-----BEGIN CERTIFICATE-----\n"
        );
    }

    #[test]
    fn devices_directories_and_fifos_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for path in [Path::new("/dev/zero"), dir.path(), &fifo] {
            let err = read_tls_file(path, "certificate file").unwrap_err();
            assert!(matches!(err, TlsFileError::NotAFile { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("certificate file"), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
        }
    }

    #[test]
    fn a_file_over_the_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.pem");
        std::fs::write(&path, vec![b'a'; MAX_TLS_FILE_BYTES as usize + 1]).unwrap();
        let err = read_tls_file(&path, "key file").unwrap_err();
        assert!(matches!(err, TlsFileError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let err = read_tls_file(Path::new("/nonexistent/cert.pem"), "certificate file")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }

    #[test]
    fn pem_problems_show_markers_as_text() {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject;
        let err = CertificateDer::pem_slice_iter(b"-----BEGIN CERTIFICATE-----\nAAAA\n")
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert_eq!(
            pem_problem(&err),
            "a PEM section has no end line (expected -----END CERTIFICATE-----)"
        );
    }

    #[test]
    fn a_replaced_file_has_another_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        std::fs::write(&path, b"one").unwrap();
        let before = FileStamp::of(&path);
        assert!(before.is_some());
        assert_eq!(FileStamp::of(&path), before);
        let next = dir.path().join("cert.pem.new");
        std::fs::write(&next, b"two").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_ne!(FileStamp::of(&path), before);
        assert_eq!(FileStamp::of(&dir.path().join("gone.pem")), None);
    }
}
