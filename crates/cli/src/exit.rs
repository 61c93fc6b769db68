//! Exit codes (product.md): 0 ok, 1 failure, 2 usage or configuration error.

use std::fmt;

pub type CliResult<T> = Result<T, CliError>;

/// An error at the binary's edge, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn config(msg: impl Into<String>) -> CliError {
        CliError { code: 2, error: anyhow::anyhow!(msg.into()) }
    }

    pub fn failure(msg: impl Into<String>) -> CliError {
        CliError { code: 1, error: anyhow::anyhow!(msg.into()) }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl From<amsync_config::ConfigError> for CliError {
    fn from(e: amsync_config::ConfigError) -> Self {
        CliError { code: 2, error: e.into() }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError { code: 1, error: e }
    }
}

impl From<amsync_store::StoreError> for CliError {
    fn from(e: amsync_store::StoreError) -> Self {
        CliError { code: 1, error: e.into() }
    }
}

impl From<amsync_sync::SyncError> for CliError {
    fn from(e: amsync_sync::SyncError) -> Self {
        CliError { code: 1, error: e.into() }
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError { code: 1, error: e.into() }
    }
}
