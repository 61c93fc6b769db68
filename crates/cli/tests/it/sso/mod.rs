//! Sign-on end to end (issue 4): each test starts its own simulated AMS
//! (with the sample association login page), SQLite store and amsync on
//! 127.0.0.1, and talks to them over real HTTP.

mod browser;
mod credentials;
mod helpers;
pub(crate) mod oidc;
mod recipes;
mod session_variable;
mod sessions;
