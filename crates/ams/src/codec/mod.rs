//! Reading (and for the credential methods, writing) the contract's bodies
//! in its two encodings.
//!
//! Both codecs produce the same core values for the same data: values are
//! normalized (`""` and `null` are "no value", lists sorted) and validated
//! before they leave this module, so JSON and XML answers compare and hash
//! equal. Field paths in errors are the JSON shape's (`/phones/4`) in both
//! encodings, so an admin sees one vocabulary.

mod json;
mod xml;

use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{Encoding, MemberDetails, MemberKey, Membership};
use secrecy::SecretString;

use crate::source::{ChangedPage, EventsPage};
pub use xml::XmlLimits;

/// A codec for one encoding.
#[derive(Debug, Clone, Copy)]
pub struct Codec {
    encoding: Encoding,
    xml: XmlLimits,
}

impl Codec {
    /// `max_bytes` caps an XML document (the HTTP layer caps both encodings).
    pub fn new(encoding: Encoding, max_bytes: u64) -> Codec {
        Codec { encoding, xml: XmlLimits { max_bytes, ..XmlLimits::default() } }
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The media type sent as `Accept` and as a request body's `Content-Type`.
    pub fn media_type(&self) -> &'static str {
        match self.encoding {
            Encoding::Json => "application/json",
            Encoding::Xml => "application/xml",
        }
    }

    /// A request body's `Content-Type`.
    pub fn content_type(&self) -> &'static str {
        match self.encoding {
            Encoding::Json => "application/json; charset=utf-8",
            Encoding::Xml => "application/xml; charset=utf-8",
        }
    }

    /// One page of GetChangedMembers. `record` names the page in errors.
    pub fn changed_members(&self, body: &[u8], record: &str) -> Result<ChangedPage, DataError> {
        match self.encoding {
            Encoding::Json => json::changed_members(body, record),
            Encoding::Xml => xml::changed_members(body, record, &self.xml),
        }
    }

    /// GetMemberDetails, normalized and validated against the key asked for.
    pub fn member_details(&self, body: &[u8], key: &MemberKey) -> Result<MemberDetails, DataError> {
        let mut details = match self.encoding {
            Encoding::Json => json::member_details(body, key)?,
            Encoding::Xml => xml::member_details(body, key, &self.xml)?,
        };
        details.normalize();
        details.validate(key)?;
        Ok(details)
    }

    /// The merge target in a 410 body (`None` when the body names none).
    pub fn gone(&self, body: &[u8], key: &MemberKey) -> Result<Option<MemberKey>, DataError> {
        match self.encoding {
            Encoding::Json => json::gone(body, key),
            Encoding::Xml => xml::gone(body, key, &self.xml),
        }
    }

    /// GetMemberCommunities, normalized (sorted) and validated.
    pub fn memberships(&self, body: &[u8], key: &MemberKey) -> Result<Vec<Membership>, DataError> {
        let mut list = match self.encoding {
            Encoding::Json => json::memberships(body, key)?,
            Encoding::Xml => xml::memberships(body, key, &self.xml)?,
        };
        amsync_core::community::normalize_memberships(&mut list);
        amsync_core::community::validate_memberships(key, &list)?;
        Ok(list)
    }

    /// GetMemberSecurityGroups, normalized (sorted) and validated.
    pub fn groups(&self, body: &[u8], key: &MemberKey) -> Result<Vec<SecurityGroupRef>, DataError> {
        let mut list = match self.encoding {
            Encoding::Json => json::groups(body, key)?,
            Encoding::Xml => xml::groups(body, key, &self.xml)?,
        };
        amsync_core::group::normalize_groups(&mut list);
        amsync_core::group::validate_groups(key, &list)?;
        Ok(list)
    }

    /// One page of GetChangedEvents; each event normalized and validated,
    /// a bad one goes to `rejected`.
    pub fn changed_events(&self, body: &[u8], record: &str) -> Result<EventsPage, DataError> {
        match self.encoding {
            Encoding::Json => json::changed_events(body, record),
            Encoding::Xml => xml::changed_events(body, record, &self.xml),
        }
    }

    /// The member key answered by AuthenticateCredentials or ResolveToken.
    pub fn key_answer(&self, body: &[u8], part: Part) -> Result<MemberKey, DataError> {
        match self.encoding {
            Encoding::Json => json::key_answer(body, part),
            Encoding::Xml => xml::key_answer(body, part, &self.xml),
        }
    }

    /// The AuthenticateCredentials request body.
    pub fn credentials_request(&self, username: &str, password: &SecretString) -> Vec<u8> {
        match self.encoding {
            Encoding::Json => json::credentials_request(username, password),
            Encoding::Xml => xml::credentials_request(username, password),
        }
    }

    /// The ResolveToken request body.
    pub fn token_request(&self, token: &str) -> Vec<u8> {
        match self.encoding {
            Encoding::Json => json::token_request(token),
            Encoding::Xml => xml::token_request(token),
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
