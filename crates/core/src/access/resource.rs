//! What an access decision is about: a resource written `kind:ID`.
//!
//! The kinds are the product's public names (`discussion`, `library`,
//! `microsite`, `content`, `event`); the ID is a key under the rules of
//! [`crate::keys`]. The string is split at its first `:`, so an ID may itself
//! contain colons.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::keys::{validate_key, CommunityKey, EventKey, KeyError};

/// The kinds of resource, in the order the product lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Discussion,
    Library,
    Microsite,
    Content,
    Event,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 5] = [
        ResourceKind::Discussion,
        ResourceKind::Library,
        ResourceKind::Microsite,
        ResourceKind::Content,
        ResourceKind::Event,
    ];

    /// The name used before the `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Discussion => "discussion",
            ResourceKind::Library => "library",
            ResourceKind::Microsite => "microsite",
            ResourceKind::Content => "content",
            ResourceKind::Event => "event",
        }
    }

    /// Exact, case-sensitive: the names are part of the public interface.
    pub fn parse(s: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ID of a content or navigation item (e.g. `home-banner`): a key under
/// the same rules as the other keys.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContentId(String);

impl ContentId {
    /// Parses an ID, refusing what the key rules do not allow.
    pub fn parse(s: impl Into<String>) -> Result<Self, KeyError> {
        let s = s.into();
        validate_key(&s)?;
        Ok(ContentId(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContentId {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        ContentId::parse(s)
    }
}

impl From<ContentId> for String {
    fn from(id: ContentId) -> String {
        id.0
    }
}

impl std::borrow::Borrow<str> for ContentId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ContentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A resource an access decision is asked about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    Discussion(CommunityKey),
    Library(CommunityKey),
    Microsite(CommunityKey),
    Content(ContentId),
    Event(EventKey),
}

/// Why a string is not a resource. The messages finish the sentence
/// `unknown resource "…": `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("a resource is written kind:ID, with kind one of discussion, library, microsite, content, event")]
    MissingKind,
    #[error("{kind:?} is not a kind of resource (discussion, library, microsite, content, event)")]
    UnknownKind { kind: String },
    #[error("the ID of a {kind} is not a valid key: {source}")]
    BadId { kind: ResourceKind, source: KeyError },
}

impl Resource {
    /// Parses `kind:ID`.
    pub fn parse(s: &str) -> Result<Resource, ResourceError> {
        let (kind, id) = s.split_once(':').ok_or(ResourceError::MissingKind)?;
        let kind = ResourceKind::parse(kind)
            .ok_or_else(|| ResourceError::UnknownKind { kind: kind.chars().take(64).collect() })?;
        let bad = |source| ResourceError::BadId { kind, source };
        Ok(match kind {
            ResourceKind::Discussion => Resource::Discussion(CommunityKey::parse(id).map_err(bad)?),
            ResourceKind::Library => Resource::Library(CommunityKey::parse(id).map_err(bad)?),
            ResourceKind::Microsite => Resource::Microsite(CommunityKey::parse(id).map_err(bad)?),
            ResourceKind::Content => Resource::Content(ContentId::parse(id).map_err(bad)?),
            ResourceKind::Event => Resource::Event(EventKey::parse(id).map_err(bad)?),
        })
    }

    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Discussion(_) => ResourceKind::Discussion,
            Resource::Library(_) => ResourceKind::Library,
            Resource::Microsite(_) => ResourceKind::Microsite,
            Resource::Content(_) => ResourceKind::Content,
            Resource::Event(_) => ResourceKind::Event,
        }
    }

    /// The part after the `:`.
    pub fn id(&self) -> &str {
        match self {
            Resource::Discussion(c) | Resource::Library(c) | Resource::Microsite(c) => c.as_str(),
            Resource::Content(id) => id.as_str(),
            Resource::Event(k) => k.as_str(),
        }
    }

    /// The community whose discussion, library or microsite this is.
    pub fn community(&self) -> Option<&CommunityKey> {
        match self {
            Resource::Discussion(c) | Resource::Library(c) | Resource::Microsite(c) => Some(c),
            Resource::Content(_) | Resource::Event(_) => None,
        }
    }
}

impl std::str::FromStr for Resource {
    type Err = ResourceError;
    fn from_str(s: &str) -> Result<Resource, ResourceError> {
        Resource::parse(s)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind(), self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_round_trips() {
        for s in ["discussion:CH-NYC", "library:CH-NYC", "microsite:SIG-AI", "content:home-banner", "event:EV:2027"] {
            let r = Resource::parse(s).unwrap();
            assert_eq!(r.to_string(), s);
        }
        assert_eq!(Resource::parse("event:EV:2027").unwrap().id(), "EV:2027", "split at the first colon");
        assert_eq!(Resource::parse("library:C").unwrap().community().map(|c| c.as_str()), Some("C"));
    }

    #[test]
    fn refuses_what_is_not_a_resource() {
        assert_eq!(Resource::parse("CH-NYC"), Err(ResourceError::MissingKind));
        assert_eq!(Resource::parse("foo:bar"), Err(ResourceError::UnknownKind { kind: "foo".into() }));
        assert_eq!(Resource::parse("Library:C"), Err(ResourceError::UnknownKind { kind: "Library".into() }));
        assert_eq!(
            Resource::parse("library:"),
            Err(ResourceError::BadId { kind: ResourceKind::Library, source: KeyError::Empty })
        );
        let long = format!("content:{}", "x".repeat(65));
        assert!(matches!(Resource::parse(&long), Err(ResourceError::BadId { source: KeyError::TooLong(65), .. })));
    }
}
