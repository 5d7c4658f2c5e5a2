//! Aligned text columns for a terminal, for reports and escalation lists
//! alike: widths counted in terminal columns, so Odia and Hindi names
//! (whose vowel signs and viramas take no column of their own) line up.

/// How many terminal columns `text` takes (combining marks take none).
pub fn width(text: &str) -> usize {
    text.chars().filter(|c| !is_combining(*c)).count()
}

/// `rows` (the first is the heading) as lines of left-aligned columns two
/// spaces apart, each line ending in `\n` without trailing spaces.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for cells in rows {
        for (i, cell) in cells.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(width(cell)),
                None => widths.push(width(cell)),
            }
        }
    }
    let mut out = String::new();
    for cells in rows {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(width(c)))))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Odia (and other Indic) vowel signs and viramas take no column of their
/// own in a terminal; counting them would misalign the table.
fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0B01..=0x0B03 | 0x0B3C | 0x0B3E..=0x0B57 | 0x0B62..=0x0B63
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963
        | 0x200C..=0x200D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odia_names_line_up() {
        // ଖୋର୍ଦ୍ଧା: 8 code points, 4 of them combining.
        assert_eq!(width("ଖୋର୍ଦ୍ଧା"), 4);
        let out = aligned(&[
            vec!["office".into(), "n".into()],
            vec!["ଖୋର୍ଦ୍ଧା".into(), "1".into()],
        ]);
        assert_eq!(out, "office  n\nଖୋର୍ଦ୍ଧା    1\n");
    }
}
