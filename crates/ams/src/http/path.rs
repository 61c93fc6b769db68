//! Building call URLs: the configured base URL, the contract's path, keys
//! percent-encoded as path segments, and the query.
//!
//! Keys are opaque (`/`, spaces, `%`, non-ASCII are all allowed), so every
//! byte outside RFC 3986's unreserved set is escaped. The base URL keeps its
//! own query (some gateways carry a function key there), and ours is appended.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

/// Everything but `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a key cannot be put in a URL path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the key {0:?} cannot be sent as a URL path segment: URL parsers treat it as a relative path step")]
pub struct UnsendableKey(pub String);

/// One path segment, percent-encoded.
///
/// `.` and `..` (and their escaped forms, which URL parsers treat the same)
/// would be resolved as relative steps and reach another resource, so they
/// are refused rather than sent.
pub fn segment(key: &str) -> Result<String, UnsendableKey> {
    if key == "." || key == ".." {
        return Err(UnsendableKey(key.to_string()));
    }
    Ok(utf8_percent_encode(key, SEGMENT).to_string())
}

/// `base` joined with an already-encoded relative path, with query pairs added.
pub fn join(base: &Url, encoded_path: &str, query: &[(&str, &str)]) -> Url {
    let mut url = base.clone();
    // An empty path is the base URL itself (a SOAP endpoint), not a directory under it.
    if !encoded_path.is_empty() {
        let prefix = base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}/{}", encoded_path.trim_start_matches('/')));
    }
    url.set_fragment(None);
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in query {
            pairs.append_pair(k, v);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_escaped_as_one_segment() {
        assert_eq!(segment("M000123").unwrap(), "M000123");
        assert_eq!(segment("a/b c").unwrap(), "a%2Fb%20c");
        assert_eq!(segment("ä~x-y_z.").unwrap(), "%C3%A4~x-y_z.");
        assert_eq!(segment("%2e%2e").unwrap(), "%252e%252e");
        assert_eq!(segment("a+b?c#d&e").unwrap(), "a%2Bb%3Fc%23d%26e");
        assert!(segment("..").is_err());
        assert!(segment(".").is_err());
        assert_eq!(segment("...").unwrap(), "...");
    }

    #[test]
    fn join_keeps_the_base_path_and_query() {
        let base = Url::parse("https://ams.example.org/community-api?code=abc").unwrap();
        let url = join(&base, "members/a%2Fb", &[("since", "2026-11-29T13:30:00Z")]);
        assert_eq!(url.path(), "/community-api/members/a%2Fb");
        assert_eq!(url.query(), Some("code=abc&since=2026-11-29T13%3A30%3A00Z"));
        let base = Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(join(&base, "health", &[]).as_str(), "http://127.0.0.1:9/health");
        let base = Url::parse("http://h/api/").unwrap();
        assert_eq!(join(&base, "/events/changed", &[]).as_str(), "http://h/api/events/changed");
    }
}
