//! Webhook authentication for Exotel, which does not sign its requests:
//! every callback URL sampark hands Exotel carries `sig`, an HMAC-SHA256
//! under `provider.exotel.webhook_secret` of the URL's path and of every
//! other query parameter, in order; optionally, Basic auth credentials too.
//!
//! Owns: signing a URL on its way out and checking a request on its way
//! in. Does not own: which URLs exist (`calls::urls`) nor the 403 (the
//! webhook server answers it when `verify` says no).
//!
//! | property | how |
//! |---|---|
//! | a URL cannot be guessed | 256-bit HMAC under a secret only sampark holds |
//! | a per-call URL cannot be moved to another job, attempt or step, or route | the HMAC covers the path and every parameter, `job`, `shard`, `attempt`, `step`, `hold`, `digits` alike |
//! | nothing can be appended | an added parameter changes what is signed |
//! | the comparison leaks nothing | `Mac::verify_slice` and `subtle` are constant-time |
//!
//! Only the query is signed, not the scheme and host: a proxy may rewrite
//! those, and a URL sent to another host is not a forgery of ours. The
//! parameters are signed as the raw `name=value` segments Exotel sends
//! back, so no decoding or re-encoding can make signer and checker differ.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The query parameter that carries the token.
pub const TOKEN_PARAM: &str = "sig";

type HmacSha256 = Hmac<Sha256>;

/// Signs outgoing callback URLs and checks incoming requests.
#[derive(Clone)]
pub struct UrlSigner {
    secret: Vec<u8>,
    /// `(user, password)` embedded in URLs and required in `Authorization`.
    basic: Option<(String, String)>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("secret", &"<redacted>")
            .field("basic_auth", &self.basic.is_some())
            .finish()
    }
}

impl UrlSigner {
    pub fn new(secret: &str, basic: Option<(&str, &str)>) -> Self {
        Self {
            secret: secret.as_bytes().to_vec(),
            basic: basic.map(|(u, p)| (u.to_owned(), p.to_owned())),
        }
    }

    fn mac(&self, path: &str, segments: &[&str]) -> HmacSha256 {
        // INVARIANT: HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(path.as_bytes());
        mac.update(b"?");
        mac.update(segments.join("&").as_bytes());
        mac
    }

    /// `url` (absolute) with its token (any earlier one replaced) and,
    /// when configured, the Basic auth credentials in its authority.
    pub fn sign(&self, url: &str) -> String {
        let (origin, path_and_query) = split_origin(url);
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let segments = unsigned_segments(query);
        let token = URL_SAFE_NO_PAD.encode(self.mac(path, &segments).finalize().into_bytes());
        let mut out = self.with_credentials(origin);
        out.push_str(path);
        out.push('?');
        for segment in &segments {
            out.push_str(segment);
            out.push('&');
        }
        out.push_str(TOKEN_PARAM);
        out.push('=');
        out.push_str(&token);
        out
    }

    /// Whether a request to `path_and_query` carrying `authorization` is
    /// one of ours: exactly one valid token and, when configured, the
    /// right Basic auth credentials.
    pub fn check(&self, path_and_query: &str, authorization: Option<&str>) -> bool {
        if let Some((user, password)) = &self.basic {
            let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
            let given = authorization.unwrap_or("").trim();
            if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                return false;
            }
        }
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut tokens = query.split('&').filter_map(|s| {
            s.strip_prefix(TOKEN_PARAM)
                .and_then(|r| r.strip_prefix('='))
        });
        let (Some(token), None) = (tokens.next(), tokens.next()) else {
            return false;
        };
        let Ok(token) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.mac(path, &unsigned_segments(query))
            .verify_slice(&token)
            .is_ok()
    }

    fn with_credentials(&self, origin: &str) -> String {
        let Some((user, password)) = &self.basic else {
            return origin.to_owned();
        };
        let Some((scheme, authority)) = origin.split_once("://") else {
            return origin.to_owned();
        };
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let enc = |s: &str| {
            form_urlencoded::byte_serialize(s.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        format!("{scheme}://{}:{}@{host}", enc(user), enc(password))
    }
}

/// The query's segments but the token, in order; empty ones dropped.
fn unsigned_segments(query: &str) -> Vec<&str> {
    query
        .split('&')
        .filter(|s| !s.is_empty() && *s != TOKEN_PARAM && !s.starts_with("sig="))
        .collect()
}

/// `scheme://authority` and the rest (`/path?query`) of an absolute URL; a
/// relative one has no origin.
fn split_origin(url: &str) -> (&str, &str) {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            url.split_at(scheme.len() + 3 + end)
        }
        None => ("", url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn signer() -> UrlSigner {
        UrlSigner::new(SECRET, None)
    }

    fn path_and_query(url: &str) -> &str {
        split_origin(url).1
    }

    const GATHER: &str =
        "https://ivr.example/exotel/gather?job=police-1%2Fc-7&shard=3&attempt=2&step=4";

    #[test]
    fn a_signed_url_checks_and_keeps_its_parameters() {
        let signed = signer().sign(GATHER);
        assert!(signed.starts_with(&format!("{GATHER}&sig=")), "{signed}");
        assert!(signer().check(path_and_query(&signed), None));
        // Signing again (a held URL) replaces the token instead of adding one.
        let again = signer().sign(&format!("{signed}&hold=1"));
        assert_eq!(again.matches("sig=").count(), 1);
        assert!(signer().check(path_and_query(&again), None));
        // The host is not signed: a proxy may rewrite it.
        let pq = path_and_query(&signed);
        assert!(signer().check(pq, None));
    }

    #[test]
    fn forged_or_altered_requests_fail() {
        let signed = signer().sign(GATHER);
        let pq = path_and_query(&signed).to_owned();
        let other_job = pq.replace("c-7", "c-8");
        let other_step = pq.replace("step=4", "step=5");
        let other_route = pq.replace("/gather", "/answer");
        let appended = format!("{pq}&digits=1");
        let token = pq.split("sig=").nth(1).unwrap();
        let two_tokens = format!("{pq}&sig={token}");
        let no_token = pq.split("&sig=").next().unwrap().to_owned();
        let other_key = UrlSigner::new("another-secret-another-secret-xx", None).sign(GATHER);
        for forged in [
            other_job.as_str(),
            other_step.as_str(),
            other_route.as_str(),
            appended.as_str(),
            two_tokens.as_str(),
            no_token.as_str(),
            path_and_query(&other_key),
            "/exotel/gather?job=police-1%2Fc-7&shard=3&attempt=2&step=4&sig=",
            "/exotel/gather?sig=!!!",
        ] {
            assert!(!signer().check(forged, None), "{forged}");
        }
    }

    #[test]
    fn static_inbound_urls_are_signed_over_the_path() {
        let url = signer().sign("https://ivr.example/exotel/inbound");
        assert!(
            url.starts_with("https://ivr.example/exotel/inbound?sig="),
            "{url}"
        );
        assert!(signer().check(path_and_query(&url), None));
        let moved = path_and_query(&url).replace("/inbound", "/inbound/status");
        assert!(!signer().check(&moved, None));
    }

    #[test]
    fn basic_auth_is_embedded_and_required() {
        let signer = UrlSigner::new(SECRET, Some(("exotel", "p@ss word")));
        let url =
            signer.sign("https://old:creds@ivr.example/exotel/status?job=a%2Fb&shard=0&attempt=1");
        assert!(
            url.starts_with("https://exotel:p%40ss%20word@ivr.example/exotel/status?"),
            "{url}"
        );
        let pq = path_and_query(&url);
        let good = format!("Basic {}", STANDARD.encode("exotel:p@ss word"));
        assert!(signer.check(pq, Some(&good)));
        let wrong = format!("Basic {}", STANDARD.encode("exotel:guess"));
        assert!(!signer.check(pq, Some(&wrong)));
        assert!(!signer.check(pq, None));
    }

    #[test]
    fn debug_hides_the_secret() {
        let shown = format!("{:?}", UrlSigner::new(SECRET, Some(("u", "pw-secret"))));
        assert!(
            !shown.contains(SECRET) && !shown.contains("pw-secret"),
            "{shown}"
        );
    }
}
