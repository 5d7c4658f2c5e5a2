//! XML text escaping shared by the call-control markups (TwiML, ExoML).

/// Escapes text for use both as element content and inside a double-quoted
/// attribute. Characters XML 1.0 forbids outright (most C0 controls) are
/// dropped: no escape makes them legal, and one would make the provider
/// reject the whole document and fail the call.
pub(crate) fn escape(raw: &str) -> String {
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
