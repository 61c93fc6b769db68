//! Sign-on end to end: one test binary (one link) with a module per
//! capability. Every test starts its own simulated AMS, SQLite store and
//! amsync on 127.0.0.1 and talks to them over real HTTP.

mod credentials;
mod helpers;
mod session_variable;
mod sessions;
