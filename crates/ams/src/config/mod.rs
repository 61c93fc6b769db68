//! The configuration of the AMS sources, owned here (as a Vector component
//! owns its config) and used as is by `amsync-config` for the file's
//! `[ams]` and `[auth]` sections: deserialized from TOML with every error
//! naming its key, validated where it is defined ([`AmsConfig::check`],
//! [`CredentialConfig::check`]), and handed to the factory
//! ([`crate::build`]) that makes the sources from it.
//!
//! Secrets are only ever *named* here (`*_env` / `*_file`, as
//! [`SecretSource`]s); the factory asks a [`amsync_config_kit::SecretCells`]
//! for the cells their values live in, so a SIGHUP reload reaches the
//! source at its next call.
//!
//! - [`AmsConfig`]: `[ams]`, with [`SourceKind`] and [`HttpVersion`];
//! - [`HttpAuth`]: how amsync authenticates to an HTTP service (`ams.auth`,
//!   `auth.auth`);
//! - [`CredentialConfig`]: `[auth]` as written, and
//!   [`CredentialServiceConfig`], the credential service with its defaults
//!   applied;
//! - `kinds`: the sub-tables of the kinds that are not plain HTTP
//!   (`[ams.soap]`, `[ams.sql]`, `[ams.scim]`).

mod auth;
mod credential;
mod kinds;

use std::time::Duration;

use amsync_config_kit::values::{bytes, opt_text, text};
use amsync_config_kit::{Problems, SecretSource};
use serde::{Deserialize, Serialize};
use url::Url;

pub use auth::{ApiKeyAuth, BasicAuth, HttpAuth, OAuth2Auth, DEFAULT_API_KEY_HEADER};
pub use credential::{CredentialConfig, CredentialKind, CredentialServiceConfig};
pub use kinds::{
    ScimSourceConfig, SoapFaults, SoapOperations, SoapSourceConfig, SqlSourceConfig, DEFAULT_SCIM_COMMUNITY_EXTENSION,
    DEFAULT_SOAP_NAMESPACE,
};

/// The one system of record of a deployment (product.md, "Systems of record").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The contract's JSON encoding, polled.
    #[default]
    HttpJson,
    /// The contract's XML encoding, polled.
    HttpXml,
    /// A SOAP service, polled (`[ams.soap]`).
    Soap,
    /// The AMS database, queried (`[ams.sql]`).
    Sql,
    /// A SCIM 2.0 service provider, polled (`[ams.scim]`).
    Scim,
    /// Records arrive through the push API and the SCIM endpoint; never polled.
    Push,
}

impl SourceKind {
    pub const ALL: [SourceKind; 6] = [
        SourceKind::HttpJson,
        SourceKind::HttpXml,
        SourceKind::Soap,
        SourceKind::Sql,
        SourceKind::Scim,
        SourceKind::Push,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::HttpJson => "http-json",
            SourceKind::HttpXml => "http-xml",
            SourceKind::Soap => "soap",
            SourceKind::Sql => "sql",
            SourceKind::Scim => "scim",
            SourceKind::Push => "push",
        }
    }

    /// Whether amsync polls this source (everything but `push`).
    pub fn is_polled(self) -> bool {
        self != SourceKind::Push
    }

    /// Whether the source's contract is reached at `ams.base_url`.
    pub fn uses_base_url(self) -> bool {
        matches!(self, SourceKind::HttpJson | SourceKind::HttpXml)
    }
}

/// The HTTP version spoken to an HTTP AMS (`ams.http_version`).
/// Written `"auto"`, `"1.1"` or `"2"`; the bare numbers `1.1` and `2` are
/// taken too, since that is how a version is often written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "VersionText")]
pub enum HttpVersion {
    /// HTTP/2 where TLS negotiates it (ALPN), else HTTP/1.1.
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// HTTP/1.1 only.
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2 only, also over plain `http://` (prior knowledge, h2c): for
    /// an AMS, or a gateway in front of it, known to speak HTTP/2. Many
    /// calls then share one connection instead of one connection each.
    #[serde(rename = "2")]
    Http2,
}

impl HttpVersion {
    /// The spellings `ams.http_version` takes: `auto`, `1.1`, `2` (or `2.0`).
    pub fn parse(s: &str) -> Option<HttpVersion> {
        match s {
            "auto" => Some(HttpVersion::Auto),
            "1.1" => Some(HttpVersion::Http1),
            "2" | "2.0" => Some(HttpVersion::Http2),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Auto => "auto",
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VersionText {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl TryFrom<VersionText> for HttpVersion {
    type Error = String;

    fn try_from(v: VersionText) -> Result<HttpVersion, String> {
        let text = match v {
            VersionText::Text(t) => t,
            VersionText::Integer(i) => i.to_string(),
            VersionText::Float(f) => f.to_string(),
        };
        HttpVersion::parse(&text)
            .ok_or_else(|| format!("{text:?} is not an HTTP version amsync speaks: \"auto\", \"1.1\" or \"2\""))
    }
}

/// `[ams]`: the system of record and how to reach it, with the sub-tables
/// of the kinds that are not plain HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmsConfig {
    pub kind: SourceKind,
    /// Where the contract's paths start; required for `http-json` and `http-xml`.
    #[serde(with = "opt_text", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// How amsync authenticates to the AMS; none when omitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
    /// Limit of one AMS call, from connect to the last byte.
    #[serde(with = "text")]
    pub timeout: Duration,
    /// AMS calls in flight, for the whole deployment.
    pub max_concurrency: u32,
    /// AMS calls per second, for the whole deployment; 0 = no limit.
    pub max_rate: u32,
    /// Largest AMS response body read, in bytes.
    #[serde(with = "bytes")]
    pub max_body: u64,
    /// Most listing pages one poll reads (GetChangedMembers, GetChangedEvents);
    /// beyond it the cursor is taken for a runaway and the poll fails.
    pub max_pages: u64,
    /// `"auto"` (HTTP/2 where TLS offers it, else 1.1), `"1.1"` or `"2"`
    /// (HTTP/2 also over plain http://, for an AMS known to speak it).
    pub http_version: HttpVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soap: Option<SoapSourceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<SqlSourceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimSourceConfig>,
}

impl Default for AmsConfig {
    fn default() -> Self {
        AmsConfig {
            kind: SourceKind::HttpJson,
            base_url: None,
            auth: None,
            timeout: Duration::from_secs(10),
            max_concurrency: 32,
            max_rate: 0,
            max_body: 8 << 20,
            max_pages: 100_000,
            http_version: HttpVersion::Auto,
            soap: None,
            sql: None,
            scim: None,
        }
    }
}

impl AmsConfig {
    /// The secret of `ams.auth`, if it has one.
    pub fn auth_secret(&self) -> Option<SecretSource> {
        self.auth.as_ref().and_then(|a| a.secret("ams.auth"))
    }

    /// An `http-json` or `http-xml` source at `base_url` with the product's
    /// defaults and no authentication (for tools and tests that build a
    /// source without a file).
    pub fn http(kind: SourceKind, base_url: Url) -> AmsConfig {
        AmsConfig { kind, base_url: Some(base_url), ..AmsConfig::default() }
    }

    /// The rules of `[ams]`, each problem at its key.
    pub fn check(&self, p: &mut Problems) {
        let kind = self.kind.as_str();
        if self.kind.uses_base_url() && self.base_url.is_none() {
            p.add("ams.base_url", format!("required when ams.kind = \"{kind}\""));
        }
        if let Some(auth) = &self.auth {
            auth.check(p, "ams.auth");
        }
        if self.timeout.is_zero() {
            p.add("ams.timeout", "must be more than 0s");
        }
        if self.max_concurrency == 0 {
            p.add("ams.max_concurrency", "must be at least 1");
        }
        if self.max_body == 0 {
            p.add("ams.max_body", "must be more than 0 bytes");
        }
        if self.max_pages == 0 {
            p.add("ams.max_pages", "must be at least 1");
        }
        let subtables = [
            ("ams.soap", SourceKind::Soap, self.soap.is_some()),
            ("ams.sql", SourceKind::Sql, self.sql.is_some()),
            ("ams.scim", SourceKind::Scim, self.scim.is_some()),
        ];
        for (key, wanted, given) in subtables {
            if self.kind == wanted && !given {
                p.add(key, format!("required when ams.kind = \"{kind}\""));
            }
        }
        if let Some(soap) = &self.soap {
            soap.check(p);
        }
        if let Some(sql) = &self.sql {
            if self.kind != SourceKind::Sql {
                p.add("ams.sql", format!("only used when ams.kind = \"sql\" (it is \"{kind}\")"));
            }
            sql.check(p);
        }
        if let Some(scim) = &self.scim {
            if self.kind != SourceKind::Scim {
                p.add("ams.scim", format!("only used when ams.kind = \"scim\" (it is \"{kind}\")"));
            }
            scim.check(p);
        }
    }
}
