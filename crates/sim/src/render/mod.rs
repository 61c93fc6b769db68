//! Serializes the contract's documents in both encodings. Bodies are
//! rendered once per member version and cached as `Bytes` by the store.

pub mod json;
pub mod xml;

/// The encoding a request asked for (`Accept: application/xml` → XML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enc {
    Json,
    Xml,
}

impl Enc {
    pub fn content_type(self) -> &'static str {
        match self {
            Enc::Json => "application/json",
            Enc::Xml => "application/xml",
        }
    }
}

/// The three per-member documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Doc {
    Details,
    Communities,
    Groups,
}

impl Doc {
    /// Slot of (document, encoding) in a member's cache.
    pub fn cache_slot(self, enc: Enc) -> usize {
        let d = match self {
            Doc::Details => 0,
            Doc::Communities => 1,
            Doc::Groups => 2,
        };
        d * 2 + usize::from(enc == Enc::Xml)
    }
}

/// Number of cached bodies per member: three documents in two encodings.
pub const CACHE_SLOTS: usize = 6;

/// Formats Unix seconds as RFC 3339 UTC with `Z` and whole seconds.
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One entry of a GetChangedMembers page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedEntry {
    pub key: String,
    pub changed_at: i64,
}

/// One page of a changed listing, ready to render.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub as_of: i64,
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
