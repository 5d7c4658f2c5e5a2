//! Bounds on a webhook's parameters, beyond the HTTP body limit: how many
//! there are, and how long each name and value is. A form is read pair by
//! pair and refused at the first pair over a bound, so a body of many tiny
//! pairs never becomes as many strings. Signature checks see the pairs
//! exactly as sent: a form is refused whole, never cut to fit.
//!
//! Owns: these bounds and reading a form under them. Does not own: what a
//! parameter means (each adapter's `params`).

use super::Params;
use crate::domain::mask_digit_runs;

/// The most parameters in one webhook (a Twilio status callback sends
/// about thirty).
pub const MAX_FIELDS: usize = 128;
/// The longest parameter name, in bytes (decoded).
pub const MAX_NAME_BYTES: usize = 256;
/// The longest parameter value, in bytes (decoded; a speech transcript or
/// a recording URL is far shorter).
pub const MAX_VALUE_BYTES: usize = 4096;

/// Why a webhook's body was refused before it was used (400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("the webhook has more than {MAX_FIELDS} parameters")]
    TooManyFields,
    #[error("parameter {index}'s name is {bytes} bytes long; at most {MAX_NAME_BYTES} are allowed")]
    LongName { index: usize, bytes: usize },
    #[error("parameter `{name}` is {bytes} bytes long; at most {MAX_VALUE_BYTES} are allowed")]
    LongValue { name: String, bytes: usize },
    /// A JSON body that is not an object within `domain::json_guard`'s
    /// limits.
    #[error("the webhook body is not a JSON object: {0}")]
    Json(String),
}

/// Decodes an `application/x-www-form-urlencoded` body within the bounds.
/// Order and repeated names are kept. Decoded as the `form_urlencoded`
/// crate (the WHATWG URL standard's parser) decodes, which a test checks,
/// in one pass per pair: every webhook is read here, and that crate's
/// iterator chain cost the daemon 8 % of its work per call
/// (docs/performance.md, "The daemon's work per call, counted").
pub fn read_form(body: &[u8]) -> Result<Params, FormError> {
    // A Twilio callback has 15-30 pairs: one allocation for all of them.
    let mut params = Params::with_capacity(32);
    for pair in body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let (name, value) = (decode(name), decode(value));
        check_pair(params.len(), &name, &value)?;
        params.push((name, value));
    }
    Ok(params)
}

/// One name or value of a form: `+` is a space, `%` and two hex digits
/// the byte they spell (any other `%` stays as it is), and what is not
/// UTF-8 then becomes U+FFFD.
fn decode(raw: &[u8]) -> String {
    if !raw.iter().any(|&b| b == b'+' || b == b'%') {
        return match std::str::from_utf8(raw) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(raw).into_owned(),
        };
    }
    let mut bytes = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&b) = raw.get(at) {
        let escaped = match (b, raw.get(at + 1), raw.get(at + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(hi, lo)| hi << 4 | lo),
            _ => None,
        };
        match (b, escaped) {
            (_, Some(byte)) => {
                bytes.push(byte);
                at += 3;
                continue;
            }
            (b'+', None) => bytes.push(b' '),
            (other, None) => bytes.push(other),
        }
        at += 1;
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Checks pairs already decoded (a JSON body's members) against the bounds.
pub fn check_params(params: &Params) -> Result<(), FormError> {
    params
        .iter()
        .enumerate()
        .try_for_each(|(i, (name, value))| check_pair(i, name, value))
}

/// The pair at `index` (0-based), before it is kept.
fn check_pair(index: usize, name: &str, value: &str) -> Result<(), FormError> {
    if index >= MAX_FIELDS {
        return Err(FormError::TooManyFields);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(FormError::LongName {
            index: index + 1,
            bytes: name.len(),
        });
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(FormError::LongValue {
            name: mask_digit_runs(name),
            bytes: value.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_within_the_bounds_reads_whole_and_in_order() {
        let body = format!(
            "{}&Digits=1&Name={}",
            vec!["a=1"; MAX_FIELDS - 2].join("&"),
            "n".repeat(MAX_VALUE_BYTES)
        );
        let params = read_form(body.as_bytes()).unwrap();
        assert_eq!(params.len(), MAX_FIELDS);
        assert_eq!(params[MAX_FIELDS - 2], ("Digits".into(), "1".into()));
        assert_eq!(params[MAX_FIELDS - 1].1.len(), MAX_VALUE_BYTES);
    }

    /// Pairs as the `form_urlencoded` crate reads them.
    fn as_the_crate_reads(body: &[u8]) -> Params {
        form_urlencoded::parse(body).into_owned().collect()
    }

    #[test]
    fn a_form_decodes_as_the_url_standard_says() {
        let cases: [&[u8]; 14] = [
            b"To=%2B919876543210&From=%2B916742000000&Digits=1",
            b"a+b=c+d&plus=%2B&space=%20",
            b"&&a=1&&b=&=c&d",
            b"x=%&y=%4&z=%zz&w=%4g&v=100%25",
            b"url=https%3A%2F%2Fh%2Fp%3Fa%3D1%26b%3D2",
            b"name=%E0%AC%93%E0%AC%A1%E0%AC%BC%E0%AC%BF%E0%AC%86",
            b"bad=%FF%FE&cut=%E0%AC&raw=\xff",
            b"a==b&=&==",
            b"Speech=hello+there%2C+world%21",
            b"trail=1&",
            b"%41%42=%61%62",
            b"k=v=w",
            b"",
            b"+=+",
        ];
        for body in cases {
            assert_eq!(
                read_form(body).unwrap(),
                as_the_crate_reads(body),
                "{body:?}"
            );
        }
        // Bytes that are not UTF-8, raw and escaped, and random bodies
        // over the characters that matter.
        let raw = [b'a', b'=', 0xff, b'%', b'C', b'3', 0xa9, b'&', 0xe0, b'+'];
        assert_eq!(read_form(&raw).unwrap(), as_the_crate_reads(&raw));
        let alphabet = b"ab%+=&2Fc0e9E\xff\xc3\xa9";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5_000 {
            let len = usize::try_from(state % 24).unwrap();
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[usize::try_from(state % alphabet.len() as u64).unwrap()]
                })
                .collect();
            assert_eq!(
                read_form(&body).unwrap(),
                as_the_crate_reads(&body),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_form_over_a_bound_is_refused_naming_it() {
        let many = vec!["a=1"; MAX_FIELDS + 1].join("&");
        assert_eq!(read_form(many.as_bytes()), Err(FormError::TooManyFields));
        let name = format!("{}=1", "n".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(
            read_form(format!("CallSid=CA1&{name}").as_bytes())
                .unwrap_err()
                .to_string(),
            "parameter 2's name is 257 bytes long; at most 256 are allowed"
        );
        // Percent-encoded bytes count once decoded; a name is masked.
        let value = format!("To9876543210={}", "%41".repeat(MAX_VALUE_BYTES + 1));
        assert_eq!(
            read_form(value.as_bytes()).unwrap_err().to_string(),
            "parameter `To******3210` is 4097 bytes long; at most 4096 are allowed"
        );
        let params: Params = vec![("x".into(), "y".repeat(MAX_VALUE_BYTES + 1))];
        assert!(matches!(
            check_params(&params),
            Err(FormError::LongValue { .. })
        ));
    }
}
