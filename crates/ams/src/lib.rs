//! AMS sources: the clients amsync reads the system of record with.
//!
//! One trait per external system ([`AmsSource`] for the data methods,
//! [`CredentialService`] for sign-in checks), one implementation per kind
//! (`http-json`, `http-xml`, `soap`; later `sql`, `scim`), and one seam
//! every kind plugs into:
//!
//! - [`config`]: the `[ams]` and `[auth]` sections, owned here and used as
//!   they are by `amsync-config`;
//! - [`build`] / [`build_source`]: the factory, from the configuration to
//!   `Arc<dyn AmsSource>` (and the optional `Arc<dyn CredentialService>`);
//!   it refuses the kinds this version does not run;
//! - [`observe`]: the metrics and the [`CallObserver`] hook, applied to
//!   every source by the [`Observed`] decorator the factory wraps it in;
//! - `http`: the shared HTTP base (client, limits, auth, classification);
//! - [`codec`]: the contract's JSON and XML encodings;
//! - [`HttpSource`]: `http-json` and `http-xml`;
//! - [`SoapSource`]: `soap`, the SOAP 1.1 RefreshService dialect;
//! - `memory` (feature `test-util`): an in-memory source that passes the
//!   same conformance suite, for the engine's tests.
//!
//! ```no_run
//! use amsync_ams::config::{AmsConfig, CredentialConfig, SourceKind};
//! use amsync_config_kit::{ProcessEnv, ResolveNow};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ams = AmsConfig::http(SourceKind::HttpJson, "https://ams.example.org/community-api".parse()?);
//! // One client, one set of limits, one token, for both traits:
//! let built = amsync_ams::build(&ams, &CredentialConfig::default(), &mut ResolveNow(&ProcessEnv), None)?;
//! let first = built.source.changed_members(None, None).await?;
//! # let _ = (first, built.credentials);
//! # Ok(())
//! # }
//! ```
//!
//! **Architecture invariant:** sources do not retry. A failed call is
//! classified ([`amsync_core::FailureKind`]) and returned; retries belong to
//! the Refresh Queue, which owns backoff and attempt counting.
//!
//! **Architecture invariant:** every source the factory builds is
//! [`Observed`]: a kind implements the contract's methods only, and its
//! calls reach the metrics and the quarantine's window through the
//! decorator, classified by the trait's types.

pub mod codec;
pub mod config;
mod factory;
mod http;
pub mod http_source;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod observe;
pub mod soap;
pub mod source;

pub use codec::HttpEncoding;
pub use config::{AmsConfig, CredentialConfig, HttpVersion, SourceKind};
pub use factory::{build, build_source, BuildError, HttpProblem, Sources, USER_AGENT};
pub use http::auth::{api_key_check, is_header_safe, MAX_TOKEN_LIFETIME};
pub use http::install_crypto_provider;
pub use http_source::HttpSource;
pub use observe::{CallObserver, Observed};
pub use soap::SoapSource;
pub use source::{
    AmsSource, ChangedKey, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError,
};
