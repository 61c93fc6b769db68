//! `[auth]`: the credential service, which checks usernames and passwords
//! (AuthenticateCredentials) and resolves SSO tokens (ResolveToken).
//!
//! It is separate from the source because a SQL or SCIM source has none.
//! For `http-json`, `http-xml` and `soap` sources it defaults to the source
//! itself; [`CredentialConfig::effective`] applies those defaults.

use amsync_config_kit::values::opt_text;
use amsync_config_kit::{Problems, SecretSource};
use serde::{Deserialize, Serialize};
use url::Url;

use super::auth::HttpAuth;
use super::{AmsConfig, SourceKind};

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
pub struct CredentialConfig {
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
pub struct CredentialServiceConfig {
    pub kind: CredentialKind,
    /// For `http-json` and `http-xml`; `soap` uses `[ams.soap]`.
    pub base_url: Option<Url>,
    pub auth: Option<HttpAuth>,
    /// The key `auth` was configured at (`auth.auth` or `ams.auth`), for errors.
    pub auth_key: &'static str,
}

impl CredentialServiceConfig {
    /// Whether there is a service at all.
    pub fn is_enabled(&self) -> bool {
        self.kind != CredentialKind::None
    }

    /// The secret of its authentication, if it has one.
    pub fn auth_secret(&self) -> Option<SecretSource> {
        self.auth.as_ref().and_then(|a| a.secret(self.auth_key))
    }

    /// Whether it is the source's own service (same base URL, same
    /// credentials): then it shares the source's client, limits and token.
    pub fn is_the_source(&self) -> bool {
        self.auth_key == "ams.auth"
    }
}

impl CredentialConfig {
    /// The credential service with its defaults applied: the source's own
    /// service for `http-json`, `http-xml` and `soap`, none otherwise;
    /// `base_url` from `ams.base_url`; `auth` from `ams.auth` when the base
    /// URL is the source's too.
    pub fn effective(&self, ams: &AmsConfig) -> CredentialServiceConfig {
        let kind = self.kind.unwrap_or_else(|| CredentialKind::of_source(ams.kind));
        let (base_url, own_url) = match &self.base_url {
            Some(url) => (Some(url.clone()), true),
            None => (ams.base_url.clone(), false),
        };
        let (auth, auth_key) = match (&self.auth, own_url) {
            (Some(a), _) => (Some(a.clone()), "auth.auth"),
            (None, false) => (ams.auth.clone(), "ams.auth"),
            (None, true) => (None, "auth.auth"),
        };
        CredentialServiceConfig { kind, base_url, auth, auth_key }
    }

    /// The rules of `[auth]` and those it shares with `[ams]`; `p` already
    /// holds the problems of `[ams]` (a missing `ams.base_url` is reported
    /// there, not again here).
    pub fn check(&self, ams: &AmsConfig, p: &mut Problems) {
        if let Some(auth) = &self.auth {
            auth.check(p, "auth.auth");
        }
        let service = self.effective(ams);
        match service.kind {
            // A missing ams.base_url is reported already; it is the one to fix.
            CredentialKind::HttpJson | CredentialKind::HttpXml
                if service.base_url.is_none() && !p.has("ams.base_url") =>
            {
                p.add(
                    "auth.base_url",
                    format!("required when auth.kind = \"{}\" and ams.base_url is not set", service.kind.as_str()),
                );
            }
            CredentialKind::Soap if ams.soap.is_none() && !p.has("ams.soap") => {
                p.add("auth.kind", "\"soap\" uses [ams.soap], which is not given");
            }
            _ => {}
        }
        // Like [ams.sql] and [ams.scim] (see AmsConfig::check), [ams.soap]
        // given for nothing would be accepted and ignored.
        if ams.soap.is_some() && ams.kind != SourceKind::Soap && service.kind != CredentialKind::Soap {
            p.add(
                "ams.soap",
                format!(
                    "only used when ams.kind = \"soap\" or auth.kind = \"soap\" (they are \"{}\" and \"{}\")",
                    ams.kind.as_str(),
                    service.kind.as_str()
                ),
            );
        }
    }
}
