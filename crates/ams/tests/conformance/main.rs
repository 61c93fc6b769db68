//! The source conformance suite: every check runs against both HTTP kinds
//! (`http-json` and `http-xml`), each against a real test AMS on 127.0.0.1.
//!
//! One test binary; each check is an `async fn check(Encoding)` expanded by
//! [`both!`] into `check::json` and `check::xml`.

mod server;
mod support;

mod auth;
mod examples;
mod failures;
mod health_and_credentials;
mod keys;
mod limits;
mod observe;
mod paging;
mod safety;
