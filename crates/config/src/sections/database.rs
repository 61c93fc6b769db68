//! `[database]`: where amsync keeps its state.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::secrets::{check_pair, SecretSource};

/// The database used when the file names none: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://amsync.db";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://amsync.db` or `postgres://user@host/db`, when the URL holds no password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The variable holding the URL, when it holds a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// The file holding the URL, when it holds a password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_file: Option<PathBuf>,
    /// Whether `serve` applies migrations (under a lock) at start.
    pub auto_migrate: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { url: None, url_env: None, url_file: None, auto_migrate: true }
    }
}

/// Where the database URL comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrlSource {
    /// Written in the file (or the default), so it holds no password.
    Literal(String),
    /// Named by `url_env` or `url_file`.
    Secret(SecretSource),
}

impl DatabaseConfig {
    /// The URL's source; the default SQLite file when none is given.
    pub fn url_source(&self) -> DatabaseUrlSource {
        match (&self.url, crate::secrets::pick("database.url", &self.url_env, &self.url_file, None)) {
            (Some(url), _) => DatabaseUrlSource::Literal(url.clone()),
            (None, Some(secret)) => DatabaseUrlSource::Secret(secret),
            (None, None) => DatabaseUrlSource::Literal(DEFAULT_DATABASE_URL.to_string()),
        }
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        let given = [self.url.is_some(), self.url_env.is_some(), self.url_file.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            p.add("database.url", "give one of url, url_env or url_file");
        }
        check_pair(p, "database.url", &self.url_env, &self.url_file, false);
        if let Some(url) = &self.url {
            if let Err(message) = check_database_url(url) {
                p.add("database.url", message);
            }
        }
    }
}

/// Whether `url` names a database amsync can use. The message never
/// repeats the URL, which may hold a password.
pub fn check_database_url(url: &str) -> Result<(), String> {
    if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("expected a URL starting with sqlite:, postgres:// or postgresql://".into())
    }
}
