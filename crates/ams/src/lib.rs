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
//! - [`HttpSource`]: `http-json` and `http-xml`, built by [`http_source`] and
//!   [`http_credentials`] from an [`HttpSourceConfig`];
//! - [`observe`]: metrics and the [`CallObserver`] hook.
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

pub use config::{http_credentials, http_source, AuthConfig, BuildError, HttpSourceConfig, DEFAULT_API_KEY_HEADER};
pub use http::install_crypto_provider;
pub use http_source::HttpSource;
pub use observe::CallObserver;
pub use source::{
    AmsSource, ChangedKey, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError,
};
