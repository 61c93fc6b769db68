//! `[auth]`: the credential service, which checks usernames and passwords
//! (AuthenticateCredentials) and resolves SSO tokens (ResolveToken).
//!
//! It is separate from the source because a SQL or SCIM source has none.
//! For `http-json`, `http-xml` and `soap` sources it defaults to the source
//! itself; [`crate::Config::credential_service`] applies those defaults.

use serde::{Deserialize, Serialize};
use url::Url;

use super::ams::{HttpAuth, SourceKind};
use crate::secrets::SecretSource;
use crate::values::opt_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    HttpJson,
    HttpXml,
    /// The SOAP service of `[ams.soap]`.
    Soap,
    /// No credential service: no password sign-in, no token resolution.
    None,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::HttpJson => "http-json",
            CredentialKind::HttpXml => "http-xml",
            CredentialKind::Soap => "soap",
            CredentialKind::None => "none",
        }
    }

    /// The source's own credential service, if its kind has one.
    pub fn of_source(kind: SourceKind) -> CredentialKind {
        match kind {
            SourceKind::HttpJson => CredentialKind::HttpJson,
            SourceKind::HttpXml => CredentialKind::HttpXml,
            SourceKind::Soap => CredentialKind::Soap,
            SourceKind::Sql | SourceKind::Scim | SourceKind::Push => CredentialKind::None,
        }
    }
}

/// `[auth]` as written; every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Defaults to the source's own service (`none` for sql, scim and push).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<CredentialKind>,
    /// Defaults to `ams.base_url`.
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// Defaults to `ams.auth` when `base_url` is defaulted too (the same
    /// service); a different service never receives the AMS's credentials
    /// by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
}

/// The credential service with the defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialService {
    pub kind: CredentialKind,
    /// For `http-json` and `http-xml`; `soap` uses `[ams.soap]`.
    pub base_url: Option<Url>,
    pub auth: Option<HttpAuth>,
    /// The key `auth` was configured at (`auth.auth` or `ams.auth`), for errors.
    pub auth_key: &'static str,
}

impl CredentialService {
    /// Whether there is a service at all.
    pub fn is_enabled(&self) -> bool {
        self.kind != CredentialKind::None
    }

    /// The secret of its authentication, if it has one.
    pub fn auth_secret(&self) -> Option<SecretSource> {
        self.auth.as_ref().and_then(|a| a.secret(self.auth_key))
    }
}
