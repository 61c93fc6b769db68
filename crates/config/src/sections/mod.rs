//! One module per group of sections of the file; each type is a table.

pub mod ams;
pub mod credential;
pub mod database;
pub mod groups;
pub mod log;
pub mod retention;
pub mod safety;
pub mod schedule;
pub mod sso;
pub mod web;
