//! The keys and sections of product.md that this version does not run yet,
//! in one list, each with the reason. A file (or an `AMSYNC_…__…` override)
//! that writes one of them is refused at load, naming the key, before
//! anything else is checked: a key amsync would accept and then ignore is a
//! promise it does not keep (an admin who sets `webhooks.outbound` would
//! wait for deliveries that never come).
//!
//! As a feature lands, its entry goes and its section's type comes back to
//! [`crate::Config`] (the types of `[webhooks]`, `[push]` and `[scim]`, with
//! their validation, were removed when this list was made; git history has
//! them).
//!
//! Some *values* of keys that do exist are not available either; they are
//! refused where they would be used, naming the key, and stay out of this
//! list because the rest of the key works: `ams.kind` other than `http-json`,
//! `http-xml` and `soap` (by the commands that build the source), a
//! `postgres://` `database.url` (by
//! every command that opens the database), and `amsync worker`.

use crate::env::Override;
use crate::error::{ConfigError, Problems};

/// A key or section that is refused because nothing in this version runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotYetAvailable {
    /// Full dotted path; a section covers every key under it.
    pub key: &'static str,
    /// What is missing, as the refusal says it.
    pub reason: &'static str,
}

/// Every key and section of product.md's configuration that this version
/// refuses. docs/configuration.md lists the same under "Not yet available".
pub const NOT_YET_AVAILABLE: &[NotYetAvailable] = &[
    NotYetAvailable {
        key: "webhooks",
        reason: "change webhooks arrive with a later version: amsync accepts no signed change notifications \
                 (POST /api/v1/webhooks/…) and sends no outbound webhooks yet",
    },
    NotYetAvailable {
        key: "push",
        reason: "the push API (POST /api/v1/push/members, system of record \"push\") arrives with a later version",
    },
    NotYetAvailable {
        key: "scim",
        reason: "amsync's SCIM 2.0 endpoint (/scim/v2/…) arrives with a later version, with the push API",
    },
    NotYetAvailable {
        key: "web.limits.push_max_body",
        reason: "it limits the push API and the SCIM endpoint, which arrive with a later version",
    },
];

/// The entry that covers `path` (the entry itself or a key under it).
pub fn covering(path: &str) -> Option<&'static NotYetAvailable> {
    NOT_YET_AVAILABLE.iter().find(|e| path == e.key || path.starts_with(&format!("{}.", e.key)))
}

/// The refusal; `fix` says what to do (remove the key, unset the variable).
fn message(entry: &NotYetAvailable, fix: &str) -> String {
    format!("not available in this version, {fix}: {}", entry.reason)
}

/// Refuses `tree` (the file with the overrides applied) when it writes a
/// key of [`NOT_YET_AVAILABLE`]. A key set by an override is reported with
/// its variable; keys written in the file are reported all at once, each
/// with its line.
pub(crate) fn refuse(text: &str, tree: &toml::Table, overrides: &[Override]) -> Result<(), ConfigError> {
    let mut written = Vec::new();
    written_paths("", tree, &mut written);
    let refused: Vec<(String, &NotYetAvailable)> =
        written.into_iter().filter_map(|path| covering(&path).map(|entry| (path, entry))).collect();
    for (path, entry) in &refused {
        if let Some(o) = overrides.iter().find(|o| o.dotted() == *path) {
            return Err(ConfigError::Env {
                var: o.var.clone(),
                key: path.clone(),
                message: message(entry, "unset it"),
            });
        }
    }
    let mut problems = Problems::default();
    for (path, entry) in &refused {
        problems.add(path.clone(), message(entry, "remove it"));
    }
    problems.locate(|key| crate::lines::line_of(text, key));
    problems.into_result()
}

/// Every key written in `table`, as dotted paths: the values that are not
/// tables, and the tables written empty (`[webhooks]` alone). Lists are
/// one value.
fn written_paths(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(t) if !t.is_empty() => written_paths(&path, t, out),
            _ => out.push(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_covers_itself_and_the_keys_under_it_only() {
        assert_eq!(covering("webhooks").map(|e| e.key), Some("webhooks"));
        assert_eq!(covering("webhooks.outbound").map(|e| e.key), Some("webhooks"));
        assert_eq!(covering("web.limits.push_max_body").map(|e| e.key), Some("web.limits.push_max_body"));
        assert_eq!(covering("web.limits.max_body"), None);
        assert_eq!(covering("pushy"), None, "a prefix of a name is not a parent");
        assert_eq!(covering("ams.kind"), None);
    }

    #[test]
    fn written_paths_are_leaves_and_empty_tables() {
        let tree: toml::Table =
            "[webhooks]\n[web.limits]\nmax_body = \"1MiB\"\n[push]\ntoken_env = \"T\"\n[x]\nlist = [{ a = 1 }]\n"
                .parse()
                .unwrap();
        let mut out = Vec::new();
        written_paths("", &tree, &mut out);
        assert_eq!(out, ["push.token_env", "web.limits.max_body", "webhooks", "x.list"]);
    }

    #[test]
    fn every_entry_is_a_dotted_path_with_a_reason() {
        for e in NOT_YET_AVAILABLE {
            assert!(
                !e.key.is_empty()
                    && e.key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{e:?}"
            );
            assert!(e.reason.len() > 20, "{e:?}");
        }
    }
}
