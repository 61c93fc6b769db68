//! The HTTP kinds' own checks (`http-json`, `http-xml`), beside the shared
//! suite: what only an HTTP source has (query strings, paths and headers,
//! authentication schemes, body caps, timeouts and statuses, the shared
//! limits, HTTP/2), each run in both encodings by [`both!`], against the
//! test AMS ([`server`]).

pub mod data;
pub mod server;
pub mod support;

mod auth;
mod examples;
mod failures;
mod health_and_credentials;
mod keys;
mod limits;
mod observe;
mod paging;
mod safety;
