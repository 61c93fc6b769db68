//! Data errors: input that does not meet the contract.
//!
//! A data error always names the record and the field, so an admin can find
//! the bad value in the AMS without reading logs.

use std::fmt;

/// Which part of the contract a piece of data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    ChangedMembers,
    Details,
    Communities,
    SecurityGroups,
    ChangedEvents,
    Credentials,
    ResolveToken,
    Health,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::ChangedMembers => "changed_members",
            Part::Details => "details",
            Part::Communities => "communities",
            Part::SecurityGroups => "security_groups",
            Part::ChangedEvents => "changed_events",
            Part::Credentials => "credentials",
            Part::ResolveToken => "resolve_token",
            Part::Health => "health",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that breaks the contract, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{part} of {record}: field {field}: {message}")]
pub struct DataError {
    /// The record the value belongs to (a member, community, group or event key,
    /// or a description such as `page 3` when no key could be read).
    pub record: String,
    pub part: Part,
    /// A JSON-pointer-like path to the field (`/phones/4`, `/address/country_code`).
    pub field: String,
    pub message: String,
}

impl DataError {
    pub fn new(record: impl Into<String>, part: Part, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { record: record.into(), part, field: field.into(), message: message.into() }
    }
}

/// The longest excerpt of a foreign response kept with an error.
pub const EXCERPT_CHARS: usize = 512;

/// A short, printable excerpt of a response body for error reports.
///
/// Cut on a character boundary, control characters other than newline and tab
/// replaced, so an excerpt is safe to show on a dashboard.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len().min(EXCERPT_CHARS + 3));
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        out.push(if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_bounded_and_printable() {
        let body = "é\u{0}".repeat(1000);
        let e = excerpt(body.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(!e.contains('\u{0}'));
    }

    #[test]
    fn data_error_names_record_and_field() {
        let e = DataError::new("M1", Part::Details, "/phones/4", "a fifth phone");
        assert_eq!(e.to_string(), "details of M1: field /phones/4: a fifth phone");
    }
}
