//! What a node does with its database beyond the capability traits: find it
//! by `database.url`, report and apply its migrations, copy it to a file,
//! open it as a store, tell `/readyz` whether it is usable, and close it
//! once every write is committed.
//!
//! Two traits, because a database is used both closed and open:
//!
//! - [`Database`]: the database a URL names, not opened as a store.
//!   `amsync migrate`, `amsync backup` and `amsync check` work on it without
//!   starting a store (a backup before an upgrade must not migrate; a
//!   status check must not create anything);
//! - [`StoreHandle`]: an open store (every capability trait, through
//!   [`StoreHandle::as_store`]) and what its node does with it besides:
//!   readiness, an online backup, shutdown.
//!
//! [`database`] picks the backend by the URL's scheme: `sqlite://` or
//! `postgres://` (`postgresql://`). The node refuses PostgreSQL at start
//! until it runs end to end on it (the CLI's `node/store.rs`); the store
//! handle of PostgreSQL is `postgres/handle.rs`.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use crate::error::{Result, StoreError};
use crate::postgres::PgDatabase;
use crate::sqlite::SqliteDatabase;
use crate::Store;

/// Where a database's schema stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Highest version applied (0 for an empty database).
    pub current: i64,
    /// Highest version this binary knows.
    pub latest: i64,
    /// Known versions not applied yet.
    pub pending: Vec<i64>,
}

impl SchemaStatus {
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.current <= self.latest
    }

    /// A schema this binary does not know (written by a newer amsync).
    pub fn is_newer_than_known(&self) -> bool {
        self.current > self.latest
    }

    /// Refuses a schema newer than this binary, or one with pending
    /// migrations.
    pub fn check(&self) -> Result<()> {
        if self.is_newer_than_known() {
            return Err(StoreError::SchemaTooNew { found: self.current, known: self.latest });
        }
        if !self.pending.is_empty() {
            return Err(StoreError::MigrationsPending { pending: self.pending.len() as i64 });
        }
        Ok(())
    }

    /// Why the schema keeps a node from being ready (`/readyz`), if it does.
    pub fn not_ready_reason(&self) -> Option<String> {
        (!self.is_current())
            .then(|| format!("schema version {} of {}; pending: {:?}", self.current, self.latest, self.pending))
    }
}

/// How [`Database::open`] opens a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Apply pending migrations at open (`database.auto_migrate`). When
    /// off, a database with pending migrations is refused with
    /// [`StoreError::MigrationsPending`]. A newer schema is always refused.
    pub auto_migrate: bool,
    /// For a command that reads a little and ends (`amsync status`,
    /// `amsync check`): the fewest connections the backend can work with.
    pub short_lived: bool,
}

impl OpenOptions {
    /// A node's store: migrations applied as `auto_migrate` says.
    pub fn node(auto_migrate: bool) -> OpenOptions {
        OpenOptions { auto_migrate, short_lived: false }
    }

    /// A command's look at the database: never migrates, few connections.
    pub fn inspect() -> OpenOptions {
        OpenOptions { auto_migrate: false, short_lived: true }
    }
}

/// A database named by `database.url`, not opened as a store.
#[async_trait::async_trait]
pub trait Database: Send + Sync + std::fmt::Debug {
    /// How messages name the database: a SQLite file's path, a server's
    /// URL without its password.
    fn name(&self) -> String;

    /// Whether nodes on several machines may share it (`amsync worker`
    /// adds nodes only to such a database). A SQLite file is one machine's.
    fn serves_many_nodes(&self) -> bool;

    /// Whether the database exists yet (a SQLite file is made at the first
    /// open or migration).
    async fn exists(&self) -> Result<bool>;

    /// The schema status, changing nothing; a database that does not exist
    /// is empty (every migration pending).
    async fn schema_status(&self) -> Result<SchemaStatus>;

    /// Applies every pending migration (creating the database where the
    /// backend can) and returns the versions applied; refuses a schema
    /// newer than this binary with [`StoreError::SchemaTooNew`].
    async fn migrate(&self) -> Result<Vec<i64>>;

    /// A consistent copy of the whole database in the file `out`, written
    /// beside it and moved into place when complete. Works on a database
    /// that a running node has open, and never migrates it.
    async fn backup_to_file(&self, out: &Path) -> Result<()>;

    /// Opens the database as a store: the schema checked (see
    /// [`OpenOptions::auto_migrate`]) and the backend's connections started.
    async fn open(&self, opts: OpenOptions) -> Result<Arc<dyn StoreHandle>>;
}

/// An open store, as a node holds it.
#[async_trait::async_trait]
pub trait StoreHandle: Store + std::fmt::Debug {
    /// The same store as the capability traits the engine and the web layer
    /// take. (A method rather than an upcast: the workspace's minimum Rust
    /// has no trait upcasting.)
    fn as_store(self: Arc<Self>) -> Arc<dyn Store>;

    /// The backend's own type, for its escape hatches (raw SQL in tests and
    /// benchmarks): `Arc::downcast::<SqliteStore>`.
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;

    /// The schema status of the open database.
    async fn schema_status(&self) -> Result<SchemaStatus>;

    /// `Ok` when the database answers and its migrations are current, else
    /// the reason (`/readyz` shows it).
    async fn readiness(&self) -> std::result::Result<(), String> {
        let status = self.schema_status().await.map_err(|e| e.to_string())?;
        status.not_ready_reason().map_or(Ok(()), Err)
    }

    /// A consistent copy of the database in the file `out` while the store
    /// keeps working.
    async fn backup_to(&self, out: &Path) -> Result<()>;

    /// Shuts the store down: stops taking writes, waits until every write
    /// already sent is committed, and closes the backend's connections.
    async fn close(self: Arc<Self>);
}

/// Whether `url` names a PostgreSQL database.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The database `url` names, its backend chosen by the scheme; a
/// malformed URL or an unknown scheme is refused with
/// [`StoreError::Invalid`].
pub fn database(url: &str) -> Result<Box<dyn Database>> {
    if is_postgres_url(url) {
        return Ok(Box::new(PgDatabase::from_url(url)?));
    }
    Ok(Box::new(SqliteDatabase::from_url(url)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_backend() {
        for url in ["postgres://u@h/db", "postgresql://h/db"] {
            assert!(database(url).unwrap().serves_many_nodes(), "{url}");
        }
        assert!(!database("sqlite://amsync.db").unwrap().serves_many_nodes());
        assert!(matches!(database("mysql://h/db"), Err(StoreError::Invalid(_))));
        assert!(database("sqlite://amsync.db").is_ok());
    }

    #[test]
    fn readiness_names_the_pending_versions() {
        let current = SchemaStatus { current: 10, latest: 10, pending: vec![] };
        assert_eq!(current.not_ready_reason(), None);
        let pending = SchemaStatus { current: 9, latest: 10, pending: vec![4, 10] };
        assert_eq!(pending.not_ready_reason().unwrap(), "schema version 9 of 10; pending: [4, 10]");
        let newer = SchemaStatus { current: 11, latest: 10, pending: vec![] };
        assert!(newer.is_newer_than_known() && newer.not_ready_reason().is_some());
    }
}
