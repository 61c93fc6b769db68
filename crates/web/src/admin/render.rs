//! Templates: embedded in the binary at build time (`templates/*.html`),
//! compiled once, HTML-escaped by default. Filters format times and
//! encode keys for URLs, so templates hold no logic beyond layout.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior, Value};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("overview.html", include_str!("../../templates/overview.html")),
    ("queue.html", include_str!("../../templates/queue.html")),
    ("runs.html", include_str!("../../templates/runs.html")),
    ("run.html", include_str!("../../templates/run.html")),
    ("members.html", include_str!("../../templates/members.html")),
    ("member.html", include_str!("../../templates/member.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("approvals.html", include_str!("../../templates/approvals.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
];

/// Characters left as they are in a path segment or query value: the
/// unreserved ones of RFC 3986.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// `2026-11-29 14:03:05 UTC`; empty for none.
fn when(v: Value) -> String {
    match v.as_str().and_then(parse_time) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => String::new(),
    }
}

/// A duration in words: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(seconds: i64) -> String {
    let s = seconds.abs();
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// `3 min ago`, `in 5 min`; empty for none.
fn ago(v: Value) -> String {
    match v.as_str().and_then(parse_time) {
        Some(t) => {
            let d = (Utc::now() - t).num_seconds();
            if d >= 0 {
                format!("{} ago", span(d))
            } else {
                format!("in {}", span(d))
            }
        }
        None => String::new(),
    }
}

/// For times that are expected: `in 5 min`, or `due now` once passed.
fn due(v: Value) -> String {
    match v.as_str().and_then(parse_time) {
        Some(t) if t > Utc::now() => format!("in {}", span((t - Utc::now()).num_seconds())),
        Some(_) => "due now".to_string(),
        None => String::new(),
    }
}

/// Percent-encodes a path segment or a query value.
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn enc(v: Value) -> String {
    match v.as_str() {
        Some(s) => encode_component(s),
        None => encode_component(&v.to_string()),
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source).unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
    }
    env.add_filter("when", when);
    env.add_filter("ago", ago);
    env.add_filter("due", due);
    env.add_filter("enc", enc);
    env.add_global("version", env!("CARGO_PKG_VERSION"));
    env
}

static ENV: OnceLock<Environment<'static>> = OnceLock::new();

/// Renders `name` with `ctx`.
pub fn render(name: &str, ctx: Value) -> Result<String, minijinja::Error> {
    ENV.get_or_init(environment).get_template(name)?.render(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let env = environment();
        for (name, _) in TEMPLATES {
            env.get_template(name).unwrap();
        }
    }

    #[test]
    fn filters_format_times_and_encode_keys() {
        assert_eq!(when(Value::from("2026-11-29T14:03:05.123Z")), "2026-11-29 14:03:05 UTC");
        assert_eq!(when(Value::from(())), "");
        let past = (Utc::now() - chrono::Duration::seconds(130)).to_rfc3339();
        assert_eq!(ago(Value::from(past)), "2 min ago");
        let future = (Utc::now() + chrono::Duration::seconds(7300)).to_rfc3339();
        assert!(ago(Value::from(future)).starts_with("in 2 h"));
        assert_eq!(enc(Value::from("A/B ~é")), "A%2FB%20~%C3%A9");
        assert_eq!(due(Value::from((Utc::now() - chrono::Duration::seconds(5)).to_rfc3339())), "due now");
        assert_eq!(due(Value::from((Utc::now() + chrono::Duration::seconds(200)).to_rfc3339())), "in 3 min");
        assert_eq!(span(90_000), "1 d 1 h");
    }
}
