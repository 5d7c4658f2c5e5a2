//! `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + sorted params)).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// Computes the signature Twilio sends for a request to `url` carrying the
/// form parameters `params` (any order; they are sorted by name, then value).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // INVARIANT: HMAC accepts keys of any length.
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("hmac key");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a received signature in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let expected = sign(auth_token, url, params);
    expected
        .as_bytes()
        .ct_eq(signature.trim().as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn twilio_documented_vector() {
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn second_vector_and_param_order_does_not_matter() {
        let mut params = p(&[
            ("To", "+919876543210"),
            ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            ("CallSid", "CA0123456789abcdef0123456789abcdef"),
            ("CallStatus", "in-progress"),
            ("Digits", "1"),
            ("Direction", "outbound-api"),
            ("From", "+14155550100"),
        ]);
        let url = "http://127.0.0.1:8099/twilio/gather?call=42";
        assert_eq!(
            sign("test_auth_token", url, &params),
            "nO3nxDYo8AQviOziUiKj3VABtLs="
        );
        params.reverse();
        assert!(verify(
            "test_auth_token",
            url,
            &params,
            "nO3nxDYo8AQviOziUiKj3VABtLs="
        ));
    }

    #[test]
    fn tampering_is_detected() {
        let params = p(&[("Digits", "1")]);
        let sig = sign("tok", "https://x/y?a=1", &params);
        assert!(!verify("tok", "https://x/y?a=2", &params, &sig));
        assert!(!verify("other", "https://x/y?a=1", &params, &sig));
        assert!(!verify(
            "tok",
            "https://x/y?a=1",
            &p(&[("Digits", "2")]),
            &sig
        ));
        assert!(!verify("tok", "https://x/y?a=1", &params, ""));
    }
}
