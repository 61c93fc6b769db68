//! AMS sources: the clients amsync reads the system of record with.
//!
//! One trait per external system ([`AmsSource`] for the data methods,
//! [`CredentialService`] for sign-in checks), one implementation per kind
//! (`http-json`, `http-xml`; later `soap`, `sql`, `scim`). The generic part of
//! polling an HTTP AMS (auth, timeouts, concurrency and rate limits, body
//! caps, error classification) is written once and shared.
//!
//! - `http`: the shared HTTP base (client, limits, auth, classification);
//! - [`codec`]: the contract's JSON and XML encodings;
//! - [`HttpSource`]: `http-json` and `http-xml`, built by [`http_source()`] and
//!   [`http_credentials()`] from an [`HttpSourceConfig`];
//! - [`observe`]: metrics and the [`CallObserver`] hook.
//!
//! ```no_run
//! use std::sync::Arc;
//! use amsync_ams::{AmsSource, AuthConfig, CredentialService, HttpSource, HttpSourceConfig};
//! use amsync_core::Encoding;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut cfg = HttpSourceConfig::new("https://ams.example.org/community-api".parse()?);
//! cfg.auth = AuthConfig::api_key(secrecy::SecretString::from(std::env::var("AMS_API_KEY")?));
//! // One client, one set of limits, one token, for both traits:
//! let http = Arc::new(HttpSource::new(cfg, Encoding::Json)?);
//! let source: Arc<dyn AmsSource> = http.clone();
//! let credentials: Arc<dyn CredentialService> = http;
//! let first = source.changed_members(None, None).await?;
//! # let _ = (first, credentials);
//! # Ok(())
//! # }
//! ```
//!
//! **Architecture invariant:** sources do not retry. A failed call is
//! classified ([`amsync_core::FailureKind`]) and returned; retries belong to
//! the Refresh Queue, which owns backoff and attempt counting.

pub mod codec;
pub mod config;
mod http;
pub mod http_source;
pub mod observe;
pub mod source;

pub use config::{
    http_credentials, http_source, AuthConfig, BuildError, HttpSourceConfig, HttpVersion, DEFAULT_API_KEY_HEADER,
};
pub use http::auth::{is_header_safe, MAX_TOKEN_LIFETIME};
pub use http::install_crypto_provider;
pub use http_source::HttpSource;
pub use observe::CallObserver;
pub use source::{
    AmsSource, ChangedKey, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError,
};
