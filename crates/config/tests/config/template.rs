//! The template `amsync init` writes: it parses, validates, holds the
//! defaults, and names every key of the configuration (and no other).

use std::collections::{BTreeSet, HashMap};

use amsync_config::*;

use crate::sample;

/// Every key path in a TOML table, containers included; list items are
/// walked without an index (`communities.rules.action`).
fn key_paths(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        out.insert(path.clone());
        match v {
            toml::Value::Table(t) => key_paths(&path, t, out),
            toml::Value::Array(items) => {
                for item in items {
                    if let toml::Value::Table(t) = item {
                        key_paths(&path, t, out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The key paths the template names, from its active lines and from its
/// commented-out ones (`#key = value`, `#[section]`); prose comments (`# …`)
/// are skipped.
fn template_paths() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut section = String::new();
    let mut section_commented = false;
    for (n, line) in TEMPLATE.lines().enumerate() {
        let n = n + 1;
        let (commented, body) = match line.strip_prefix('#') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => continue,
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        if let Some(name) = body.strip_prefix('[') {
            section = name.trim_end_matches(']').to_string();
            section_commented = commented;
            let mut prefix = String::new();
            for part in section.split('.') {
                prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}.{part}") };
                out.insert(prefix.clone());
            }
            continue;
        }
        assert!(
            commented || !section_commented,
            "line {n}: an active key under a commented-out header would land in the previous table"
        );
        let table: toml::Table = body.parse().unwrap_or_else(|e| panic!("line {n} is not a TOML key line: {e}"));
        key_paths(&section, &table, &mut out);
    }
    out
}

fn struct_paths() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in sample::every_variant() {
        let table: toml::Table = c.to_toml_string().parse().unwrap();
        key_paths("", &table, &mut out);
    }
    out
}

/// `[auth]`'s `auth` takes the same forms as `ams.auth`, which the template
/// shows in full; it is not repeated for `[auth]`.
fn template_names(template: &BTreeSet<String>, path: &str) -> bool {
    template.contains(path)
        || path.strip_prefix("auth.auth.").is_some_and(|rest| template.contains(&format!("ams.auth.{rest}")))
}

#[test]
fn the_template_names_every_key_and_only_real_ones() {
    let template = template_paths();
    let keys = struct_paths();
    let missing: Vec<_> = keys.iter().filter(|k| !template_names(&template, k)).collect();
    assert!(missing.is_empty(), "keys the template does not show: {missing:#?}");
    let unknown: Vec<_> = template.difference(&keys).collect();
    assert!(unknown.is_empty(), "template keys that do not exist: {unknown:#?}");
    assert!(keys.len() > 150, "the sample covers {} keys", keys.len());
}

#[test]
fn the_template_parses_validates_and_can_serve() {
    let c = Config::from_toml_str(TEMPLATE, []).unwrap();
    let env: HashMap<String, String> = [
        ("AMSYNC_ADMIN_TOKEN", "admin"),
        ("AMS_API_KEY", "key"),
        ("AMSYNC_SSO_PSK", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    c.validate_for_serve(&env).unwrap();
}

/// Where the template writes a section without changing it from the
/// defaults, its values are exactly the defaults.
#[test]
fn the_template_shows_the_defaults() {
    let c = Config::from_toml_str(TEMPLATE, []).unwrap();
    let d = Config::default();
    assert_eq!(c.database.auto_migrate, d.database.auto_migrate);
    assert_eq!(c.database.url_source(), d.database.url_source());
    assert_eq!(
        (c.ams.kind, c.ams.timeout, c.ams.max_concurrency, c.ams.max_rate, c.ams.max_body),
        (d.ams.kind, d.ams.timeout, d.ams.max_concurrency, d.ams.max_rate, d.ams.max_body)
    );
    assert_eq!(c.periodic_refresh, d.periodic_refresh);
    assert_eq!(c.events, d.events);
    assert_eq!(c.member_refresh, d.member_refresh);
    assert_eq!(c.quarantine, d.quarantine);
    assert_eq!(c.thresholds, d.thresholds);
    assert_eq!(c.communities, d.communities);
    assert_eq!(c.sessions, d.sessions);
    assert_eq!(c.web.listen, d.web.listen);
    assert_eq!(c.web.public_url, d.web.public_url);
    assert_eq!(c.web.limits, d.web.limits);
    assert_eq!(c.web.admin_token(), d.web.admin_token());
    assert_eq!(c.web.site_token(), d.web.site_token());
    assert_eq!(
        (c.sso.return_url_param.as_str(), &c.sso.token, &c.sso.throttle),
        ("ReturnUrl", &d.sso.token, &d.sso.throttle)
    );
    assert_eq!(c.sso.allow_unsolicited, d.sso.allow_unsolicited);
    assert_eq!(c.log, d.log);
}

/// The template writes no key of [`NOT_YET_AVAILABLE`], not even commented
/// out, and mentions them only in the one paragraph that says they are
/// refused (and names each of them there).
#[test]
fn the_template_describes_nothing_unavailable_as_working() {
    Config::from_toml_str(TEMPLATE, []).expect("the template loads");
    let written: Vec<String> = template_paths().into_iter().filter(|p| not_yet_available(p)).collect();
    assert!(written.is_empty(), "the template writes keys that are refused: {written:?}");

    // A paragraph names an entry when it writes `[key]`, a path under it
    // (`push.token_env`), or a dotted key in full or by its last part
    // (`push_max_body`). A bare `push` or `scim` is left alone: they are
    // also kinds of source, which [ams] says are refused.
    let names = |word: &str, key: &str| {
        word == format!("[{key}]")
            || word.starts_with(&format!("{key}."))
            || (key.contains('.') && (word == key || Some(word) == key.rsplit('.').next()))
    };
    let paragraphs: Vec<&str> = TEMPLATE.split("\n\n").collect();
    let notice: Vec<&str> = paragraphs
        .iter()
        .copied()
        .filter(|p| p.contains("Not available in this version, and refused at start"))
        .collect();
    assert_eq!(notice.len(), 1, "one paragraph lists what is refused");
    for entry in NOT_YET_AVAILABLE {
        assert!(notice[0].contains(entry.key), "the notice names {}", entry.key);
        for p in paragraphs.iter().filter(|p| **p != notice[0]) {
            let words = p.split(|c: char| !(c.is_ascii_alphanumeric() || "_.[]".contains(c)));
            for word in words.map(|w| w.trim_end_matches('.')) {
                assert!(!names(word, entry.key), "{} is described outside the notice ({word}):\n{p}", entry.key);
            }
        }
    }
}

fn not_yet_available(path: &str) -> bool {
    NOT_YET_AVAILABLE.iter().any(|e| path == e.key || path.starts_with(&format!("{}.", e.key)))
}

#[test]
fn every_sample_round_trips_through_toml() {
    for c in sample::every_variant() {
        let text = c.to_toml_string();
        let table: toml::Table = text.parse().unwrap();
        let back: Config = table.try_into().unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, c, "{text}");
    }
    let c = Config::from_toml_str(TEMPLATE, []).unwrap();
    assert_eq!(Config::from_toml_str(&c.to_toml_string(), []).unwrap(), c);
}
