//! The SQLite side of the store handle (`crate::handle`): a database is a
//! file ([`SqliteDatabase`]), and an open [`SqliteStore`] is its handle.
//! Everything that touches the file runs on a blocking thread.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{SqliteOptions, SqliteStore};
use crate::error::{Result, StoreError};
use crate::handle::{Database, OpenOptions, SchemaStatus, StoreHandle};
use crate::Store;

/// The SQLite database of a `sqlite://` URL: its file and how to open it.
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    opts: SqliteOptions,
}

impl SqliteDatabase {
    /// From `sqlite://FILE` (see [`SqliteOptions::from_url`]).
    pub fn from_url(url: &str) -> Result<SqliteDatabase> {
        Ok(SqliteDatabase { opts: SqliteOptions::from_url(url)? })
    }

    /// The database at `path`, with the default options.
    pub fn new(path: impl Into<PathBuf>) -> SqliteDatabase {
        SqliteDatabase { opts: SqliteOptions::new(path) }
    }

    pub fn path(&self) -> &Path {
        &self.opts.path
    }
}

/// Runs `f` on a blocking thread (SQLite calls block).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::Database(format!("database task: {e}")))?
}

#[async_trait::async_trait]
impl Database for SqliteDatabase {
    fn name(&self) -> String {
        self.opts.path.display().to_string()
    }

    fn serves_many_nodes(&self) -> bool {
        false
    }

    async fn exists(&self) -> Result<bool> {
        Ok(self.opts.path.exists())
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let path = self.opts.path.clone();
        blocking(move || SqliteStore::schema_status(&path)).await
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        let path = self.opts.path.clone();
        blocking(move || SqliteStore::migrate(&path)).await
    }

    async fn backup_to_file(&self, out: &Path) -> Result<()> {
        let (path, out) = (self.opts.path.clone(), out.to_path_buf());
        blocking(move || SqliteStore::backup_file(&path, &out)).await
    }

    async fn open(&self, opts: OpenOptions) -> Result<Arc<dyn StoreHandle>> {
        let mut sqlite = self.opts.clone();
        sqlite.auto_migrate = opts.auto_migrate;
        if opts.short_lived {
            sqlite.readers = 1;
        }
        let store = blocking(move || SqliteStore::open(sqlite)).await?;
        Ok(store)
    }
}

#[async_trait::async_trait]
impl StoreHandle for SqliteStore {
    fn as_store(self: Arc<Self>) -> Arc<dyn Store> {
        self
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        self.pending_migrations().await
    }

    async fn backup_to(&self, out: &Path) -> Result<()> {
        SqliteStore::backup_to(self, out).await
    }

    async fn close(self: Arc<Self>) {
        SqliteStore::shutdown(&self).await
    }
}
