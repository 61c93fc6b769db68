//! Redaction of URLs for logs and `amsync status`: passwords and query
//! values are hidden, the rest stays readable.

use url::Url;

/// Query parameters whose values say how to connect, not who connects;
/// every other value is hidden.
const HARMLESS_PARAMS: [&str; 6] =
    ["sslmode", "connect_timeout", "application_name", "mode", "cache", "target_session_attrs"];

const HIDDEN: &str = "***";

/// A URL safe to log: the password in the user part and the values of
/// query parameters (except harmless ones such as `sslmode`) become `***`,
/// and the fragment is dropped. Something that does not parse as a URL
/// keeps only its scheme.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return match raw.split_once("://") {
            Some((scheme, _))
                if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') =>
            {
                format!("{scheme}://[redacted]")
            }
            _ => "[redacted]".to_string(),
        };
    };
    if url.cannot_be_a_base() && url.scheme() != "sqlite" {
        // `scheme:anything` has no structure to keep; `sqlite::memory:` is the one we know.
        return format!("{}:[redacted]", url.scheme());
    }
    if url.password().is_some() {
        // Only fails for URLs that cannot have a user part, which have no password either.
        let _ = url.set_password(Some(HIDDEN));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if HARMLESS_PARAMS.contains(&k.as_ref()) { v.into_owned() } else { HIDDEN.to_string() };
                (k.into_owned(), v)
            })
            .collect();
        if pairs.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
    }
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn table() {
        let cases = [
            ("sqlite://amsync.db", "sqlite://amsync.db"),
            ("sqlite:///var/lib/amsync/amsync.db", "sqlite:///var/lib/amsync/amsync.db"),
            ("postgres://amsync@db.internal/amsync", "postgres://amsync@db.internal/amsync"),
            ("postgres://amsync:hunter2@db.internal:5432/amsync", "postgres://amsync:***@db.internal:5432/amsync"),
            (
                "postgresql://u:p%40ss@db/amsync?sslmode=require&password=hunter2",
                "postgresql://u:***@db/amsync?sslmode=require&password=***",
            ),
            ("https://ams.example.org/api?token=abc#frag", "https://ams.example.org/api?token=***"),
            ("postgres://u:hunter2@[bad", "postgres://[redacted]"),
            ("u:hunter2 at somewhere", "u:[redacted]"),
            ("sqlite::memory:", "sqlite::memory:"),
            ("host=db password=hunter2", "[redacted]"),
        ];
        for (raw, want) in cases {
            let got = redact_url(raw);
            assert_eq!(got, want, "{raw}");
            assert!(!got.contains("hunter2") && !got.contains("p%40ss"), "{got}");
        }
    }
}
