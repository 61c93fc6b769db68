//! Where a member may be sent after signing in or out: a relative path on
//! amsync's own origin, or an absolute `http(s)` URL whose host is amsync's
//! own or one of `sso.allowed_return_hosts`. Anything else is refused, so a
//! sign-in link can never be turned into an open redirect.
//!
//! Browsers are lenient where a naive check is strict: they treat `\` as
//! `/`, drop tabs and newlines inside URLs, and take `//host` as another
//! host. So the check refuses those characters outright, refuses encoded
//! forms that decode to them, and for relative paths resolves the value
//! against `web.public_url` and requires the result to stay on that origin.
//!
//! The check judges what it *returns*, not only what came in: a relative
//! path is returned normalised, and normalising can make another host of an
//! honest-looking path (`/..//evil.example`, `/%2e%2e//evil.example` and
//! `/.//evil.example` all normalise to `//evil.example`, which a browser
//! follows off-site). So the answer goes through the same rules again and
//! is resolved against `web.public_url` as a browser would resolve the
//! `Location` header; anything that would land elsewhere is refused.

use percent_encoding::percent_decode_str;
use url::Url;

/// Longest return URL accepted.
pub const MAX_RETURN_URL_LEN: usize = 2048;
/// How many rounds of percent-decoding are looked through for tricks.
const DECODE_ROUNDS: usize = 3;

/// Why a return URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReturnUrlError {
    #[error("the return URL is empty")]
    Empty,
    #[error("the return URL is too long")]
    TooLong,
    #[error("the return URL contains a backslash, a control character or white space")]
    ForbiddenCharacter,
    #[error("the return URL starts with // (another host)")]
    SchemeRelative,
    #[error("the return URL hides another host or a forbidden character behind percent-encoding")]
    EncodedTrick,
    #[error("the return URL carries user information")]
    UserInfo,
    #[error("the return URL is neither a relative path nor an http(s) URL")]
    BadScheme,
    #[error("the return URL's host is not allowed")]
    HostNotAllowed,
    #[error("the return URL does not parse")]
    Unparseable,
}

impl ReturnUrlError {
    pub fn code(self) -> &'static str {
        match self {
            ReturnUrlError::Empty => "empty",
            ReturnUrlError::TooLong => "too_long",
            ReturnUrlError::ForbiddenCharacter => "forbidden_character",
            ReturnUrlError::SchemeRelative => "scheme_relative",
            ReturnUrlError::EncodedTrick => "encoded_trick",
            ReturnUrlError::UserInfo => "user_info",
            ReturnUrlError::BadScheme => "bad_scheme",
            ReturnUrlError::HostNotAllowed => "host_not_allowed",
            ReturnUrlError::Unparseable => "unparseable",
        }
    }
}

/// The rule for return URLs of one deployment.
#[derive(Debug, Clone)]
pub struct ReturnUrlPolicy {
    public: Url,
    /// `host` or `host:port`, lowercased.
    allowed_hosts: Vec<String>,
}

fn forbidden_char(c: char) -> bool {
    c == '\\' || c.is_control() || c.is_whitespace()
}

impl ReturnUrlPolicy {
    /// `public` is `web.public_url`; `allowed_hosts` is `sso.allowed_return_hosts`.
    pub fn new(public: Url, allowed_hosts: &[String]) -> ReturnUrlPolicy {
        ReturnUrlPolicy { public, allowed_hosts: allowed_hosts.iter().map(|h| h.trim().to_ascii_lowercase()).collect() }
    }

    pub fn public_url(&self) -> &Url {
        &self.public
    }

    /// The return URL to redirect to: a relative path (normalized, on
    /// amsync's origin) or an absolute URL on an allowed host.
    pub fn check(&self, raw: &str) -> Result<String, ReturnUrlError> {
        if raw.is_empty() {
            return Err(ReturnUrlError::Empty);
        }
        if raw.len() > MAX_RETURN_URL_LEN {
            return Err(ReturnUrlError::TooLong);
        }
        if raw.chars().any(forbidden_char) {
            return Err(ReturnUrlError::ForbiddenCharacter);
        }
        self.check_decoded(raw)?;
        let out = if raw.starts_with('/') { self.check_relative(raw)? } else { self.check_absolute(raw)? };
        self.check_output(&out)?;
        Ok(out)
    }

    /// The answer as a browser reads it from a `Location` header: a
    /// relative answer must still be a path (`//host` and `/\host` name
    /// another host), pass the input's rules again, and resolve against
    /// `web.public_url` to amsync's origin; an absolute one must resolve to
    /// amsync's origin or an allowed host.
    fn check_output(&self, out: &str) -> Result<(), ReturnUrlError> {
        if out.chars().any(forbidden_char) {
            return Err(ReturnUrlError::ForbiddenCharacter);
        }
        let relative = out.starts_with('/');
        if relative && (out.starts_with("//") || out.starts_with("/\\")) {
            return Err(ReturnUrlError::SchemeRelative);
        }
        self.check_decoded(out)?;
        let landing = self.public.join(out).map_err(|_| ReturnUrlError::Unparseable)?;
        if !landing.username().is_empty() || landing.password().is_some() {
            return Err(ReturnUrlError::UserInfo);
        }
        let on_our_origin = landing.origin() == self.public.origin();
        if on_our_origin || (!relative && self.host_allowed(&landing)) {
            Ok(())
        } else if relative {
            Err(ReturnUrlError::SchemeRelative)
        } else {
            Err(ReturnUrlError::HostNotAllowed)
        }
    }

    fn check_relative(&self, raw: &str) -> Result<String, ReturnUrlError> {
        if raw.starts_with("//") {
            return Err(ReturnUrlError::SchemeRelative);
        }
        let joined = self.public.join(raw).map_err(|_| ReturnUrlError::Unparseable)?;
        if joined.origin() != self.public.origin() {
            return Err(ReturnUrlError::SchemeRelative);
        }
        let mut out = joined.path().to_string();
        if let Some(q) = joined.query() {
            out.push('?');
            out.push_str(q);
        }
        if let Some(f) = joined.fragment() {
            out.push('#');
            out.push_str(f);
        }
        Ok(out)
    }

    fn check_absolute(&self, raw: &str) -> Result<String, ReturnUrlError> {
        // Only the plain `http://` and `https://` forms: `https:host` and
        // `https:/host` parse too, but no honest link is written that way.
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(ReturnUrlError::BadScheme);
        }
        let url = Url::parse(raw).map_err(|_| ReturnUrlError::Unparseable)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ReturnUrlError::UserInfo);
        }
        if url.origin() == self.public.origin() || self.host_allowed(&url) {
            Ok(url.to_string())
        } else {
            Err(ReturnUrlError::HostNotAllowed)
        }
    }

    fn host_allowed(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.iter().any(|entry| {
            let (entry_host, entry_port) = split_host_port(entry);
            entry_host == host
                && match entry_port {
                    Some(p) => url.port_or_known_default() == Some(p),
                    // No port in the entry: the scheme's default port only.
                    None => url.port().is_none(),
                }
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(end) = entry.find(']') {
        let port = entry[end + 1..].strip_prefix(':').and_then(|p| p.parse().ok());
        return (&entry[..=end], port);
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, p.parse().ok()),
        _ => (entry, None),
    }
}

impl ReturnUrlPolicy {
    /// Looks through a few rounds of percent-decoding of the part before
    /// the query for what the raw check refuses: a backslash, control
    /// characters, white space, or a path that starts with `//` as written
    /// or once its dot segments are resolved (another host once a server
    /// decodes it: `/..%2F%2Fevil.example`, `/%252e%252e//evil.example`).
    /// The query is left alone: `?q=a%20b` is an honest search.
    fn check_decoded(&self, raw: &str) -> Result<(), ReturnUrlError> {
        let head = raw.split(['?', '#']).next().unwrap_or(raw);
        let mut current = head.to_string();
        for _ in 0..DECODE_ROUNDS {
            let decoded = percent_decode_str(&current).decode_utf8_lossy().into_owned();
            if decoded == current {
                break;
            }
            if decoded.chars().any(forbidden_char)
                || decoded.starts_with("//")
                || self.resolves_to_two_slashes(&decoded)
            {
                return Err(ReturnUrlError::EncodedTrick);
            }
            current = decoded;
        }
        Ok(())
    }

    /// Whether a path, once its dot segments are resolved, starts with `//`.
    fn resolves_to_two_slashes(&self, path: &str) -> bool {
        path.starts_with('/') && self.public.join(path).is_ok_and(|u| u.path().starts_with("//"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReturnUrlPolicy {
        ReturnUrlPolicy::new(
            Url::parse("https://community.example.org").unwrap(),
            &["www.example.org".to_string(), "127.0.0.1:8080".to_string()],
        )
    }

    #[test]
    fn relative_paths_and_allowed_hosts_pass() {
        let ok = [
            ("/", "/"),
            ("/x", "/x"),
            ("/a/b?c=d&e=f#g", "/a/b?c=d&e=f#g"),
            ("/a/../b", "/b"),
            ("/caf%C3%A9", "/caf%C3%A9"),
            ("https://community.example.org/x", "https://community.example.org/x"),
            ("HTTPS://Community.Example.org/x", "https://community.example.org/x"),
            ("https://www.example.org/news", "https://www.example.org/news"),
            ("http://www.example.org/news", "http://www.example.org/news"),
            ("http://127.0.0.1:8080/me", "http://127.0.0.1:8080/me"),
        ];
        for (raw, want) in ok {
            assert_eq!(policy().check(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn a_host_entry_without_a_port_allows_the_default_port_only() {
        assert_eq!(policy().check("https://www.example.org:8443/x"), Err(ReturnUrlError::HostNotAllowed));
        assert_eq!(policy().check("http://127.0.0.1/me"), Err(ReturnUrlError::HostNotAllowed));
        assert_eq!(policy().check("http://127.0.0.1:8081/me"), Err(ReturnUrlError::HostNotAllowed));
    }

    /// Known open-redirect tricks; each must be refused.
    const TRICKS: &[&str] = &[
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\evil.example",
        "\\/evil.example",
        "/%2Fevil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "%2F%2Fevil.example",
        "https://evil.example",
        "HTTPS://EVIL.EXAMPLE/",
        "hTtP://evil.example",
        "https:evil.example",
        "https:/evil.example",
        "https://community.example.org@evil.example",
        "https://user:pw@community.example.org/",
        "https://www.example.org.evil.example/",
        "https://evil.example/?https://community.example.org",
        "/\t/evil.example",
        "/\n/evil.example",
        "/%09/evil.example",
        "/%0d%0aSet-Cookie:x=y",
        " /x",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "evil.example",
        "ftp://www.example.org/",
        "\u{3000}//evil.example",
        "",
        // Dot segments that normalise into `//host` (issue 13), raw and
        // percent-encoded, once or twice.
        "/..//evil.example",
        "/.//evil.example",
        "/./..//evil.example",
        "/..///evil.example",
        "/x/../..//evil.example",
        "/a/b/../../..//evil.example",
        "/x/..//evil.example",
        "/%2e%2e//evil.example",
        "/%2E%2E//evil.example",
        "/.%2e//evil.example",
        "/%2e.//evil.example",
        "/%2e//evil.example",
        "/..%2F%2Fevil.example",
        "/..%2f/evil.example",
        "/%252e%252e//evil.example",
        "/..//evil.example?x=/",
        "/..//evil.example#/",
        // Mixed slashes and backslashes.
        "/..\\/evil.example",
        "/../\\evil.example",
        "/\\/evil.example",
        "\\/\\evil.example",
        "/%2F\\evil.example",
        "/%5C/evil.example",
        "/%5c%2fevil.example",
        "/..%5C%5Cevil.example",
        // Tabs and newlines inside the scheme (browsers drop them).
        "ht\ttps://evil.example",
        "https\n://evil.example",
        "h\rttps://evil.example",
        "https:\t//evil.example",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        // `https:host` without slashes, or with backslashes.
        "http:evil.example",
        "https:www.example.org",
        "https:\\\\evil.example",
        "https:/\\evil.example",
    ];

    /// Honest paths with dot segments still pass, normalised.
    #[test]
    fn dot_segments_that_stay_on_the_site_are_normalised() {
        assert_eq!(policy().check("/a/./b").as_deref(), Ok("/a/b"));
        assert_eq!(policy().check("/a/b/../c?d=/..//e").as_deref(), Ok("/a/c?d=/..//e"));
        assert_eq!(policy().check("/..").as_deref(), Ok("/"));
        assert_eq!(policy().check("/%2e%2e/x").as_deref(), Ok("/x"));
    }

    /// What is returned is judged, not only what came in: each of these
    /// passes every rule as written and normalises into another host.
    #[test]
    fn a_path_that_normalises_into_another_host_is_refused() {
        for raw in ["/..//evil.example", "/.//evil.example", "/x/..//evil.example", "/..///evil.example"] {
            assert_eq!(policy().check(raw), Err(ReturnUrlError::SchemeRelative), "{raw}");
        }
        // Encoded, the decoded form is caught before it is even joined.
        for raw in ["/%2e%2e//evil.example", "/..%2F%2Fevil.example", "/%252e%252e//evil.example"] {
            assert_eq!(policy().check(raw), Err(ReturnUrlError::EncodedTrick), "{raw}");
        }
    }

    #[test]
    fn known_tricks_are_refused() {
        for raw in TRICKS {
            assert!(policy().check(raw).is_err(), "{raw:?} was accepted as {:?}", policy().check(raw));
        }
        assert!(TRICKS.len() >= 15);
    }
}
