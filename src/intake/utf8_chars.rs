//! UTF-8 text read a block at a time, so a file of any size is read in
//! constant memory (`campaign submit` streams its JSON and CSV input through
//! it; `csv_text.rs` reports a whole file's encoding problems with it).
//!
//! Bytes that are not UTF-8 become U+FFFD and are noted, one problem per
//! line (at most `MAX_ENCODING_PROBLEMS`), naming the line (as the CSV
//! parser counts them: LF, or a CR not before an LF), the byte of the line
//! and the byte of the file. A UTF-16 byte-order mark refuses the input at
//! once; a UTF-8 one is skipped (its bytes still count in the file's byte
//! numbers).

use std::io::Read;

use super::csv_text::CsvError;

/// At most this many encoding problems are listed (one per line).
const MAX_ENCODING_PROBLEMS: usize = 10;
pub(crate) const SAVE_AS_UTF8: &str = "in Excel, save it as \"CSV UTF-8 (Comma delimited)\"";
const BLOCK: usize = 64 * 1024;

/// The characters of a UTF-8 input.
pub(crate) struct Utf8Chars<R> {
    reader: R,
    /// Bytes read and not yet decoded from `raw_at` on.
    raw: Vec<u8>,
    raw_at: usize,
    /// Decoded characters not yet returned, from `text_at` on.
    text: String,
    text_at: usize,
    /// Where the next character starts in the file, and its line.
    offset: usize,
    line: usize,
    line_start: usize,
    /// A CR was the last character: the line ends unless an LF follows.
    cr_end: Option<usize>,
    problems: Vec<CsvError>,
    lines_with_bytes: usize,
    last_bad_line: usize,
    read_error: Option<std::io::Error>,
    /// The bytes the U+FFFD in `text` stands for (0: none).
    invalid_len: usize,
    /// The first byte that is not UTF-8, counted from 1.
    first_bad_byte: Option<usize>,
}

impl<R: Read> Utf8Chars<R> {
    /// Starts reading `reader`. `Err`: the input is UTF-16.
    pub(crate) fn new(mut reader: R) -> Result<Self, CsvError> {
        let mut raw = Vec::with_capacity(BLOCK);
        let mut read_error = None;
        // The first bytes tell a byte-order mark; a short read is retried.
        while raw.len() < 3 {
            let mut byte = [0u8; 3];
            match reader.read(&mut byte[..3 - raw.len()]) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&byte[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    read_error = Some(e);
                    break;
                }
            }
        }
        if raw.starts_with(&[0xFF, 0xFE]) || raw.starts_with(&[0xFE, 0xFF]) {
            return Err(CsvError::new(
                1,
                format!("the file is UTF-16 (Excel's \"Unicode Text\"), not UTF-8: {SAVE_AS_UTF8}"),
            ));
        }
        let bom = if raw.starts_with(&[0xEF, 0xBB, 0xBF]) {
            3
        } else {
            0
        };
        Ok(Utf8Chars {
            reader,
            raw,
            raw_at: bom,
            text: String::new(),
            text_at: 0,
            offset: bom,
            line: 1,
            line_start: 0,
            cr_end: None,
            problems: Vec::new(),
            lines_with_bytes: 0,
            last_bad_line: 0,
            read_error,
            invalid_len: 0,
            first_bad_byte: None,
        })
    }

    /// The encoding problems found so far (the first one says what to do),
    /// or the read error that stopped the input.
    pub(crate) fn finish(mut self) -> Result<Vec<CsvError>, std::io::Error> {
        if let Some(e) = self.read_error.take() {
            return Err(e);
        }
        let lines = self.lines_with_bytes;
        if let Some(first) = self.problems.first_mut() {
            first.message.push_str(&format!(
                ": the file is not UTF-8 ({lines} line(s) have such bytes; probably a \
                 Windows-1252 export, Excel's \"CSV (Comma delimited)\"): {SAVE_AS_UTF8}"
            ));
        }
        Ok(self.problems)
    }

    /// The first byte that is not UTF-8 (counted from 1), if any so far.
    pub(crate) fn first_bad_byte(&self) -> Option<usize> {
        self.first_bad_byte
    }

    /// Reads more bytes after those not yet decoded; false at the end.
    fn read_more(&mut self) -> bool {
        if self.read_error.is_some() {
            return false;
        }
        self.raw.drain(..self.raw_at);
        self.raw_at = 0;
        let had = self.raw.len();
        self.raw.resize(had + BLOCK, 0);
        loop {
            match self.reader.read(&mut self.raw[had..]) {
                Ok(n) => {
                    self.raw.truncate(had + n);
                    return n > 0;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.raw.truncate(had);
                    self.read_error = Some(e);
                    return false;
                }
            }
        }
    }

    /// Decodes the next run of characters into `text`; false at the end.
    fn refill(&mut self) -> bool {
        loop {
            let pending = &self.raw[self.raw_at..];
            if pending.is_empty() {
                if self.read_more() {
                    continue;
                }
                return false;
            }
            let (valid, bad_len) = match std::str::from_utf8(pending) {
                Ok(_) => (pending.len(), None),
                Err(e) => (e.valid_up_to(), Some(e.error_len())),
            };
            if valid > 0 {
                self.text.clear();
                // INVARIANT: `from_utf8` said the first `valid` bytes are UTF-8.
                self.text
                    .push_str(std::str::from_utf8(&pending[..valid]).unwrap_or_default());
                self.text_at = 0;
                self.raw_at += valid;
                return true;
            }
            match bad_len {
                Some(Some(len)) => {
                    self.invalid_bytes(len);
                    return true;
                }
                // An incomplete sequence: more bytes may complete it.
                _ => {
                    let before = self.raw.len() - self.raw_at;
                    if !self.read_more() || self.raw.len() == before {
                        // At the very end: the sequence never completes.
                        let len = self.raw.len() - self.raw_at;
                        self.invalid_bytes(len);
                        return true;
                    }
                }
            }
        }
    }

    /// Notes `len` bytes that are not UTF-8 and yields U+FFFD for them.
    fn invalid_bytes(&mut self, len: usize) {
        self.end_pending_cr(false);
        let bad = self.offset;
        self.first_bad_byte.get_or_insert(bad + 1);
        let first_of_line = self.last_bad_line != self.line;
        self.last_bad_line = self.line;
        if first_of_line {
            if self.lines_with_bytes < MAX_ENCODING_PROBLEMS {
                let byte = self.raw.get(self.raw_at).copied().unwrap_or_default();
                self.problems.push(CsvError::new(
                    self.line,
                    format!(
                        "byte {} of the line (byte {} of the file) is 0x{byte:02X}, which is not UTF-8",
                        bad - self.line_start + 1,
                        bad + 1,
                    ),
                ));
            }
            self.lines_with_bytes += 1;
        }
        self.raw_at += len;
        self.text.clear();
        self.text.push(char::REPLACEMENT_CHARACTER);
        self.text_at = 0;
        self.invalid_len = len;
    }

    /// A CR followed by anything but an LF ended its line.
    fn end_pending_cr(&mut self, lf_follows: bool) {
        if let Some(end) = self.cr_end.take()
            && !lf_follows
        {
            self.line += 1;
            self.line_start = end;
        }
    }
}

impl<R: Read> Iterator for Utf8Chars<R> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(c) = self.text[self.text_at..].chars().next() {
                self.text_at += c.len_utf8();
                self.end_pending_cr(c == '\n');
                self.offset += match std::mem::take(&mut self.invalid_len) {
                    0 => c.len_utf8(),
                    len => len,
                };
                match c {
                    '\n' => {
                        self.line += 1;
                        self.line_start = self.offset;
                    }
                    '\r' => self.cr_end = Some(self.offset),
                    _ => {}
                }
                return Some(c);
            }
            if !self.refill() {
                return None;
            }
        }
    }
}

/// Every encoding problem of `bytes` (none for UTF-8 text).
pub(crate) fn encoding_problems(bytes: &[u8]) -> Result<Vec<CsvError>, CsvError> {
    let mut chars = Utf8Chars::new(bytes)?;
    chars.by_ref().for_each(drop);
    // INVARIANT: reading a slice never fails.
    Ok(chars.finish().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns one byte per read, to cut every sequence.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn characters_cut_across_reads_are_whole_and_a_bom_is_skipped() {
        let text = "\u{feff}id,नाम\r\nc-1,ଓଡ଼ିଆ\n";
        let chars: String = Utf8Chars::new(Trickle(text.as_bytes())).unwrap().collect();
        assert_eq!(chars, &text[3..]);
    }

    #[test]
    fn bad_bytes_are_named_by_line_and_byte_once_per_line() {
        let bytes = b"ab\r\ncd\xE9f\xE9\rg\xFF\nend\xE2\x82";
        let problems = encoding_problems(bytes).unwrap();
        let found: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.message.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    2,
                    "byte 3 of the line (byte 7 of the file) is 0xE9, which is not UTF-8"
                ),
                (
                    3,
                    "byte 2 of the line (byte 12 of the file) is 0xFF, which is not UTF-8"
                ),
                (
                    4,
                    "byte 4 of the line (byte 17 of the file) is 0xE2, which is not UTF-8"
                ),
            ]
        );
        assert!(problems[0].message.contains("3 line(s) have such bytes"));
        let trickled = Utf8Chars::new(Trickle(bytes)).unwrap();
        let mut trickled = trickled;
        trickled.by_ref().for_each(drop);
        assert_eq!(trickled.finish().unwrap(), problems);
        assert!(encoding_problems(b"plain\n").unwrap().is_empty());
    }
}
