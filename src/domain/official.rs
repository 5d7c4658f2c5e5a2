//! An official in the officials' registry: who they are, where they work,
//! the languages they speak, and the number sampark dials to reach them.
//!
//! Owns: validating an official's fields ([`OfficialFields`] →
//! [`Official`]), and the stored form (compact JSON, the only place the
//! number is written in full). Does not own: import files
//! (`registry::`), storage (`store`), or who may call whom.
//!
//! | field | rule |
//! |---|---|
//! | `official_id` | an [`OfficialId`]: 1–64 of letters, digits, `.`, `_`, `-` |
//! | `name`, `office`, `department` | not empty, at most [`MAX_TEXT`] characters, no control characters (line breaks, tabs); surrounding spaces removed |
//! | `phone` | a number as contacts' numbers are read (`PhoneNumber::from_indian_input`), stored in E.164 |
//! | `languages` | each a language code as dialplans name them: two or three letters (`or`, `hi`, `en`), kept in lower case; empty entries skipped, repeats kept once; at most [`MAX_LANGUAGES`] |
//!
//! The number is personal data: `Debug` shows it masked (as
//! `PhoneNumber` does), there is no `Serialize` (a listing uses
//! [`Official::masked_json`]), and [`Official::phone`] is how the daemon gets
//! it to dial.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{OfficialId, PhoneNumber};

/// The longest name, office or department, in characters.
pub const MAX_TEXT: usize = 200;
/// The most languages one official may list.
pub const MAX_LANGUAGES: usize = 16;

/// The fields of an official as an import file gives them, not yet checked.
/// `Debug` masks the digits of `phone` (it may not even be a number yet).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OfficialFields {
    pub official_id: String,
    pub name: String,
    pub phone: String,
    pub office: String,
    pub department: String,
    pub languages: Vec<String>,
}

impl std::fmt::Debug for OfficialFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfficialFields")
            .field("official_id", &self.official_id)
            .field("name", &self.name)
            .field("phone", &super::mask_digit_runs(&self.phone))
            .field("office", &self.office)
            .field("department", &self.department)
            .field("languages", &self.languages)
            .finish()
    }
}

/// Why one field of an official was refused. The reason never holds the
/// phone number's digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// A validated official. `Debug` masks the number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Official {
    official_id: OfficialId,
    name: String,
    phone: PhoneNumber,
    office: String,
    department: String,
    languages: Vec<String>,
}

impl Official {
    /// Checks every field; `Err` lists each problem (every field is checked,
    /// not only up to the first bad one).
    pub fn new(fields: &OfficialFields) -> Result<Official, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut problem = |field: &'static str, reason: String| {
            problems.push(FieldProblem { field, reason });
        };
        let official_id = OfficialId::parse(fields.official_id.trim())
            .map_err(|e| problem("official_id", e.to_string()))
            .ok();
        let name = text(&fields.name).map_err(|e| problem("name", e)).ok();
        let phone = PhoneNumber::from_indian_input(&fields.phone)
            .map_err(|e| problem("phone", e.to_string()))
            .ok();
        let office = text(&fields.office).map_err(|e| problem("office", e)).ok();
        let department = text(&fields.department)
            .map_err(|e| problem("department", e))
            .ok();
        let languages = languages(&fields.languages)
            .map_err(|e| problem("languages", e))
            .ok();
        match (official_id, name, phone, office, department, languages) {
            (
                Some(official_id),
                Some(name),
                Some(phone),
                Some(office),
                Some(department),
                Some(languages),
            ) => Ok(Official {
                official_id,
                name,
                phone,
                office,
                department,
                languages,
            }),
            _ => Err(problems),
        }
    }

    pub fn official_id(&self) -> &OfficialId {
        &self.official_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number to dial. Personal data: for the provider and the store
    /// only; anything shown to a person uses its masked `Display`.
    pub fn phone(&self) -> &PhoneNumber {
        &self.phone
    }

    pub fn office(&self) -> &str {
        &self.office
    }

    pub fn department(&self) -> &str {
        &self.department
    }

    /// Language codes, in the order the file gave them.
    pub fn languages(&self) -> &[String] {
        &self.languages
    }

    /// The official as a listing shows it: the number masked.
    pub fn masked_json(&self) -> Value {
        json!({
            "official_id": self.official_id.as_str(),
            "name": self.name,
            "phone": self.phone.masked(),
            "office": self.office,
            "department": self.department,
            "languages": self.languages,
        })
    }

    /// The stored form: compact JSON with the number in full, keys in a
    /// fixed order, so one official always gives the same text (the Redis
    /// backend compares it to tell an update from no change).
    pub fn to_stored(&self) -> String {
        let stored = Stored {
            official_id: self.official_id.clone(),
            name: self.name.clone(),
            phone: self.phone.clone(),
            office: self.office.clone(),
            department: self.department.clone(),
            languages: self.languages.clone(),
        };
        // INVARIANT: a struct of strings always serialises.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// Reads [`to_stored`](Self::to_stored)'s text back, checking every
    /// field again. The error names what is wrong, never the number.
    pub fn from_stored(text: &str) -> Result<Official, String> {
        let stored: Stored = serde_json::from_str(text).map_err(|e| {
            // serde's message may quote a value; mask any number in it.
            super::mask_digit_runs(&e.to_string())
        })?;
        let fields = OfficialFields {
            official_id: stored.official_id.as_str().to_owned(),
            name: stored.name,
            phone: stored.phone.as_str().to_owned(),
            office: stored.office,
            department: stored.department,
            languages: stored.languages,
        };
        Official::new(&fields).map_err(|problems| {
            let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
            all.join("; ")
        })
    }
}

/// The stored JSON (see [`Official::to_stored`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    official_id: OfficialId,
    name: String,
    phone: PhoneNumber,
    office: String,
    department: String,
    languages: Vec<String>,
}

/// A name, office or department: trimmed, present, short, one line.
fn text(raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is empty".into());
    }
    let chars = value.chars().count();
    if chars > MAX_TEXT {
        return Err(format!(
            "is {chars} characters long; at most {MAX_TEXT} are allowed"
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(format!(
            "contains the control character U+{:04X} (a line break or a tab?); write it on one line",
            u32::from(c)
        ));
    }
    Ok(value.to_owned())
}

/// Language codes: two or three letters, as dialplans name their languages
/// (`dialplan/prompts.rs`), kept in lower case, each once.
fn languages(raw: &[String]) -> Result<Vec<String>, String> {
    let mut codes: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    for code in raw.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let is_code =
            (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphabetic());
        if !is_code {
            bad.push(format!("{:?}", super::mask_digit_runs(code)));
            continue;
        }
        let code = code.to_ascii_lowercase();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    if !bad.is_empty() {
        return Err(format!(
            "{} {} not a language code (two or three letters, e.g. or, hi, en; \
             separate codes with ';' in CSV)",
            bad.join(", "),
            if bad.len() == 1 { "is" } else { "are" }
        ));
    }
    if codes.len() > MAX_LANGUAGES {
        return Err(format!(
            "lists {} languages; at most {MAX_LANGUAGES} are allowed",
            codes.len()
        ));
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> OfficialFields {
        OfficialFields {
            official_id: "col-khordha".into(),
            name: " ସୁଜାତା ମହାନ୍ତି ".into(),
            phone: "098610 00001".into(),
            office: "Collectorate, Khordha".into(),
            department: "Revenue".into(),
            languages: vec!["OR".into(), " en".into(), "".into(), "or".into()],
        }
    }

    #[test]
    fn fields_are_trimmed_normalised_and_kept_intact() {
        let o = Official::new(&fields()).unwrap();
        assert_eq!(o.official_id().as_str(), "col-khordha");
        assert_eq!(o.name(), "ସୁଜାତା ମହାନ୍ତି");
        assert_eq!(o.phone().as_str(), "+919861000001");
        assert_eq!(o.languages(), ["or", "en"]);
        assert_eq!(Official::from_stored(&o.to_stored()).unwrap(), o);
    }

    #[test]
    fn every_bad_field_is_named_and_no_digits_are_shown() {
        let bad = OfficialFields {
            official_id: "a b".into(),
            name: "  ".into(),
            phone: "98610".into(),
            office: "x".repeat(MAX_TEXT + 1),
            department: "Home\nAffairs".into(),
            languages: vec!["odia".into(), "9861000001".into()],
        };
        let problems = Official::new(&bad).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "official_id",
                "name",
                "phone",
                "office",
                "department",
                "languages"
            ]
        );
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        let text = text.join("\n");
        assert!(text.contains("name: is empty"), "{text}");
        assert!(text.contains("201 characters"), "{text}");
        assert!(text.contains("U+000A"), "{text}");
        assert!(text.contains("\"odia\", \"******0001\" are not"), "{text}");
        assert!(!text.contains("98610"), "{text}");
    }

    #[test]
    fn debug_and_listings_mask_the_number() {
        let debug = format!("{:?}", fields());
        assert!(debug.contains("phone: \"****** *0001\""), "{debug}");
        let o = Official::new(&fields()).unwrap();
        let debug = format!("{o:?}");
        assert!(!debug.contains("9861000001"), "{debug}");
        assert!(debug.contains("+91******0001"), "{debug}");
        assert_eq!(o.masked_json()["phone"], "+91******0001");
        assert!(o.to_stored().contains("+919861000001"));
    }

    #[test]
    fn stored_text_that_is_wrong_is_refused_without_the_number() {
        assert!(Official::from_stored("{").is_err());
        let err = Official::from_stored(
            r#"{"official_id":"a","name":"n","phone":9861000001,"office":"o","department":"d","languages":[]}"#,
        )
        .unwrap_err();
        assert!(!err.contains("9861000001"), "{err}");
        let err = Official::from_stored(
            r#"{"official_id":"a","name":"","phone":"+919861000001","office":"o","department":"d","languages":[]}"#,
        )
        .unwrap_err();
        assert_eq!(err, "name: is empty");
    }
}
