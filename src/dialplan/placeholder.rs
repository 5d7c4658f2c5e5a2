//! `{office}`, `{service}`, `{key}`, `{citizen}` and `{visit_date}` in
//! prompt text: checking and filling.
//!
//! Owns: the placeholder syntax and which names exist. Which names a given
//! prompt may use is the caller's (`prompts`) choice: most prompts take
//! `PLACEHOLDERS`, `inbound.option` also takes `{key}`. A literal brace
//! cannot be written; prompts are speech, where braces mean nothing. Does
//! not own: where the values come from (the contact or visit, via `engine`
//! and `inbound`).

/// The placeholders most prompts may use.
pub const PLACEHOLDERS: [&str; 2] = ["office", "service"];

/// The placeholders an official's brief may use: the visit's, the
/// citizen's first name and the visit's date (empty when not given).
pub const OFFICIAL_PLACEHOLDERS: [&str; 4] = ["office", "service", "citizen", "visit_date"];

/// Every placeholder name; `{key}` (the key to press for an option) and the
/// official's call's `{citizen}` and `{visit_date}` are only allowed where
/// the caller says so.
pub const ALL_PLACEHOLDERS: [&str; 5] = ["office", "service", "key", "citizen", "visit_date"];

/// Why a prompt's placeholders are wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error(
        "unknown placeholder {{{0}}} (known: {{office}}, {{service}}; {{key}} in `inbound.option`; {{citizen}}, {{visit_date}} in `bridge.brief` and `bridge.not_reached`)"
    )]
    Unknown(String),
    /// A known placeholder this prompt has no value for.
    #[error("placeholder {{{0}}} is not allowed in this prompt")]
    NotAllowed(String),
    #[error("`{{` without a closing `}}`")]
    Unclosed,
    #[error("`}}` without an opening `{{`")]
    StrayClose,
}

/// Every placeholder problem in `text`, allowing `PLACEHOLDERS` (the
/// tests' shorthand; the parser always says what it allows).
#[cfg(test)]
pub fn check(text: &str) -> Vec<PlaceholderError> {
    check_allowing(text, &PLACEHOLDERS)
}

/// Every placeholder problem in `text`, allowing the names in `allowed`.
pub fn check_allowing(text: &str, allowed: &[&str]) -> Vec<PlaceholderError> {
    let mut problems = Vec::new();
    let mut rest = text;
    loop {
        let open = rest.find('{');
        let close = rest.find('}');
        match (open, close) {
            (None, None) => break,
            (None, Some(_)) => {
                problems.push(PlaceholderError::StrayClose);
                break;
            }
            (Some(o), Some(c)) if c < o => {
                problems.push(PlaceholderError::StrayClose);
                rest = &rest[c + 1..];
            }
            (Some(_), None) => {
                problems.push(PlaceholderError::Unclosed);
                break;
            }
            (Some(o), Some(c)) => {
                let name = &rest[o + 1..c];
                if !ALL_PLACEHOLDERS.contains(&name) {
                    problems.push(PlaceholderError::Unknown(name.to_owned()));
                } else if !allowed.contains(&name) {
                    problems.push(PlaceholderError::NotAllowed(name.to_owned()));
                }
                rest = &rest[c + 1..];
            }
        }
    }
    problems
}

/// `text` with `{office}` and `{service}` replaced (the tests' shorthand).
#[cfg(test)]
pub fn fill(text: &str, office: &str, service: &str) -> String {
    fill_with(text, &[("office", office), ("service", service)])
}

/// `text` with each `{name}` of `values` replaced by its value. Text that
/// failed `check` never reaches here; if it did, placeholders without a
/// value would be spoken as written.
pub fn fill_with(text: &str, values: &[(&str, &str)]) -> String {
    // One pass, so a value that itself contains `{service}` is not expanded.
    let extra: usize = values.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let found = values.iter().find_map(|(name, value)| {
            let body = after.strip_prefix('{')?.strip_prefix(*name)?;
            body.starts_with('}').then_some((*value, name.len() + 2))
        });
        let (value, skip) = found.unwrap_or(("{", 1));
        out.push_str(value);
        rest = &after[skip..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_placeholders_pass_and_fill() {
        let t = "At {office}, for {service}: {office}.";
        assert!(check(t).is_empty());
        assert_eq!(fill(t, "Town PS", "FIR"), "At Town PS, for FIR: Town PS.");
    }

    #[test]
    fn every_problem_is_reported() {
        let problems = check("{name} and } and {officer} and {office");
        assert_eq!(
            problems,
            vec![
                PlaceholderError::Unknown("name".into()),
                PlaceholderError::StrayClose,
                PlaceholderError::Unknown("officer".into()),
                PlaceholderError::Unclosed,
            ]
        );
    }

    #[test]
    fn filled_values_are_not_expanded_again() {
        // A contact's office name that happens to contain a placeholder is
        // spoken literally, not substituted with the service.
        assert_eq!(fill("{office}/{service}", "{service}", "x"), "{service}/x");
        assert_eq!(fill("{x} {", "o", "s"), "{x} {");
    }

    #[test]
    fn key_is_known_but_only_where_allowed() {
        assert_eq!(
            check("press {key}"),
            vec![PlaceholderError::NotAllowed("key".into())]
        );
        assert!(check_allowing("{office}: press {key}", &ALL_PLACEHOLDERS).is_empty());
        assert_eq!(
            check_allowing("{office} {keys}", &[]),
            vec![
                PlaceholderError::NotAllowed("office".into()),
                PlaceholderError::Unknown("keys".into()),
            ]
        );
    }

    #[test]
    fn fill_with_replaces_only_the_given_names() {
        let values = [("office", "Puri PS"), ("key", "3")];
        assert_eq!(
            fill_with("{office}: press {key} ({service})", &values),
            "Puri PS: press 3 ({service})"
        );
        assert_eq!(fill_with("{key}{key}}", &[("key", "{key}")]), "{key}{key}}");
    }
}
