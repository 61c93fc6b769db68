//! `[ams]`: the system of record and how to reach it, with the sub-tables
//! of the source kinds that are not plain HTTP (`[ams.soap]`, `[ams.sql]`,
//! `[ams.scim]`).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

use crate::error::Problems;
use crate::secrets::{check_pair, pick, SecretSource};
use crate::tagged;
use crate::values::{bytes, opt_text, text};

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
    /// HTTP/2 only, also over plain http:// (prior knowledge): many calls
    /// share one connection.
    #[serde(rename = "2")]
    Http2,
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
        match text.as_str() {
            "auto" => Ok(HttpVersion::Auto),
            "1.1" => Ok(HttpVersion::Http1),
            "2" | "2.0" => Ok(HttpVersion::Http2),
            other => Err(format!("{other:?} is not an HTTP version amsync speaks: \"auto\", \"1.1\" or \"2\"")),
        }
    }
}

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

    pub(crate) fn check(&self, p: &mut Problems) {
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

/// Authentication to an HTTP service (the AMS or the credential service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpAuth {
    /// A header with a fixed value.
    ApiKey(ApiKeyAuth),
    /// HTTP basic authentication.
    Basic(BasicAuth),
    /// OAuth 2.0 client credentials.
    Oauth2(OAuth2Auth),
}

impl<'de> Deserialize<'de> for HttpAuth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, rest) = tagged::split_tag(d, "kind", &["api_key", "basic", "oauth2"])?;
        match kind {
            "api_key" => tagged::deserialize_part(rest).map(HttpAuth::ApiKey),
            "basic" => tagged::deserialize_part(rest).map(HttpAuth::Basic),
            _ => tagged::deserialize_part(rest).map(HttpAuth::Oauth2),
        }
    }
}

impl HttpAuth {
    /// The secret this authentication needs, as configured at `at` (such as `ams.auth`).
    pub fn secret(&self, at: &str) -> Option<SecretSource> {
        match self {
            HttpAuth::ApiKey(a) => pick(&format!("{at}.value"), &a.value_env, &a.value_file, None),
            HttpAuth::Basic(b) => pick(&format!("{at}.password"), &b.password_env, &b.password_file, None),
            HttpAuth::Oauth2(o) => {
                pick(&format!("{at}.client_secret"), &o.client_secret_env, &o.client_secret_file, None)
            }
        }
    }

    pub(crate) fn check(&self, p: &mut Problems, at: &str) {
        match self {
            HttpAuth::ApiKey(a) => {
                if !is_header_name(&a.header) {
                    p.add(format!("{at}.header"), format!("{:?} is not an HTTP header name", a.header));
                }
                check_pair(p, &format!("{at}.value"), &a.value_env, &a.value_file, true);
            }
            HttpAuth::Basic(b) => {
                if b.username.is_empty() || b.username.contains(':') {
                    p.add(format!("{at}.username"), "must be non-empty and without ':'");
                }
                check_pair(p, &format!("{at}.password"), &b.password_env, &b.password_file, true);
            }
            HttpAuth::Oauth2(o) => {
                if o.client_id.is_empty() {
                    p.add(format!("{at}.client_id"), "must not be empty");
                }
                check_pair(p, &format!("{at}.client_secret"), &o.client_secret_env, &o.client_secret_file, true);
            }
        }
    }
}

fn is_header_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub const DEFAULT_API_KEY_HEADER: &str = "X-Api-Key";

fn default_api_key_header() -> String {
    DEFAULT_API_KEY_HEADER.to_string()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    #[serde(default = "default_api_key_header")]
    pub header: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    #[serde(with = "text")]
    pub token_url: Url,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `[ams.soap]`: a SOAP service that answers the contract's methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoapSourceConfig {
    #[serde(with = "text")]
    pub endpoint: Url,
    /// The service's security key, sent in the SOAP header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_key_file: Option<PathBuf>,
    /// The XML namespace of the request elements.
    #[serde(default = "default_soap_namespace")]
    pub request_namespace: String,
    /// Prefix of the `SOAPAction` header; the request namespace when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_prefix: Option<String>,
    /// The service's operation names, one per contract method.
    #[serde(default)]
    pub operations: SoapOperations,
}

fn default_soap_namespace() -> String {
    "http://tempuri.org/".to_string()
}

impl SoapSourceConfig {
    pub fn security_key(&self) -> Option<SecretSource> {
        pick("ams.soap.security_key", &self.security_key_env, &self.security_key_file, None)
    }

    /// The `SOAPAction` prefix in effect.
    pub fn action_prefix(&self) -> &str {
        self.action_prefix.as_deref().unwrap_or(&self.request_namespace)
    }

    fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.soap.security_key", &self.security_key_env, &self.security_key_file, false);
        if self.request_namespace.is_empty() {
            p.add("ams.soap.request_namespace", "must not be empty");
        }
        for (name, op) in self.operations.named() {
            if op.is_empty() {
                p.add(format!("ams.soap.operations.{name}"), "must not be empty");
            }
        }
    }
}

/// Operation names of a SOAP service; the defaults are the contract's method names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoapOperations {
    pub get_changed_members: String,
    pub get_member_details: String,
    pub get_member_communities: String,
    pub get_member_security_groups: String,
    pub get_changed_events: String,
    pub authenticate_credentials: String,
    pub resolve_token: String,
}

impl Default for SoapOperations {
    fn default() -> Self {
        SoapOperations {
            get_changed_members: "GetChangedMembers".into(),
            get_member_details: "GetMemberDetails".into(),
            get_member_communities: "GetMemberCommunities".into(),
            get_member_security_groups: "GetMemberSecurityGroups".into(),
            get_changed_events: "GetChangedEvents".into(),
            authenticate_credentials: "AuthenticateCredentials".into(),
            resolve_token: "ResolveToken".into(),
        }
    }
}

impl SoapOperations {
    fn named(&self) -> [(&'static str, &str); 7] {
        [
            ("get_changed_members", &self.get_changed_members),
            ("get_member_details", &self.get_member_details),
            ("get_member_communities", &self.get_member_communities),
            ("get_member_security_groups", &self.get_member_security_groups),
            ("get_changed_events", &self.get_changed_events),
            ("authenticate_credentials", &self.authenticate_credentials),
            ("resolve_token", &self.resolve_token),
        ]
    }
}

/// `[ams.sql]`: the AMS's own database, read with one query per method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSourceConfig {
    /// The database URL holds a password, so it is always a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// GetChangedMembers: rows of (key, changed_at) changed since `:since`.
    pub changed_members: String,
    /// GetMemberDetails for `:key`.
    pub member_details: String,
    /// GetMemberCommunities for `:key`.
    pub member_communities: String,
    /// GetMemberSecurityGroups for `:key`.
    pub member_security_groups: String,
    /// GetChangedEvents since `:since`.
    pub changed_events: String,
}

impl SqlSourceConfig {
    pub fn url(&self) -> Option<SecretSource> {
        pick("ams.sql.url", &self.url_env, &self.url_file, None)
    }

    fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.sql.url", &self.url_env, &self.url_file, true);
        let queries = [
            ("changed_members", &self.changed_members),
            ("member_details", &self.member_details),
            ("member_communities", &self.member_communities),
            ("member_security_groups", &self.member_security_groups),
            ("changed_events", &self.changed_events),
        ];
        for (name, q) in queries {
            if q.trim().is_empty() {
                p.add(format!("ams.sql.{name}"), "the query must not be empty");
            }
        }
    }
}

/// The default URN of the SCIM schema extension that carries memberships.
pub const DEFAULT_SCIM_COMMUNITY_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:amsync:2.0:Community";

fn default_scim_extension() -> String {
    DEFAULT_SCIM_COMMUNITY_EXTENSION.to_string()
}

/// `[ams.scim]`: a SCIM 2.0 service provider that amsync polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSourceConfig {
    #[serde(with = "text")]
    pub base_url: Url,
    /// Bearer token for the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// URN of the schema extension that carries community memberships.
    #[serde(default = "default_scim_extension")]
    pub community_extension: String,
}

impl ScimSourceConfig {
    pub fn token(&self) -> Option<SecretSource> {
        pick("ams.scim.token", &self.token_env, &self.token_file, None)
    }

    fn check(&self, p: &mut Problems) {
        check_pair(p, "ams.scim.token", &self.token_env, &self.token_file, true);
        if !self.community_extension.starts_with("urn:") {
            p.add("ams.scim.community_extension", "must be a URN (starting with \"urn:\")");
        }
    }
}
