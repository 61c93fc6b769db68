//! Text from outside, made safe to log.
//!
//! A value logged with `%` (its `Display`) goes into the text log format as
//! it is: a newline in a query parameter, a header, an AMS answer or a token
//! claim would start a line of its own, and a reader (or a log shipper)
//! would take the forged line for one of ours. [`escaped`] wraps any
//! `Display` value so that control characters, and the Unicode line and
//! paragraph separators and bidirectional overrides that some viewers also
//! obey, are written as escapes (`\n`, `\r`, `\t`, `\u{1b}`…) and the rest
//! unchanged. Every logged value that comes from outside goes through it:
//!
//! ```
//! # let provider_error = "denied\n2025-01-01T00:00:00Z INFO forged";
//! let shown = amsync_core::escaped(provider_error).to_string();
//! assert_eq!(shown, "denied\\n2025-01-01T00:00:00Z INFO forged");
//! ```
//!
//! (`?` fields of strings are escaped by the formatter already, and `&str`
//! fields are written with `Debug`; `%` fields and messages built with
//! `format!` are not.)

use std::fmt::{self, Write};

/// A `Display` value written with its control characters escaped.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<T>(pub T);

/// Wraps a value from outside for logging: `error = %escaped(&e)`.
pub fn escaped<T: fmt::Display>(value: T) -> Escaped<T> {
    Escaped(value)
}

/// Whether a character is written as an escape: control characters (C0,
/// DEL, C1), the line and paragraph separators, and the bidirectional
/// overrides and isolates that can make a line read otherwise than it is.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Passes text through to the formatter, escaping as it goes (no copy).
struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| needs_escape(c)) {
            self.0.write_str(&rest[..at])?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                other => write!(self.0, "\\u{{{:x}}}", other as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapingWriter(f), "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_line_separators_are_escaped() {
        let cases = [
            ("plain text, café", "plain text, café"),
            ("a\nb", "a\\nb"),
            ("a\r\nb", "a\\r\\nb"),
            ("tab\there", "tab\\there"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("nul\0", "nul\\u{0}"),
            ("next\u{85}line", "next\\u{85}line"),
            ("del\u{7f}", "del\\u{7f}"),
            ("sep\u{2028}par\u{2029}", "sep\\u{2028}par\\u{2029}"),
            ("\u{202e}txt.exe", "\\u{202e}txt.exe"),
            ("back\\slash", "back\\slash"),
        ];
        for (raw, want) in cases {
            assert_eq!(escaped(raw).to_string(), want, "{raw:?}");
        }
    }

    #[test]
    fn any_display_value_is_escaped_not_only_strings() {
        #[derive(Debug)]
        struct Failure;
        impl fmt::Display for Failure {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the AMS said: line one\nline two")
            }
        }
        assert_eq!(escaped(&Failure).to_string(), "the AMS said: line one\\nline two");
        assert_eq!(format!("[{}]", escaped(42)), "[42]");
    }

    #[test]
    fn escaped_text_never_holds_a_line_break() {
        let every_char: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let out = escaped(&every_char).to_string();
        assert!(!out.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{b}', '\u{c}']));
        assert!(!out.chars().any(needs_escape));
    }
}
