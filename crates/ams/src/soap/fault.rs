//! What a SOAP fault means for the call that got it.
//!
//! SOAP 1.1 reports every failure as a fault, most often with HTTP 500,
//! and services written on ASMX put an exception's message in the
//! faultstring with the code `soap:Server` whatever went wrong. So the
//! faultstring decides first, by the phrases of `[ams.soap.faults]`
//! (case-insensitive), then the code:
//!
//! | fault | meaning |
//! |---|---|
//! | faultstring has an `unauthorized` phrase ("security key", …) | our key is refused: [`SourceError::Unauthorized`], the source pauses |
//! | faultstring has a `not_found` phrase ("not found", …) | GetMemberDetails: gone (404); AuthenticateUser / ResolveToken: refused (`None`); other operations: permanent |
//! | code `Server…` | transient (retried by the queue) |
//! | any other code (`Client…`, `VersionMismatch`, …) | permanent |
//!
//! Every error names the operation and carries the faultstring.

use amsync_core::error::Part;

use super::envelope::Fault;
use crate::config::SoapFaults;
use crate::source::SourceError;

/// How a fault is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    Unauthorized,
    NotFound,
    Transient,
    Permanent,
}

/// The phrases, lower-cased once.
#[derive(Debug, Clone)]
pub struct Phrases {
    unauthorized: Vec<String>,
    not_found: Vec<String>,
}

impl Phrases {
    pub fn new(cfg: &SoapFaults) -> Phrases {
        let lower = |v: &[String]| v.iter().map(|p| p.to_lowercase()).collect();
        Phrases { unauthorized: lower(&cfg.unauthorized), not_found: lower(&cfg.not_found) }
    }

    pub fn meaning(&self, fault: &Fault) -> Meaning {
        let text = fault.string.to_lowercase();
        if self.unauthorized.iter().any(|p| text.contains(p.as_str())) {
            Meaning::Unauthorized
        } else if self.not_found.iter().any(|p| text.contains(p.as_str())) {
            Meaning::NotFound
        } else if fault.code.starts_with("Server") {
            Meaning::Transient
        } else {
            Meaning::Permanent
        }
    }

    /// The failure a fault stands for, when the operation has no answer of
    /// its own for it (a not-found fault is then permanent).
    pub fn failure(&self, fault: &Fault, operation: &str, part: Part, status: u16) -> SourceError {
        let detail = describe(fault, operation);
        let excerpt = Some(amsync_core::error::excerpt(fault.string.as_bytes()));
        match self.meaning(fault) {
            Meaning::Unauthorized => SourceError::Unauthorized { part, status, excerpt, detail: Some(detail) },
            Meaning::Transient => {
                SourceError::Transient { part, reason: detail, status: Some(status), retry_after: None, excerpt }
            }
            Meaning::NotFound | Meaning::Permanent => {
                SourceError::Permanent { part, status, excerpt, detail: Some(detail) }
            }
        }
    }
}

/// `GetMemberDetails answered the SOAP fault soap:Server "…"`.
pub fn describe(fault: &Fault, operation: &str) -> String {
    let code = if fault.code.is_empty() { "without a faultcode".to_string() } else { format!("soap:{}", fault.code) };
    let text: String = fault.string.chars().take(500).collect();
    // Debug quoting escapes control characters: the text comes from outside.
    format!("{operation} answered the SOAP fault {code}: {text:?}")
}
