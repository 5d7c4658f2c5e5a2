//! XML text escaping shared by the call-control markups (TwiML, ExoML).

/// Escapes text for use both as element content and inside a double-quoted
/// attribute. Characters XML 1.0 forbids outright (most C0 controls) are
/// dropped: no escape makes them legal, and one would make the provider
/// reject the whole document and fail the call.
pub(crate) fn escape(raw: &str) -> String {
    // Most prompts need nothing escaped: a scan of their bytes, then one
    // copy. 0xEF starts every character from U+F000 on, U+FFFE and U+FFFF
    // among them (no Indic script's text has it).
    let plain = raw.bytes().all(|b| {
        !matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | 0xEF)
            && (b >= b' ' || matches!(b, b'\t' | b'\n' | b'\r'))
    });
    if plain {
        return raw.to_owned();
    }
    escape_each(raw)
}

/// `escape`, a character at a time.
fn escape_each(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_copied_and_the_rest_escaped_as_before() {
        let texts = [
            "Press 1 if you were treated well.",
            "ଆପଣଙ୍କୁ ଭଲ ବ୍ୟବହାର ମିଳିଥିଲା କି? ୧ ଦବାନ୍ତୁ।",
            "line\none\ttab\r",
            "a & b < c > d \"e\" 'f'",
            "bell\u{7}null\u{0}",
            "\u{FFFE}\u{FFFF}\u{F000}\u{FEFF}",
            "",
        ];
        for text in texts {
            assert_eq!(escape(text), escape_each(text), "{text:?}");
        }
        assert_eq!(escape("a & b"), "a &amp; b");
        assert_eq!(escape("x\u{FFFE}y\u{7}z\u{F000}"), "xyz\u{F000}");
    }
}
