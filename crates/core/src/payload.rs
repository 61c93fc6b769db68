//! Raw AMS answers, kept as the AMS sent them (each member's last payload),
//! and the failures a call can end in.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Part};

/// The encoding of a raw answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Json,
    Xml,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::Xml => "xml",
        }
    }

    pub fn parse(s: &str) -> Option<Encoding> {
        match s {
            "json" => Some(Encoding::Json),
            "xml" => Some(Encoding::Xml),
            _ => None,
        }
    }
}

/// One answer's body as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPayload {
    pub encoding: Encoding,
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
