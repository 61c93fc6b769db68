//! Reading (and for the credential methods, writing) the contract's bodies
//! in its two encodings.
//!
//! Both codecs produce the same core values for the same data: values are
//! normalized (`""` and `null` are "no value", lists sorted) and validated
//! before they leave this module, so JSON and XML answers compare and hash
//! equal. Field paths in errors are the JSON shape's (`/phones/4`) in both
//! encodings, so an admin sees one vocabulary.

mod json;
pub(crate) mod xml;

use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{MemberDetails, MemberKey, Membership, PayloadFormat};
use secrecy::SecretString;

use crate::source::{checked_details, checked_groups, checked_memberships, ChangedPage, EventsPage};
pub use xml::XmlLimits;

/// The encoding of an HTTP source: the contract's JSON (`http-json`) or
/// XML (`http-xml`). It is the HTTP sources' concern only: what leaves a
/// source is core values and a raw body tagged with its
/// [`PayloadFormat`], which every kind of source can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpEncoding {
    Json,
    Xml,
}

impl HttpEncoding {
    /// `json` or `xml`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpEncoding::Json => "json",
            HttpEncoding::Xml => "xml",
        }
    }

    /// The media type asked for (`Accept`) and the format of a raw answer.
    pub fn media_type(self) -> &'static str {
        match self {
            HttpEncoding::Json => "application/json",
            HttpEncoding::Xml => "application/xml",
        }
    }

    /// The format raw answers of this encoding are stored with.
    pub fn format(self) -> PayloadFormat {
        match self {
            HttpEncoding::Json => PayloadFormat::JSON,
            HttpEncoding::Xml => PayloadFormat::XML,
        }
    }

    /// The source kind of this encoding.
    pub fn kind(self) -> crate::config::SourceKind {
        match self {
            HttpEncoding::Json => crate::config::SourceKind::HttpJson,
            HttpEncoding::Xml => crate::config::SourceKind::HttpXml,
        }
    }

    /// The encoding of an HTTP kind; `None` for the kinds that are not plain HTTP.
    pub fn of_kind(kind: crate::config::SourceKind) -> Option<HttpEncoding> {
        match kind {
            crate::config::SourceKind::HttpJson => Some(HttpEncoding::Json),
            crate::config::SourceKind::HttpXml => Some(HttpEncoding::Xml),
            _ => None,
        }
    }
}

/// A codec for one encoding.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    encoding: HttpEncoding,
    xml: XmlLimits,
}

impl Codec {
    /// `max_bytes` caps an XML document (the HTTP layer caps both encodings).
    pub fn new(encoding: HttpEncoding, max_bytes: u64) -> Codec {
        Codec { encoding, xml: XmlLimits { max_bytes, ..XmlLimits::default() } }
    }

    pub fn encoding(&self) -> HttpEncoding {
        self.encoding
    }

    /// The media type sent as `Accept` and as a request body's `Content-Type`.
    pub fn media_type(&self) -> &'static str {
        self.encoding.media_type()
    }

    /// A request body's `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        match self.encoding {
            HttpEncoding::Json => "application/json; charset=utf-8",
            HttpEncoding::Xml => "application/xml; charset=utf-8",
        }
    }

    /// One page of GetChangedMembers. `record` names the page in errors.
    pub fn changed_members(&self, body: &[u8], record: &str) -> Result<ChangedPage, DataError> {
        match self.encoding {
            HttpEncoding::Json => json::changed_members(body, record),
            HttpEncoding::Xml => xml::changed_members(body, record, &self.xml),
        }
    }

    /// GetMemberDetails, normalized and validated against the key asked for.
    pub fn member_details(&self, body: &[u8], key: &MemberKey) -> Result<MemberDetails, DataError> {
        let details = match self.encoding {
            HttpEncoding::Json => json::member_details(body, key)?,
            HttpEncoding::Xml => xml::member_details(body, key, &self.xml)?,
        };
        checked_details(details, key)
    }

    /// The merge target in a 410 body (`None` when the body names none).
    pub fn gone(&self, body: &[u8], key: &MemberKey) -> Result<Option<MemberKey>, DataError> {
        match self.encoding {
            HttpEncoding::Json => json::gone(body, key),
            HttpEncoding::Xml => xml::gone(body, key, &self.xml),
        }
    }

    /// GetMemberCommunities, normalized (sorted) and validated.
    pub fn memberships(&self, body: &[u8], key: &MemberKey) -> Result<Vec<Membership>, DataError> {
        let list = match self.encoding {
            HttpEncoding::Json => json::memberships(body, key)?,
            HttpEncoding::Xml => xml::memberships(body, key, &self.xml)?,
        };
        checked_memberships(list, key)
    }

    /// GetMemberSecurityGroups, normalized (sorted) and validated.
    pub fn groups(&self, body: &[u8], key: &MemberKey) -> Result<Vec<SecurityGroupRef>, DataError> {
        let list = match self.encoding {
            HttpEncoding::Json => json::groups(body, key)?,
            HttpEncoding::Xml => xml::groups(body, key, &self.xml)?,
        };
        checked_groups(list, key)
    }

    /// One page of GetChangedEvents; each event normalized and validated,
    /// a bad one goes to `rejected`.
    pub fn changed_events(&self, body: &[u8], record: &str) -> Result<EventsPage, DataError> {
        match self.encoding {
            HttpEncoding::Json => json::changed_events(body, record),
            HttpEncoding::Xml => xml::changed_events(body, record, &self.xml),
        }
    }

    /// The member key answered by AuthenticateCredentials or ResolveToken.
    pub fn key_answer(&self, body: &[u8], part: Part) -> Result<MemberKey, DataError> {
        match self.encoding {
            HttpEncoding::Json => json::key_answer(body, part),
            HttpEncoding::Xml => xml::key_answer(body, part, &self.xml),
        }
    }

    /// The AuthenticateCredentials request body.
    pub fn credentials_request(&self, username: &str, password: &SecretString) -> Vec<u8> {
        match self.encoding {
            HttpEncoding::Json => json::credentials_request(username, password),
            HttpEncoding::Xml => xml::credentials_request(username, password),
        }
    }

    /// The ResolveToken request body.
    pub fn token_request(&self, token: &str) -> Vec<u8> {
        match self.encoding {
            HttpEncoding::Json => json::token_request(token),
            HttpEncoding::Xml => xml::token_request(token),
        }
    }
}

/// Names a data error's record and part once for a whole answer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub record: &'a str,
    pub part: Part,
}

impl Ctx<'_> {
    pub fn err(&self, field: impl Into<String>, message: impl Into<String>) -> DataError {
        DataError::new(self.record, self.part, field, message)
    }
}

/// An empty cursor is no cursor: following it would ask for the first page again.
pub(crate) fn cursor(c: Option<String>) -> Option<String> {
    c.filter(|c| !c.is_empty())
}

/// The record name of a list entry whose key could not be read.
pub(crate) fn entry_record(list: &str, index: usize) -> String {
    format!("{list} entry {index}")
}

/// Moves an entry's error under its place in the page (`/events/3/ends_at`).
pub(crate) fn under(mut e: DataError, prefix: &str) -> DataError {
    e.field = if e.field == "/" { prefix.to_string() } else { format!("{prefix}{}", e.field) };
    e
}

#[cfg(test)]
mod parity_tests;
#[cfg(test)]
mod robustness_tests;
