//! Masked copies of submitted contacts, for the dead-letter stream: an
//! operator sees why a contact was refused, never a citizen's whole number.
//!
//! Owns: what is masked in a refused contact, and in any text shown to an
//! operator that may hold a number ([`mask_digit_runs`]). Does not own: the
//! masks themselves (`PhoneNumber::masked`, `mask_digits` in `phone.rs`).

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

/// A refused document (or any payload) as the dead-letter stream keeps it:
/// a JSON document's `contacts` masked as [`mask_contact`] masks one, then
/// every digit run that may be a phone number masked in the whole text
/// ([`mask_digit_runs`]), so a document that is not JSON, or holds numbers
/// elsewhere, keeps none either. Ids, counts and dates stay readable.
pub fn mask_document(text: &str) -> String {
    let parsed = serde_json::from_str::<Value>(text).ok();
    let text = match parsed {
        Some(mut doc) => {
            if let Some(Value::Array(contacts)) = doc.get_mut("contacts") {
                for contact in contacts.iter_mut() {
                    *contact = mask_contact(contact);
                }
            }
            doc.to_string()
        }
        None => text.to_owned(),
    };
    mask_digit_runs(&text)
}

/// Digits in a run this long (or longer) may be a phone number: written
/// without separators, and with them (a date, `2026-11-30`, has eight).
const RUN: usize = 7;
const SEPARATED_RUN: usize = 10;

/// `text` with every run of digits that may be a phone number masked but
/// its last four: seven or more digits in a row, or ten or more written
/// with the separators people use in numbers (spaces, `-`, `.`, `(`, `)`,
/// any number of them, between digits): every way `from_indian_input`
/// accepts a number without `+` shows no more than its last four digits. So a dead-lettered document or any free text can be
/// shown without a citizen's number, while counts, ids and dates are kept.
pub fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The run: digits, and single separators between digits.
        let start = i;
        let mut end = i;
        let mut digits = 0;
        let mut separated = false;
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                j += 1;
                end = j;
            } else if let Some(next) = after_separators(&chars, j)
                && chars[next].is_ascii_digit()
                && !starts_a_time(&chars[next..])
            {
                // Any number of separators, as a number may be written
                // (`(0674) 2390123`, `98765  43210`): still one number.
                separated = true;
                j = next;
            } else {
                break;
            }
        }
        let hide = digits >= if separated { SEPARATED_RUN } else { RUN };
        let mut seen = 0;
        for &c in &chars[start..end] {
            if c.is_ascii_digit() {
                seen += 1;
                out.push(if hide && seen + 4 <= digits { '*' } else { c });
            } else {
                out.push(c);
            }
        }
        i = end;
    }
    out
}

/// The index after the separators (spaces, `-`, `.`, `(`, `)`) that start
/// at `at`; `None` when none does, or they run to the end.
fn after_separators(chars: &[char], at: usize) -> Option<usize> {
    let count = chars[at..]
        .iter()
        .take_while(|c| matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .count();
    (count > 0 && at + count < chars.len()).then_some(at + count)
}

/// Whether `rest` opens with a time of day (`10:30`): after a date, not
/// more of a number.
fn starts_a_time(rest: &[char]) -> bool {
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    rest.get(digits) == Some(&':')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_refused_document_keeps_no_number() {
        let doc = r#"{"campaign": {"id": "c-1"}, "contacts": [{"id": "a", "phone": "98765_43210"}, {"id": "b", "phone": 9123456789, "note": "call +91 99887 76655"}]}"#;
        let masked = mask_document(doc);
        for digits in ["98765", "912345", "99887"] {
            assert!(!masked.replace(['_', ' '], "").contains(digits), "{masked}");
        }
        assert!(
            masked.contains("c-1") && masked.contains("3210"),
            "{masked}"
        );
        let csv = "id,phone\na,+91 98765 43210\n";
        assert_eq!(mask_document(csv), "id,phone\na,+** ***** *3210\n");
        assert_eq!(
            mask_document("not json {9876543210"),
            "not json {******3210"
        );
    }

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

    #[test]
    fn long_digit_runs_keep_only_their_last_four() {
        assert_eq!(
            mask_digit_runs(r#"{"phone":"+91 98765 43210","n":12,"year":"2026-11-30"}"#),
            r#"{"phone":"+** ***** *3210","n":12,"year":"2026-11-30"}"#
        );
        assert_eq!(mask_digit_runs("call 9876543210."), "call ******3210.");
        assert_eq!(mask_digit_runs("(0674) 2390123"), "(****) ***0123");
        assert_eq!(mask_digit_runs("98765  43210"), "*****  *3210");
        assert_eq!(mask_digit_runs("0674-239-0123"), "****-***-0123");
        assert_eq!(
            mask_digit_runs("at 2026-11-30 10:30"),
            "at 2026-11-30 10:30"
        );
        assert_eq!(
            mask_digit_runs("ids 123456 and 1234567"),
            "ids 123456 and ***4567"
        );
        assert_eq!(mask_digit_runs("+91******3210"), "+91******3210");
        assert_eq!(mask_digit_runs("ଓଡ଼ିଆ 5"), "ଓଡ଼ିଆ 5");
    }

    /// A number as Indian systems write it without `+` (the forms
    /// `from_indian_input` accepts, separators anywhere): the text, and for
    /// each of its characters whether it is a digit of the national number.
    fn written_without_plus() -> impl Strategy<Value = (Vec<char>, Vec<bool>)> {
        let national = (6u8..=9, proptest::collection::vec(0u8..=9, 9));
        let prefix = prop_oneof![Just(""), Just("0"), Just("91"), Just("091"), Just("0091")];
        let separators = proptest::collection::vec("[ .()-]{0,3}", 16);
        (national, prefix, separators, "[a-z: ]{0,6}").prop_map(
            |((first, rest), prefix, separators, lead)| {
                let mut text: Vec<char> = lead.chars().collect();
                let mut national_at = vec![false; text.len()];
                let digits = prefix.chars().map(|c| (c, false)).chain(
                    std::iter::once(first)
                        .chain(rest)
                        .map(|d| (char::from(b'0' + d), true)),
                );
                for ((digit, is_national), sep) in digits.zip(separators.iter().cycle()) {
                    text.push(digit);
                    national_at.push(is_national);
                    text.extend(sep.chars());
                    national_at.extend(sep.chars().map(|_| false));
                }
                (text, national_at)
            },
        )
    }

    proptest::proptest! {
        /// Written without `+`, a number shows no more than its masked E.164
        /// form does (country code and last four): at most four digits of
        /// the national number, whatever the separators.
        #[test]
        fn a_number_without_plus_shows_at_most_its_last_four_digits(
            (text, national_at) in written_without_plus()
        ) {
            let written: String = text.iter().collect();
            let phone = PhoneNumber::from_indian_input(written.trim_start_matches(|c: char| c.is_ascii_lowercase() || c == ':'));
            proptest::prop_assume!(phone.is_ok());
            let with_plus = phone.unwrap().masked();
            let shown_with_plus = with_plus.chars().filter(char::is_ascii_digit).count();
            for masked in [mask_digit_runs(&written), mask_digits(&written)] {
                let masked: Vec<char> = masked.chars().collect();
                proptest::prop_assert_eq!(masked.len(), text.len());
                let shown_national = masked
                    .iter()
                    .zip(&national_at)
                    .filter(|(c, national)| **national && c.is_ascii_digit())
                    .count();
                let shown = masked.iter().filter(|c| c.is_ascii_digit()).count();
                proptest::prop_assert!(shown_national <= 4, "{written:?} -> {masked:?}");
                proptest::prop_assert!(shown <= shown_with_plus, "{written:?} -> {masked:?}");
            }
        }
    }
}
