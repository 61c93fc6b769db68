//! Raw AMS answers, kept as the AMS sent them (each member's last payload),
//! and the failures a call can end in.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};

/// What a raw answer is: its media type, as the source that read it names
/// it. An HTTP source names the contract's encoding (`application/json`,
/// `application/xml`); a SOAP, SQL or SCIM source names its own
/// (`application/soap+xml`, `text/x-sql-row+json`, `application/scim+json`,
/// …). The store keeps it beside the body, and a member's export shows it,
/// so the answer can be read without knowing which kind of source was
/// configured when it arrived.
///
/// It is a `type/subtype` pair of RFC 6838 names, in lower case, without
/// parameters: one spelling per format, so equal formats compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadFormat(Cow<'static, str>);

impl PayloadFormat {
    /// The contract's JSON encoding.
    pub const JSON: PayloadFormat = PayloadFormat(Cow::Borrowed("application/json"));
    /// The contract's XML encoding.
    pub const XML: PayloadFormat = PayloadFormat(Cow::Borrowed("application/xml"));

    /// A media type such as `application/soap+xml`; refused unless it is a
    /// lower-case `type/subtype` of RFC 6838 names.
    pub fn parse(s: &str) -> Result<PayloadFormat, String> {
        let valid_name = |n: &str| {
            (1..=127).contains(&n.len())
                && n.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$&-^_.+".contains(&b))
        };
        match s.split_once('/') {
            Some((t, sub)) if valid_name(t) && valid_name(sub) => Ok(PayloadFormat(Cow::Owned(s.to_string()))),
            _ => Err(format!("{s:?} is not a media type such as \"application/json\" (lower case, no parameters)")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PayloadFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One answer's body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPayload {
    pub format: PayloadFormat,
    pub body: Vec<u8>,
}

/// How a failed call is to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// 5xx, 429, timeout, connection error: retried with backoff.
    Transient,
    /// 401/403 on a data method: a configuration error; the source is paused
    /// and the entry does not use up an attempt.
    Unauthorized,
    /// Any other refusal (4xx) that retrying is unlikely to fix.
    Permanent,
    /// The body did not parse or broke the contract.
    Data,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::Permanent => "permanent",
            FailureKind::Data => "data",
        }
    }
}

/// Why a call failed, in the form the queue, the store and the dashboard use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub part: Part,
    /// A sentence for an admin; never contains secrets.
    pub message: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// The start of the offending body, when there was one.
    pub excerpt: Option<String>,
    /// The field at fault, for data errors.
    pub field: Option<String>,
}

impl Failure {
    pub fn from_data(e: &DataError, excerpt: Option<String>) -> Failure {
        Failure {
            kind: FailureKind::Data,
            part: e.part,
            message: e.to_string(),
            status: None,
            excerpt,
            field: Some(e.field.clone()),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.message, self.kind.as_str())?;
        if let Some(s) = self.status {
            write!(f, ", HTTP {s}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_lower_case_media_types() {
        for good in ["application/json", "application/soap+xml", "text/x-sql-row+json", "application/scim+json"] {
            assert_eq!(PayloadFormat::parse(good).unwrap().as_str(), good);
        }
        assert_eq!(PayloadFormat::parse("application/json").unwrap(), PayloadFormat::JSON);
        for bad in ["json", "Application/JSON", "application/json; charset=utf-8", "/xml", "text/", "a/b/c", ""] {
            assert!(PayloadFormat::parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
