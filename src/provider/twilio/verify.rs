//! Webhook authentication: checks `X-Twilio-Signature` against the URL
//! Twilio was told to call.
//!
//! Owns: which URL is signed and its accepted variants. Does not own: the
//! HMAC itself (see `signature`) nor the HTTP answer to a failed check (the
//! webhook server replies 403).
//!
//! The URL is rebuilt from the configured *public* base URL, never from the
//! request's `Host` header: behind a load balancer or TLS terminator the
//! daemon sees a different scheme, host and port than Twilio signed, and a
//! Host-derived URL would let a caller choose what is verified.

use super::signature;

/// True when `signature` is Twilio's signature for a POST to
/// `public_base_url` (trailing slash ignored) + `path_and_query` carrying the
/// form `params`. Like Twilio's own validators, the URL is also tried with
/// the scheme's default port added (when absent) or removed (when present),
/// because some Twilio edges sign `https://host:443/...`. Comparison is
/// constant-time.
pub fn verify_request(
    auth_token: &str,
    public_base_url: &str,
    path_and_query: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> bool {
    let Some(signature) = signature.filter(|s| !s.trim().is_empty()) else {
        return false;
    };
    let base = public_base_url.trim_end_matches('/');
    let separator = if path_and_query.starts_with('/') || path_and_query.is_empty() {
        ""
    } else {
        "/"
    };
    let url = format!("{base}{separator}{path_and_query}");
    // The URL as given, then (only if that fails) with its default port
    // toggled.
    signature::verify(auth_token, &url, params, signature)
        || toggle_default_port(&url)
            .is_some_and(|other| signature::verify(auth_token, &other, params, signature))
}

/// `https://h/p` ⇄ `https://h:443/p` and `http://h/p` ⇄ `http://h:80/p`;
/// `None` for other schemes or a non-default port.
fn toggle_default_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // The port follows the host, after any userinfo and past an IPv6 literal.
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    let port_colon = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].find(':').map(|i| bracket + i),
        None => host_port.rfind(':'),
    };
    let toggled_host = match port_colon {
        Some(colon) if &host_port[colon + 1..] == default_port => host_port[..colon].to_owned(),
        Some(_) => return None,
        None => format!("{host_port}:{default_port}"),
    };
    Some(format!(
        "{scheme}://{}{toggled_host}{tail}",
        &authority[..host_start]
    ))
}

#[cfg(test)]
mod tests {
    use super::signature::sign;
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn documented_params() -> Vec<(String, String)> {
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
    }

    fn gather_params() -> Vec<(String, String)> {
        p(&[
            ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("CallSid", "CA0123456789abcdef0123456789abcdef"),
            ("CallStatus", "in-progress"),
            ("Digits", "1"),
            ("Direction", "outbound-api"),
            ("From", "+14155550100"),
            ("To", "+919876543210"),
        ])
    }

    const DOC_SIG: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
    const GATHER_SIG: &str = "nO3nxDYo8AQviOziUiKj3VABtLs=";

    #[test]
    fn twilio_documented_vector_with_and_without_trailing_slash() {
        let params = documented_params();
        for base in ["https://mycompany.com", "https://mycompany.com/"] {
            assert!(verify_request(
                "12345",
                base,
                "/myapp.php?foo=1&bar=2",
                &params,
                Some(DOC_SIG)
            ));
        }
    }

    #[test]
    fn second_vector_over_plain_http_with_port() {
        assert!(verify_request(
            "test_auth_token",
            "http://127.0.0.1:8099/",
            "/twilio/gather?call=42",
            &gather_params(),
            Some(GATHER_SIG),
        ));
    }

    #[test]
    fn default_port_added_or_removed_is_accepted() {
        let params = documented_params();
        // Configured with the port, Twilio signed without it.
        assert!(verify_request(
            "12345",
            "https://mycompany.com:443",
            "/myapp.php?foo=1&bar=2",
            &params,
            Some(DOC_SIG)
        ));
        // Configured without the port, Twilio signed with it.
        let with_port = sign(
            "12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &params,
        );
        assert!(verify_request(
            "12345",
            "https://mycompany.com",
            "/myapp.php?foo=1&bar=2",
            &params,
            Some(&with_port)
        ));
        let http80 = sign("t", "http://ivr.example:80/s?x=1", &params);
        assert!(verify_request(
            "t",
            "http://ivr.example",
            "/s?x=1",
            &params,
            Some(&http80)
        ));
    }

    #[test]
    fn wrong_port_scheme_path_token_or_params_fail() {
        let params = documented_params();
        let path = "/myapp.php?foo=1&bar=2";
        assert!(!verify_request(
            "12345",
            "https://mycompany.com:8443",
            path,
            &params,
            Some(DOC_SIG)
        ));
        assert!(!verify_request(
            "12345",
            "https://mycompany.com:80",
            path,
            &params,
            Some(DOC_SIG)
        ));
        assert!(!verify_request(
            "12345",
            "http://mycompany.com",
            path,
            &params,
            Some(DOC_SIG)
        ));
        assert!(!verify_request(
            "12345",
            "https://mycompany.com",
            "/myapp.php?foo=1&bar=3",
            &params,
            Some(DOC_SIG)
        ));
        assert!(!verify_request(
            "54321",
            "https://mycompany.com",
            path,
            &params,
            Some(DOC_SIG)
        ));
        let mut tampered = params.clone();
        tampered[2].1 = "9".into();
        assert!(!verify_request(
            "12345",
            "https://mycompany.com",
            path,
            &tampered,
            Some(DOC_SIG)
        ));
    }

    #[test]
    fn missing_or_blank_signature_fails() {
        let params = documented_params();
        let path = "/myapp.php?foo=1&bar=2";
        assert!(!verify_request(
            "12345",
            "https://mycompany.com",
            path,
            &params,
            None
        ));
        assert!(!verify_request(
            "12345",
            "https://mycompany.com",
            path,
            &params,
            Some("")
        ));
        assert!(!verify_request(
            "12345",
            "https://mycompany.com",
            path,
            &params,
            Some("  ")
        ));
    }

    #[test]
    fn toggling_handles_userinfo_ipv6_and_other_ports() {
        assert_eq!(
            toggle_default_port("https://u:p@h/x?y=1").as_deref(),
            Some("https://u:p@h:443/x?y=1")
        );
        assert_eq!(
            toggle_default_port("http://[::1]:80/x").as_deref(),
            Some("http://[::1]/x")
        );
        assert_eq!(
            toggle_default_port("http://[::1]/x").as_deref(),
            Some("http://[::1]:80/x")
        );
        assert_eq!(
            toggle_default_port("https://h?q"),
            Some("https://h:443?q".into())
        );
        assert_eq!(toggle_default_port("https://h:8443/x"), None);
        assert_eq!(toggle_default_port("ftp://h/x"), None);
        assert_eq!(toggle_default_port("not a url"), None);
    }
}
