//! Sign-on end to end: one test binary (one link) with a module per
//! capability. Every test starts its own simulated AMS, SQLite store and
//! amsync on 127.0.0.1 and talks to them over real HTTP.

mod browser;
mod credentials;
mod helpers;
mod oidc;
mod recipes;
mod session_variable;
mod sessions;

/// Heavy tests (a provider process, a browser) run one at a time.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
