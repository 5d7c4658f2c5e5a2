//! Reading and checking the leaves of a dialplan: prompts (per language),
//! keypad keys, URLs and identifiers.
//!
//! Owns: the rules for a single prompt (text and/or audio, placeholders,
//! audio required where the provider has no voice) and for a localized
//! prompt table (one entry per declared language, no others). Does not own:
//! the file's overall structure (see `parse`).

use super::model::{Language, Localized, PromptSpec};
use super::placeholder;
use super::tree::{Reader, Value, key_path};

/// The keys a citizen can press.
pub(super) const KEYPAD: &str = "0123456789*#";

/// A single keypad key written as a one-character string.
pub(super) fn read_key(r: &mut Reader<'_>, v: &Value<'_>, path: &str) -> Option<char> {
    let s = r.as_string(v, path)?;
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if KEYPAD.contains(c) => Some(c),
        _ => {
            r.problem(
                v.span(),
                path,
                format!("{s:?} is not a single keypad key (one of 0-9, *, #)"),
            );
            None
        }
    }
}

/// Lower-case identifier: a letter, then letters, digits, `_` or `-`.
pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A language code as contacts carry it: two or three lower-case letters.
pub(super) fn is_language_code(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_lowercase())
}

/// A BCP-47 tag as TTS engines take it (`en-IN`, `hi-IN`, `cmn-Hans-CN`).
pub(super) fn is_bcp47(s: &str) -> bool {
    let mut parts = s.split('-');
    parts.next().is_some_and(is_language_code_any_case)
        && parts.all(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn is_language_code_any_case(s: &str) -> bool {
    (2..=3).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// An absolute http(s) URL the provider can fetch: a scheme, a host, and
/// nothing a URL cannot hold unescaped.
pub(super) fn url_problem(s: &str) -> Option<&'static str> {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return Some("must be an absolute http:// or https:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') || host.starts_with('.') {
        return Some("URL has no host");
    }
    if s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || "{}<>\"\\^`|".contains(c))
    {
        return Some("URL contains a character that must be percent-encoded");
    }
    None
}

/// One prompt: `{ text = "...", audio = "https://..." }`, either or both.
/// `language` decides whether audio is required; `allowed` names the
/// placeholders its text may use.
pub(super) fn read_prompt(
    r: &mut Reader<'_>,
    v: &Value<'_>,
    path: &str,
    language: Option<&Language>,
    allowed: &[&str],
) -> Option<PromptSpec> {
    let t = r.as_table(v, path)?;
    r.unknown_keys(&t, &["text", "audio"]);
    let before = r.problems.len();
    let text = r.opt_string(&t, "text");
    if let (Some(text), Some(tv)) = (&text, t.get("text")) {
        for p in placeholder::check_allowing(text, allowed) {
            r.problem(tv.span(), &key_path(path, "text"), p.to_string());
        }
    }
    let audio = r.opt_string(&t, "audio");
    if let (Some(audio), Some(av)) = (&audio, t.get("audio"))
        && let Some(why) = url_problem(audio)
    {
        r.problem(av.span(), &key_path(path, "audio"), why);
    }
    let has_text = t.get("text").is_some();
    let has_audio = t.get("audio").is_some();
    if !has_text && !has_audio {
        r.problem(t.range(), path, "a prompt needs `text`, `audio` or both");
    }
    if let Some(lang) = language {
        let speakable = lang.tts.is_some() || lang.fallback_tts.is_some();
        if !has_audio && has_text && !speakable {
            r.problem(
                t.range(),
                path,
                format!(
                    "language `{}` has no `tts` voice and no `fallback_tts`, so this prompt needs `audio`",
                    lang.code
                ),
            );
        }
    }
    (r.problems.len() == before).then_some(PromptSpec { text, audio })
}

/// A prompt in every declared language: `{ or = {...}, hi = {...}, ... }`,
/// whose text may use `{office}` and `{service}`.
pub(super) fn read_localized(
    r: &mut Reader<'_>,
    v: &Value<'_>,
    path: &str,
    languages: &[Language],
) -> Option<Localized> {
    read_localized_allowing(r, v, path, languages, &placeholder::PLACEHOLDERS)
}

/// `read_localized` with the placeholders in `allowed`. With no usable
/// language list (already reported), only the entries' own shape is checked.
pub(super) fn read_localized_allowing(
    r: &mut Reader<'_>,
    v: &Value<'_>,
    path: &str,
    languages: &[Language],
    allowed: &[&str],
) -> Option<Localized> {
    let t = r.as_table(v, path)?;
    let before = r.problems.len();
    let declared: Vec<&str> = languages.iter().map(|l| l.code.as_str()).collect();
    let mut found: Vec<(&str, PromptSpec)> = Vec::new();
    for (code, span, value) in t.entries() {
        let entry_path = key_path(path, code);
        let language = languages.iter().find(|l| l.code == code);
        if language.is_none() && !languages.is_empty() {
            r.problem(
                span,
                &entry_path,
                format!(
                    "unknown language `{code}` (declared: {})",
                    declared.join(", ")
                ),
            );
        }
        if let Some(spec) = read_prompt(r, value, &entry_path, language, allowed) {
            found.push((code, spec));
        }
    }
    let mut specs = Vec::with_capacity(languages.len());
    for lang in languages {
        if let Some((_, spec)) = found.iter().find(|(code, _)| *code == lang.code) {
            specs.push(spec.clone());
        } else if t.get(&lang.code).is_none() {
            r.problem(
                t.range(),
                path,
                format!("missing the prompt for declared language `{}`", lang.code),
            );
        }
    }
    (r.problems.len() == before && !languages.is_empty()).then_some(Localized(specs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_scheme_host_and_clean_characters() {
        assert_eq!(url_problem("https://media.example.gov.in/a/b.mp3"), None);
        assert_eq!(url_problem("http://10.0.0.1:8080/x.wav?v=1"), None);
        assert!(url_problem("ftp://x/y").is_some());
        assert!(url_problem("media.example/x.mp3").is_some());
        assert!(url_problem("https:///x.mp3").is_some());
        assert!(url_problem("https://x/a b.mp3").is_some());
        assert!(url_problem("https://x/{office}.mp3").is_some());
    }

    #[test]
    fn identifiers_codes_and_tags() {
        assert!(is_identifier("treated_well"));
        assert!(is_identifier("mo-sarkar-feedback"));
        assert!(!is_identifier("Treated"));
        assert!(!is_identifier("1st"));
        assert!(!is_identifier(""));
        assert!(is_language_code("or"));
        assert!(!is_language_code("OR"));
        assert!(!is_language_code("odia"));
        assert!(is_bcp47("en-IN"));
        assert!(is_bcp47("hi-IN"));
        assert!(is_bcp47("or"));
        assert!(!is_bcp47("en_IN"));
        assert!(!is_bcp47("english"));
        assert!(!is_bcp47("en-"));
    }
}
