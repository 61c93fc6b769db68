//! The parts of `[sso]` that sign-on owns: the mode, where the token comes
//! back, and the pre-shared keys as configured. One type per concept: the
//! configuration file (`amsync-config`) deserializes into these, and the
//! web layer's sign-on reads the same values, so nothing maps one onto a
//! copy of it. Each type checks its own values; the configuration names
//! the key of a failed check.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::psk::is_valid_kid;

/// `sso.mode`: how members sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SsoMode {
    /// Username and password passed through to the credential service.
    #[default]
    Credentials,
    /// Redirect to the association's login page; a token comes back.
    SessionVariable,
    /// amsync as an OpenID Connect relying party (`[sso.oidc]`).
    Oidc,
}

impl SsoMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SsoMode::Credentials => "credentials",
            SsoMode::SessionVariable => "session-variable",
            SsoMode::Oidc => "oidc",
        }
    }
}

/// `sso.token.source`: where the association's login page puts the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// A query parameter of the callback URL.
    #[default]
    Query,
    /// A cookie on the association's domain (amsync on a subdomain of it).
    Cookie,
}

/// `sso.token`: the token's place and the query parameter's or cookie's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SsoToken {
    pub source: TokenSource,
    /// The query parameter's or the cookie's name.
    pub name: String,
}

impl Default for SsoToken {
    fn default() -> Self {
        SsoToken { source: TokenSource::Query, name: "token".into() }
    }
}

impl SsoToken {
    /// A token in a cookie named `name`.
    pub fn cookie(name: &str) -> SsoToken {
        SsoToken { source: TokenSource::Cookie, name: name.into() }
    }

    /// The problem with `name` (`sso.token.name`), if any.
    pub fn name_problem(&self) -> Option<&'static str> {
        self.name.is_empty().then_some("must not be empty")
    }
}

/// One pre-shared key of `sso.resolve.keys` as configured: its id, and the
/// variable or file that holds its 32 bytes in standard base64. The secret
/// is read at start and again at each SIGHUP, so the configuration names
/// where it is, never the value; [`crate::PskKey`] is the key once read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PskKeyConfig {
    pub kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

impl PskKeyConfig {
    /// The problem with `kid` (`sso.resolve.keys[i].kid`), if any: tokens
    /// name their key by it, in the `v1.<kid>.…` format.
    pub fn kid_problem(&self) -> Option<&'static str> {
        (!is_valid_kid(&self.kid)).then_some("must be 1-32 characters of A-Z, a-z, 0-9, _ and -")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_checks_its_own_values() {
        assert_eq!(SsoToken::default().name_problem(), None);
        assert!(SsoToken { name: String::new(), ..SsoToken::default() }.name_problem().is_some());
        let key = |kid: &str| PskKeyConfig { kid: kid.into(), key_env: Some("K".into()), key_file: None };
        assert_eq!(key("k-1_A").kid_problem(), None);
        for bad in ["", "a b", "é", &"k".repeat(33)] {
            assert!(key(bad).kid_problem().is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_modes_read_as_the_file_writes_them() {
        for mode in [SsoMode::Credentials, SsoMode::SessionVariable, SsoMode::Oidc] {
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<SsoMode>(&json).unwrap(), mode);
        }
    }
}
