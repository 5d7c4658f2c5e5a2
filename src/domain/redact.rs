//! Masked copies of submitted contacts, for the dead-letter stream: an
//! operator sees why a contact was refused, never a citizen's whole number.
//!
//! Owns: what is masked in a refused contact. Does not own: the masks
//! themselves (`PhoneNumber::masked`, `mask_digits` in `phone.rs`).

use serde_json::Value;

use super::PhoneNumber;
use super::campaign::CONTACT_FIELDS;
use super::phone::mask_digits;

/// A copy of a submitted contact safe to put in the dead-letter stream: a
/// `phone` that normalises becomes its masked E.164 form, any other keeps
/// only its last four digits (and a `+` country code); unknown fields, which
/// may hold other numbers, and a contact that is not an object are masked
/// the same way.
pub(super) fn mask_contact(item: &Value) -> Value {
    let Value::Object(obj) = item else {
        return mask_any(item);
    };
    let masked = obj.iter().map(|(key, value)| {
        let value = match key.as_str() {
            "phone" => mask_phone(value),
            known if CONTACT_FIELDS.contains(&known) => value.clone(),
            _ => mask_any(value),
        };
        (mask_digits(key), value)
    });
    Value::Object(masked.collect())
}

fn mask_phone(value: &Value) -> Value {
    let raw = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return mask_any(other),
    };
    Value::String(match PhoneNumber::from_indian_input(&raw) {
        Ok(phone) => phone.masked(),
        Err(_) => mask_digits(&raw),
    })
}

/// `value` with the digits of each string (and number) masked as by
/// `mask_digits`.
fn mask_any(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask_digits(s)),
        Value::Number(n) => Value::String(mask_digits(&n.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(mask_any).collect()),
        Value::Object(obj) => Value::Object(
            obj.iter()
                .map(|(k, v)| (mask_digits(k), mask_any(v)))
                .collect(),
        ),
        Value::Null | Value::Bool(_) => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn phones_show_their_country_code_and_last_four_digits_only() {
        let contact = |phone: Value| json!({"id": "c-1", "phone": phone, "office": "PS 12345"});
        let masked = |phone: Value| mask_contact(&contact(phone))["phone"].clone();
        assert_eq!(masked(json!("098765 43210")), "+91******3210");
        assert_eq!(masked(json!(9876543210u64)), "+91******3210");
        assert_eq!(masked(json!("+91987654321")), "+91*****4321");
        assert_eq!(masked(json!("98765x43210")), "*****x*3210");
        assert_eq!(masked(json!(["9876543210"])), json!(["******3210"]));
        assert_eq!(masked(Value::Null), Value::Null);
        assert_eq!(
            mask_contact(&contact(json!("1")))["office"],
            "PS 12345",
            "known fields are kept"
        );
    }

    #[test]
    fn unknown_fields_and_non_objects_are_masked_too() {
        let masked = mask_contact(&json!({"id": "c-1", "alt_phone": "9876543210",
            "9876543210": {"n": [9876543210u64]}}));
        assert_eq!(masked["alt_phone"], "******3210");
        assert_eq!(masked["******3210"]["n"][0], "******3210");
        assert_eq!(mask_contact(&json!("+919876543210")), "+91******3210");
        assert_eq!(mask_contact(&json!(9876543210u64)), "******3210");
    }
}
