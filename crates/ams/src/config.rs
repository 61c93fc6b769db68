//! The public configuration of the HTTP sources and the factories that build
//! them from it.
//!
//! The CLI turns `[ams]` / `[auth]` of the config file into an
//! [`HttpSourceConfig`] (resolving `*_env` / `*_file` secrets into
//! [`SecretCell`]s, which a SIGHUP reload replaces in place: the source
//! reads the current value per call) and calls [`http_source`] or
//! [`http_credentials`].

use std::sync::Arc;
use std::time::Duration;

use amsync_core::secret::SecretCell;
use amsync_core::Encoding;
use url::Url;

use crate::http_source::HttpSource;
use crate::source::{AmsSource, CredentialService};

/// The default header of the `api_key` authentication.
pub const DEFAULT_API_KEY_HEADER: &str = "X-Api-Key";

/// How amsync authenticates itself to the AMS.
#[derive(Clone)]
pub enum AuthConfig {
    /// No authentication (an adapter on a private network, a test AMS).
    None,
    /// A fixed key sent in a header on every call (its current value).
    ApiKey { header: String, value: SecretCell },
    /// HTTP basic authentication (the password's current value).
    Basic { username: String, password: SecretCell },
    /// OAuth 2.0 client credentials: a bearer token fetched from `token_url`,
    /// cached until shortly before it expires or until the client secret
    /// is replaced.
    OAuth2 { token_url: Url, client_id: String, client_secret: SecretCell, scope: Option<String> },
}

impl AuthConfig {
    /// `api_key` with the default header name.
    pub fn api_key(value: impl Into<SecretCell>) -> AuthConfig {
        AuthConfig::ApiKey { header: DEFAULT_API_KEY_HEADER.to_string(), value: value.into() }
    }

    /// The kind's name as the config file spells it.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthConfig::None => "none",
            AuthConfig::ApiKey { .. } => "api_key",
            AuthConfig::Basic { .. } => "basic",
            AuthConfig::OAuth2 { .. } => "oauth2",
        }
    }
}

// Written by hand so that no secret can reach a log through `{:?}`.
impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::None => f.write_str("None"),
            AuthConfig::ApiKey { header, .. } => {
                f.debug_struct("ApiKey").field("header", header).finish_non_exhaustive()
            }
            AuthConfig::Basic { username, .. } => {
                f.debug_struct("Basic").field("username", username).finish_non_exhaustive()
            }
            AuthConfig::OAuth2 { token_url, client_id, scope, .. } => f
                .debug_struct("OAuth2")
                .field("token_url", &token_url.as_str())
                .field("client_id", client_id)
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

/// Everything an HTTP source needs, with secrets already resolved.
#[derive(Debug, Clone)]
pub struct HttpSourceConfig {
    /// All contract paths are relative to it (`https://ams.example.org/community-api`).
    pub base_url: Url,
    pub auth: AuthConfig,
    /// Per call, from connecting until the whole body is read.
    pub timeout: Duration,
    /// AMS calls in flight at once, for every source built from this config.
    pub max_concurrency: usize,
    /// AMS calls per second; 0 is no limit.
    pub max_rate: u32,
    /// Largest response body read, in bytes; a larger one is a data error.
    pub max_body: u64,
    pub user_agent: String,
    /// Which HTTP version to speak to the AMS.
    pub http_version: HttpVersion,
}

/// The HTTP version spoken to the AMS (`ams.http_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpVersion {
    /// HTTP/2 where TLS negotiates it (ALPN), else HTTP/1.1.
    #[default]
    Auto,
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only, also over plain `http://` (prior knowledge, h2c): for
    /// an AMS, or a gateway in front of it, known to speak HTTP/2. Many
    /// calls then share one connection instead of one connection each.
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

impl HttpSourceConfig {
    /// The product's defaults (`timeout = "10s"`, `max_concurrency = 32`,
    /// `max_rate = 0`, `max_body = "8MiB"`), no authentication.
    pub fn new(base_url: Url) -> HttpSourceConfig {
        HttpSourceConfig {
            base_url,
            auth: AuthConfig::None,
            timeout: Duration::from_secs(10),
            max_concurrency: 32,
            max_rate: 0,
            max_body: 8 * 1024 * 1024,
            user_agent: concat!("amsync/", env!("CARGO_PKG_VERSION")).to_string(),
            http_version: HttpVersion::Auto,
        }
    }
}

/// A configuration that cannot work; reported at start-up (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("ams.base_url {0:?} must be an http or https URL")]
    BaseUrl(String),
    #[error("the OAuth2 token_url {0:?} must be an http or https URL")]
    TokenUrl(String),
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error("the basic authentication username must not contain a colon")]
    BasicUsername,
    #[error("the api_key header name {0:?} is not a valid HTTP header name")]
    HeaderName(String),
    #[error("the user agent is not a valid HTTP header value")]
    UserAgent,
    #[error("the secret of the {0} authentication is not a valid HTTP header value")]
    SecretNotHeaderSafe(&'static str),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// Builds the `http-json` (`Encoding::Json`) or `http-xml` (`Encoding::Xml`) source.
pub fn http_source(cfg: HttpSourceConfig, encoding: Encoding) -> Result<Arc<dyn AmsSource>, BuildError> {
    Ok(Arc::new(HttpSource::new(cfg, encoding)?))
}

/// Builds the `[auth]` credential service of kind `http-json` or `http-xml`.
pub fn http_credentials(cfg: HttpSourceConfig, encoding: Encoding) -> Result<Arc<dyn CredentialService>, BuildError> {
    Ok(Arc::new(HttpSource::new(cfg, encoding)?))
}
