//! Secrets from files (`auth_token_file = "/run/secrets/twilio"`, as
//! Kubernetes and systemd mount them): read once while loading, bounded in
//! size, the trailing newline trimmed, and put in place of the secret key,
//! so the rest of the daemon sees one value whichever way it was given.
//!
//! | key read from `<key>_file` at load | |
//! |---|---|
//! | `provider.auth_token`, `provider.exotel.api_token`, `provider.exotel.webhook_secret`, `provider.exotel.webhook_password` | provider credentials |
//! | `policy.citizen_key_secret` | the citizen-key HMAC secret |
//! | `redis.url` | the whole URL, password included |
//! | `redis.sentinel_password`, `redis.sentinel_master_password` | Sentinel passwords |
//!
//! The admin tokens' files (`admin.token_file`, `admin.tokens[].token_file`,
//! `admin.metrics_token_file`) stay paths in the settings, because the
//! admin listener re-reads them on SIGHUP; here they are only checked to be
//! readable, so a wrong path is reported with every other problem.
//!
//! A problem names the key and the path, never the content.

use std::io::Read;
use std::path::{Path, PathBuf};

use config::{Value, ValueKind};

use super::error::ConfigProblem;
use super::paths;
use super::secret::Secret;
use super::tree::{self, Table, origin_of};

/// The largest secret file read (a token or a PEM-free password is far
/// smaller; a bigger file is the wrong file).
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Secret keys that may be given as `<key>_file`, read at load.
const INLINED: &[&str] = &[
    "provider.auth_token",
    "provider.exotel.api_token",
    "provider.exotel.webhook_secret",
    "provider.exotel.webhook_password",
    "policy.citizen_key_secret",
    "redis.url",
    "redis.sentinel_password",
    "redis.sentinel_master_password",
];

/// Admin token files, kept as paths (re-read on SIGHUP).
const KEPT: &[&str] = &["admin.token_file", "admin.metrics_token_file"];

/// Reads a secret from `path`: at most [`MAX_SECRET_FILE_BYTES`], UTF-8,
/// trailing CR/LF removed, not empty. `Err` says what is wrong with the
/// file, naming its path but never its content.
pub fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut bytes = Vec::new();
    // One byte more than allowed tells a file at the limit from a longer one
    // without reading a device such as /dev/zero forever.
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "{shown} is larger than {MAX_SECRET_FILE_BYTES} bytes: not a secret file"
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    let secret = text.trim_end_matches(['\r', '\n']);
    if secret.is_empty() {
        return Err(format!("{shown} is empty"));
    }
    Ok(Secret::new(secret))
}

/// Resolves every `*_file` path like the other path keys, reads the
/// [`INLINED`] ones into their keys and checks the admin ones are readable.
pub(super) fn apply(
    tree: &mut Table,
    file_dir: &Path,
    file: &Path,
    problems: &mut Vec<ConfigProblem>,
) {
    for key in INLINED {
        let file_key = format!("{key}_file");
        let Some(mut value) = tree::find(tree, &file_key).cloned() else {
            continue;
        };
        paths::resolve_value(&mut value, file_dir);
        let origin = origin_of(tree, &file_key, file);
        tree::remove(tree, &file_key);
        let read = match &value.kind {
            ValueKind::String(path) => read_secret_file(Path::new(path)),
            _ => Err("must be a path (a string)".to_owned()),
        };
        if tree::find(tree, key).is_some() {
            problems.push(ConfigProblem::Invalid {
                key: file_key,
                origin,
                reason: format!("set either {key} or {key}_file, not both"),
            });
            continue;
        }
        match read {
            Ok(secret) => insert(
                tree,
                key,
                Value::new(value.origin().map(str::to_owned).as_ref(), secret.expose()),
            ),
            Err(reason) => problems.push(ConfigProblem::Invalid {
                key: file_key,
                origin,
                reason,
            }),
        }
    }
    for (key, path) in kept_files(tree, file_dir) {
        if let Err(reason) = read_secret_file(&path) {
            let origin = origin_of(tree, &key, file);
            problems.push(ConfigProblem::Invalid {
                key,
                origin,
                reason,
            });
        }
    }
}

/// The admin token files, resolved in place, with their keys.
fn kept_files(tree: &mut Table, file_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut resolve = |key: String, value: &mut Value| {
        paths::resolve_value(value, file_dir);
        if let ValueKind::String(path) = &value.kind
            && !path.is_empty()
        {
            found.push((key, PathBuf::from(path)));
        }
    };
    for key in KEPT {
        let Some((section, name)) = key.split_once('.') else {
            continue;
        };
        if let Some(value) = tree::table_at(tree, &[section]).and_then(|t| t.get_mut(name)) {
            resolve((*key).to_owned(), value);
        }
    }
    let tokens = tree::table_at(tree, &["admin"]).and_then(|t| t.get_mut("tokens"));
    if let Some(ValueKind::Array(items)) = tokens.map(|v| &mut v.kind) {
        for (i, item) in items.iter_mut().enumerate() {
            if let ValueKind::Table(entry) = &mut item.kind
                && let Some(value) = entry.get_mut("token_file")
            {
                resolve(format!("admin.tokens[{i}].token_file"), value);
            }
        }
    }
    found
}

/// Sets the plain dotted `key` (no dots inside its parts), creating tables.
fn insert(tree: &mut Table, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut table = tree;
    for part in parts {
        let entry = table
            .entry(part.to_owned())
            .or_insert_with(|| Value::new(None, ValueKind::Table(Table::new())));
        let ValueKind::Table(inner) = &mut entry.kind else {
            // A section that is not a table: the deserialiser reports it.
            return;
        };
        table = inner;
    }
    table.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load;

    /// Every secret from a file or the environment, each distinctive, and
    /// the admin tokens from files beside the configuration file.
    #[test]
    fn secrets_load_from_files_and_never_show() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, value: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("{value}\n")).unwrap();
            path.display().to_string()
        };
        let twilio = write("twilio", "zq-twilio-secret");
        let citizen = write("citizen", "zq-citizen-secret-long-enough");
        let redis = write("redis", "redis://app:zq-redis-secret@db:6379/0");
        write("ops1", "zq-ops1-secret");
        write("view", "zq-view-secret");
        let config = dir.path().join("sampark.toml");
        std::fs::write(
            &config,
            format!(
                "[provider]\naccount_sid = \"ACtest\"\nauth_token_file = {twilio:?}\n\
                 [redis]\nurl_file = {redis:?}\n\
                 [admin]\nlisten = \"0.0.0.0:9090\"\nmetrics_token_file = \"view\"\n\
                 [[admin.tokens]]\nname = \"ops-1\"\nrole = \"operator\"\ntoken_file = \"ops1\"\n\
                 [[admin.tokens]]\nname = \"viewer\"\nrole = \"read\"\ntoken_file = \"view\"\n"
            ),
        )
        .unwrap();
        let env = vec![
            (
                "SAMPARK__POLICY__CITIZEN_KEY_SECRET_FILE".to_owned(),
                citizen,
            ),
            (
                "SAMPARK__REDIS__SENTINEL_PASSWORD".to_owned(),
                "zq-sentinel-secret".to_owned(),
            ),
        ];
        let s = load(&config, env.clone()).unwrap();
        assert_eq!(s.provider.auth_token.expose(), "zq-twilio-secret");
        assert_eq!(
            s.redis.url.expose(),
            "redis://app:zq-redis-secret@db:6379/0"
        );
        let key = s.policy.citizen_key_secret.as_ref().map(Secret::expose);
        assert_eq!(key, Some("zq-citizen-secret-long-enough"));
        // Admin token files stay paths, resolved beside the file.
        assert_eq!(s.admin.tokens[0].token_file, Some(dir.path().join("ops1")));
        let shown = format!("{s:?} {s:#?} {}", s.redis.shown());
        assert!(!shown.contains("zq-"), "{shown}");

        // A missing file: the key and the path, not the content of others.
        std::fs::remove_file(dir.path().join("ops1")).unwrap();
        std::fs::remove_file(dir.path().join("twilio")).unwrap();
        let err = load(&config, env).unwrap_err().to_string();
        assert!(err.contains("provider.auth_token_file"), "{err}");
        assert!(
            err.contains(&dir.path().join("twilio").display().to_string()),
            "{err}"
        );
        assert!(err.contains("admin.tokens[0].token_file"), "{err}");
        assert!(!err.contains("zq-"), "{err}");
    }

    #[test]
    fn a_secret_and_its_file_together_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "zq-file").unwrap();
        let config = dir.path().join("sampark.toml");
        std::fs::write(&config, "[provider]\nauth_token_file = \"t\"\n").unwrap();
        let env = vec![(
            "SAMPARK__PROVIDER__AUTH_TOKEN".to_owned(),
            "zq-env".to_owned(),
        )];
        let err = load(&config, env).unwrap_err().to_string();
        assert!(
            err.contains("set either provider.auth_token or provider.auth_token_file"),
            "{err}"
        );
        assert!(!err.contains("zq-"), "{err}");
    }

    #[test]
    fn a_secret_file_is_bounded_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-value\r\n").unwrap();
        assert_eq!(read_secret_file(&path).unwrap().expose(), "s3cret-value");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_secret_file(&path).unwrap_err().contains("is empty"));
        std::fs::write(&path, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).unwrap();
        assert!(read_secret_file(&path).unwrap_err().contains("larger than"));
        let missing = dir.path().join("missing");
        let err = read_secret_file(&missing).unwrap_err();
        assert!(err.contains(&missing.display().to_string()), "{err}");
        assert!(
            read_secret_file(Path::new("/dev/zero"))
                .unwrap_err()
                .contains("larger than")
        );
    }
}
