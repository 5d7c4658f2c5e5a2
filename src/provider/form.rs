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
/// Order and repeated names are kept.
pub fn read_form(body: &[u8]) -> Result<Params, FormError> {
    // A Twilio callback has 15-30 pairs: one allocation for all of them.
    let mut params = Params::with_capacity(32);
    for (name, value) in form_urlencoded::parse(body) {
        check_pair(params.len(), &name, &value)?;
        params.push((name.into_owned(), value.into_owned()));
    }
    Ok(params)
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
