//! amsync as a library: every subcommand ([`commands`]) and, in [`node`],
//! the one place a node is built from its configuration. The `amsync`
//! binary (`main.rs`) only parses the command line and calls [`run`]; the
//! integration tests build their app with the same [`node::Node`] the
//! commands run.
//!
//! Errors end in [`exit::CliError`], which carries the exit code: 0 ok,
//! 1 failure, 2 usage or configuration error. `anyhow` lives only in this
//! crate.

pub mod args;
pub mod commands;
pub mod exit;
pub mod logging;
pub mod node;
mod progress;
pub mod retention;
pub mod secrets;
pub mod wiring;
pub mod wiring_sso;

pub use commands::run;
