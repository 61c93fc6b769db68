//! AMS sources: the clients amsync reads the system of record with.
//!
//! One trait per external system ([`AmsSource`] for the data methods,
//! [`CredentialService`] for sign-in checks), one implementation per kind
//! (`http-json`, `http-xml`; later `soap`, `sql`, `scim`). The generic part of
//! polling an HTTP AMS (auth, timeouts, concurrency and rate limits, body
//! caps, error classification) is written once and shared.
//!
//! **Architecture invariant:** sources do not retry. A failed call is
//! classified ([`amsync_core::FailureKind`]) and returned; retries belong to
//! the Refresh Queue, which owns backoff and attempt counting.

pub mod source;

pub use source::{
    AmsSource, ChangedKey, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError,
};
