//! The behaviour every kind of source owes the engine, asserted through
//! `dyn AmsSource` / `dyn CredentialService` only, so that every kind runs
//! it unchanged through its [`crate::harness::Harness`]: listings paged to
//! the end, `since`, the full listing, gone members and merge targets,
//! data that breaks the contract named by record and field, refusals of
//! our credentials, the credential service, and every call observed.

pub mod credentials;
pub mod listing;
pub mod malformed;
pub mod members;
pub mod observe;
pub mod refusals;
