//! Tables whose keys depend on a `kind` (such as `ams.auth`), and error
//! messages that keep the full key path through them.
//!
//! serde's own internally tagged enums buffer the table and lose track of
//! where inside it an error happened, so `ams.auth.token_url: invalid URL`
//! would come out as `ams.auth: invalid URL`. Here the table is read as a
//! plain TOML table, the tag is looked up, and the rest is deserialized with
//! `serde_path_to_error`; the inner path travels to the top inside the
//! error message, between two marker characters, and [`split`] joins it to
//! the outer one.

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;

const MARK: char = '\u{1}';

/// An error about `path` (relative to the value being deserialized).
pub fn nested<E: de::Error>(path: &str, message: &str) -> E {
    E::custom(NestedMessage { path, message })
}

/// A message that carries a relative path; its `Display` is what serde keeps.
pub struct NestedMessage<'a> {
    pub path: &'a str,
    pub message: &'a str,
}

impl std::fmt::Display for NestedMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() || self.path == "." {
            f.write_str(self.message)
        } else {
            write!(f, "{MARK}{}{MARK}{}", self.path, self.message)
        }
    }
}

/// Joins an outer path (as `serde_path_to_error` prints it, `.` for the
/// root) with the path carried by `message`, and returns it with the bare
/// message.
pub fn split(outer: &str, message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix(MARK) {
        if let Some((inner, msg)) = rest.split_once(MARK) {
            return (join(outer, inner), msg.to_string());
        }
    }
    (if outer == "." { String::new() } else { outer.to_string() }, message.to_string())
}

fn join(outer: &str, inner: &str) -> String {
    if outer.is_empty() || outer == "." {
        inner.to_string()
    } else if inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

/// Deserializes a part of the tree with path tracking, turning any error
/// into one that carries the inner path.
pub fn deserialize_part<T: DeserializeOwned, E: de::Error>(value: toml::Value) -> Result<T, E> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let (path, message) = split(&e.path().to_string(), e.inner().message());
        nested(&path, &message)
    })
}

/// Reads a table tagged by `tag`, checks the tag is one of `variants`, and
/// returns the tag with the rest of the table.
pub fn split_tag<'de, D: Deserializer<'de>>(
    d: D,
    tag: &'static str,
    variants: &'static [&'static str],
) -> Result<(&'static str, toml::Value), D::Error> {
    let mut table = toml::Table::deserialize(d)?;
    let Some(value) = table.remove(tag) else {
        return Err(de::Error::missing_field(tag));
    };
    let Some(name) = value.as_str() else {
        return Err(nested(tag, &format!("invalid type: {}, expected a string", value.type_str())));
    };
    match variants.iter().find(|v| **v == name) {
        Some(v) => Ok((v, toml::Value::Table(table))),
        None => {
            let expected = variants.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
            Err(nested(tag, &format!("unknown variant `{name}`, expected one of {expected}")))
        }
    }
}

/// The fields of a variant that has none: anything given is refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join() {
        let m = NestedMessage { path: "kind", message: "bad" }.to_string();
        assert_eq!(split("ams.auth", &m), ("ams.auth.kind".into(), "bad".into()));
        let m = NestedMessage { path: "[2].kid", message: "bad" }.to_string();
        assert_eq!(split("sso.resolve.keys", &m), ("sso.resolve.keys[2].kid".into(), "bad".into()));
        assert_eq!(split(".", "plain"), (String::new(), "plain".into()));
        assert_eq!(split("a.b", "plain"), ("a.b".into(), "plain".into()));
    }
}
