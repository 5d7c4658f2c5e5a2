//! `{office}` and `{service}` in prompt text: checking and filling.
//!
//! Owns: the placeholder syntax. A literal brace cannot be written; prompts
//! are speech, where braces mean nothing. Does not own: where the values
//! come from (the contact, via `engine::CallContext`).

/// The placeholders a prompt may use.
pub const PLACEHOLDERS: [&str; 2] = ["office", "service"];

/// Why a prompt's placeholders are wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    #[error("unknown placeholder {{{0}}} (known: {{office}}, {{service}})")]
    Unknown(String),
    #[error("`{{` without a closing `}}`")]
    Unclosed,
    #[error("`}}` without an opening `{{`")]
    StrayClose,
}

/// Every placeholder problem in `text`.
pub fn check(text: &str) -> Vec<PlaceholderError> {
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
                if !PLACEHOLDERS.contains(&name) {
                    problems.push(PlaceholderError::Unknown(name.to_owned()));
                }
                rest = &rest[c + 1..];
            }
        }
    }
    problems
}

/// `text` with the placeholders replaced. Text that failed `check` never
/// reaches here; if it did, unknown placeholders would be spoken as written.
pub fn fill(text: &str, office: &str, service: &str) -> String {
    // One pass, so a value that itself contains `{service}` is not expanded.
    let mut out = String::with_capacity(text.len() + office.len() + service.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let (value, skip) = if after.starts_with("{office}") {
            (office, "{office}".len())
        } else if after.starts_with("{service}") {
            (service, "{service}".len())
        } else {
            ("{", 1)
        };
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
}
