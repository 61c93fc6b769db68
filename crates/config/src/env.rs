//! Environment overrides: `AMSYNC_<SECTION>__<KEY>[__<SUBKEY>…]`.
//!
//! Only names that start with `AMSYNC_` *and* contain `__` are overrides, so
//! variables such as `AMSYNC_ADMIN_TOKEN` that hold secrets are not mistaken
//! for keys. The parts between `__` are the key's path, lower-cased
//! (`AMSYNC_MEMBER_REFRESH__WORKERS` sets `member_refresh.workers`). They are
//! applied onto the parsed TOML tree before it is deserialized, so an
//! override is checked exactly like the file.
//!
//! A value is typed by reading it as a TOML number or boolean when it is
//! one (`16`, `0.5`, `true`), else it is a string; when the key turns out to
//! want a string (a client id of digits), [`crate::Config`] retries with the
//! raw text. Lists cannot be overridden.

use crate::error::ConfigError;

pub const PREFIX: &str = "AMSYNC_";
pub const SEPARATOR: &str = "__";

/// One override, parsed from its variable.
#[derive(Debug, Clone)]
pub(crate) struct Override {
    pub var: String,
    pub path: Vec<String>,
    raw: String,
    typed: Option<toml::Value>,
}

impl Override {
    pub fn dotted(&self) -> String {
        self.path.join(".")
    }

    /// Whether the value was read as a number or boolean rather than as text.
    pub fn is_typed(&self) -> bool {
        self.typed.is_some()
    }

    fn value(&self, as_text: bool) -> toml::Value {
        match (&self.typed, as_text) {
            (Some(v), false) => v.clone(),
            _ => toml::Value::String(self.raw.clone()),
        }
    }
}

/// The overrides among `vars`, in name order (so the result does not depend
/// on the environment's order).
pub(crate) fn collect(vars: impl IntoIterator<Item = (String, String)>) -> Result<Vec<Override>, ConfigError> {
    let mut out = Vec::new();
    for (var, raw) in vars {
        let Some(rest) = var.strip_prefix(PREFIX) else { continue };
        if !rest.contains(SEPARATOR) {
            continue;
        }
        let path: Vec<String> = rest.split(SEPARATOR).map(str::to_ascii_lowercase).collect();
        let well_formed = path.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with('_')
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
        if !well_formed {
            return Err(ConfigError::Env {
                var: var.clone(),
                key: path.join("."),
                message: "not a valid override name: write AMSYNC_<SECTION>__<KEY> with letters, digits and single \
                          underscores between the double ones"
                    .into(),
            });
        }
        let typed = scalar(&raw);
        out.push(Override { var, path, raw, typed });
    }
    out.sort_by(|a, b| a.var.cmp(&b.var));
    Ok(out)
}

/// `raw` as a TOML integer, float or boolean, if it is one.
fn scalar(raw: &str) -> Option<toml::Value> {
    let table: toml::Table = format!("v = {raw}").parse().ok()?;
    match table.get("v")? {
        v @ (toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_)) => Some(v.clone()),
        _ => None,
    }
}

/// Applies `overrides` onto `root`; those whose index is in `as_text` are
/// applied as their raw text.
pub(crate) fn apply(root: &mut toml::Table, overrides: &[Override], as_text: &[usize]) -> Result<(), ConfigError> {
    for (i, o) in overrides.iter().enumerate() {
        let err = |message: String| ConfigError::Env { var: o.var.clone(), key: o.dotted(), message };
        let (leaf, parents) = o.path.split_last().expect("an override has at least two parts");
        let mut table = &mut *root;
        let mut walked = Vec::new();
        for part in parents {
            walked.push(part.as_str());
            let entry = table.entry(part.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = match entry {
                toml::Value::Table(t) => t,
                toml::Value::Array(_) => {
                    return Err(err(format!(
                        "{} is a list, and lists cannot be overridden by environment",
                        walked.join(".")
                    )))
                }
                other => return Err(err(format!("{} is a {}, not a table", walked.join("."), other.type_str()))),
            };
        }
        match table.get(leaf) {
            Some(toml::Value::Array(_)) => {
                return Err(err(
                    "this key is a list, and lists cannot be overridden by environment; set it in the file".into(),
                ))
            }
            Some(toml::Value::Table(_)) => {
                return Err(err("this key is a table; override its keys one by one (…__KEY)".into()))
            }
            _ => {}
        }
        table.insert(leaf.clone(), o.value(as_text.contains(&i)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn only_double_underscore_names_are_overrides() {
        let o = collect(vars(&[
            ("AMSYNC_ADMIN_TOKEN", "secret"),
            ("PATH", "/bin"),
            ("AMSYNC_MEMBER_REFRESH__WORKERS", "4"),
            ("AMSYNC_AMS__AUTH__KIND", "basic"),
            ("OTHER__X", "1"),
        ]))
        .unwrap();
        let paths: Vec<_> = o.iter().map(|o| o.dotted()).collect();
        assert_eq!(paths, ["ams.auth.kind", "member_refresh.workers"]);
        assert_eq!(o[1].value(false), toml::Value::Integer(4));
        assert_eq!(o[1].value(true), toml::Value::String("4".into()));
        assert_eq!(o[0].value(false), toml::Value::String("basic".into()));
    }

    #[test]
    fn scalars() {
        assert_eq!(scalar("16"), Some(toml::Value::Integer(16)));
        assert_eq!(scalar("0.5"), Some(toml::Value::Float(0.5)));
        assert_eq!(scalar("false"), Some(toml::Value::Boolean(false)));
        for text in ["30m", "http://x", "\"quoted\"", "[1, 2]", "{ a = 1 }", "", "1979-05-27", "a = b\nc"] {
            assert_eq!(scalar(text), None, "{text:?}");
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for name in ["AMSYNC___X", "AMSYNC_A____B", "AMSYNC_A__", "AMSYNC_A__B-C", "AMSYNC_A__B.C"] {
            let err = collect(vars(&[(name, "1")])).unwrap_err().to_string();
            assert!(err.starts_with(name), "{err}");
        }
    }

    #[test]
    fn lists_and_scalars_in_the_way_are_refused() {
        let mut root: toml::Table =
            "[security_groups]\nis_member = [\"MEMBER\"]\n[database]\nurl = \"sqlite://x\"\n".parse().unwrap();
        let o = collect(vars(&[("AMSYNC_SECURITY_GROUPS__IS_MEMBER", "STAFF")])).unwrap();
        let err = apply(&mut root.clone(), &o, &[]).unwrap_err().to_string();
        assert!(err.contains("lists cannot be overridden"), "{err}");
        let o = collect(vars(&[("AMSYNC_DATABASE__URL__X", "1")])).unwrap();
        let err = apply(&mut root, &o, &[]).unwrap_err().to_string();
        assert_eq!(err, "AMSYNC_DATABASE__URL__X (sets database.url.x): database.url is a string, not a table");
    }
}
