//! One module per group of sections of the file; each type is a table.
//! `[ams]` and `[auth]` are the AMS sources' own types
//! (`amsync_ams::config`), used here as they are.

pub mod database;
pub mod groups;
pub mod log;
pub mod retention;
pub mod safety;
pub mod schedule;
pub mod sso;
pub mod web;
