//! How a SQLite store is opened: [`SqliteOptions`] and the `sqlite://` URL form.

use std::path::PathBuf;

use crate::error::{Result, StoreError};

/// Options of [`super::SqliteStore::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file; created when missing.
    pub path: PathBuf,
    /// Apply pending migrations at open. When off, a database with pending
    /// migrations is refused with [`StoreError::MigrationsPending`].
    pub auto_migrate: bool,
    /// Read-only connections in the reader pool.
    pub readers: usize,
    /// Most operations the writer commits in one transaction.
    pub group_commit_max: usize,
    /// Page cache of the writer connection, in MiB; each reader gets a
    /// quarter of it (at least 2 MiB).
    pub cache_mb: usize,
}

impl SqliteOptions {
    pub const DEFAULT_READERS: usize = 4;
    pub const DEFAULT_GROUP_COMMIT_MAX: usize = 256;
    pub const DEFAULT_CACHE_MB: usize = 16;

    /// Defaults for a database at `path`.
    pub fn new(path: impl Into<PathBuf>) -> SqliteOptions {
        SqliteOptions {
            path: path.into(),
            auto_migrate: true,
            readers: Self::DEFAULT_READERS,
            group_commit_max: Self::DEFAULT_GROUP_COMMIT_MAX,
            cache_mb: Self::DEFAULT_CACHE_MB,
        }
    }

    /// Reads `sqlite://relative/path.db` or `sqlite:///absolute/path.db`
    /// (also `sqlite:path.db`). Anything else is refused: another scheme,
    /// query parameters, or an in-memory database (readers and the writer
    /// must share a file).
    pub fn from_url(url: &str) -> Result<SqliteOptions> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| StoreError::Invalid("a SQLite database URL starts with sqlite://".into()))?;
        if rest.is_empty() {
            return Err(StoreError::Invalid("the SQLite database URL names no file".into()));
        }
        if rest.contains('?') || rest.contains('#') {
            return Err(StoreError::Invalid("the SQLite database URL takes no parameters".into()));
        }
        if rest == ":memory:" || rest.starts_with("file:") {
            return Err(StoreError::Invalid("amsync needs a database file, not an in-memory database".into()));
        }
        Ok(SqliteOptions::new(rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn url_forms() {
        assert_eq!(SqliteOptions::from_url("sqlite://amsync.db").unwrap().path, Path::new("amsync.db"));
        assert_eq!(SqliteOptions::from_url("sqlite://data/a.db").unwrap().path, Path::new("data/a.db"));
        assert_eq!(SqliteOptions::from_url("sqlite:///var/lib/a.db").unwrap().path, Path::new("/var/lib/a.db"));
        assert_eq!(SqliteOptions::from_url("sqlite:a.db").unwrap().path, Path::new("a.db"));
        for bad in ["postgres://x/y", "sqlite://", "sqlite://a.db?mode=ro", "sqlite://:memory:", "a.db"] {
            assert!(SqliteOptions::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults() {
        let o = SqliteOptions::new("x.db");
        assert!(o.auto_migrate);
        assert_eq!((o.readers, o.group_commit_max), (4, 256));
    }
}
