//! The PostgreSQL side of the store handle (`crate::handle`): a database
//! is a server's database named by a `postgres://` URL ([`PgDatabase`]),
//! and an open [`PgStore`] is its handle.
//!
//! - A database that does not exist yet is created by `migrate` (and by
//!   opening with `auto_migrate`), as SQLite makes its file, when the role
//!   may (`CREATEDB`); otherwise the error says to create it (`createdb`).
//!   amsync never creates a role.
//! - A backup is `pg_dump --format=custom` of the database into the file,
//!   written beside it and renamed into place when complete: a consistent
//!   snapshot taken while nodes keep writing (pg_dump reads in one
//!   repeatable-read transaction). It needs `pg_dump` of the server's major
//!   version or newer on `PATH`; it is restored with `pg_restore --dbname
//!   URL FILE` into an empty database. The password, if the URL has one,
//!   goes to `pg_dump` through `PGPASSWORD`, never on its command line.
//! - Closing waits for nothing: every write is its own transaction that
//!   has committed or rolled back when its call returns; the pool is
//!   closed.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use tokio_postgres::NoTls;

use super::codec::from_pg;
use super::{around_password, migrate, redacted, PgBackend, PgOptions, PgStore};
use crate::error::{Result, StoreError};
use crate::handle::{Database, OpenOptions, SchemaStatus, StoreHandle};
use crate::layered::Layered;
use crate::Store;

/// The PostgreSQL database of a `postgres://` URL.
#[derive(Clone)]
pub struct PgDatabase {
    url: String,
    config: tokio_postgres::Config,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgDatabase").field("url", &redacted(&self.url)).finish_non_exhaustive()
    }
}

impl PgDatabase {
    /// From `postgres://user[:password]@host[:port]/database`; a URL the
    /// driver cannot read is refused naming it (without its password).
    pub fn from_url(url: &str) -> Result<PgDatabase> {
        let config = url.parse().map_err(|e| {
            StoreError::Invalid(format!("database.url is not a PostgreSQL URL ({}): {e}", redacted(url)))
        })?;
        Ok(PgDatabase { url: url.to_owned(), config })
    }

    /// One connection outside any pool (a command's short look).
    async fn connect(&self) -> Result<tokio_postgres::Client> {
        let (client, connection) = self.config.connect(NoTls).await.map_err(from_pg)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %super::codec::describe(&e), "a PostgreSQL connection ended");
            }
        });
        Ok(client)
    }

    /// The database's name in the URL.
    fn dbname(&self) -> Result<&str> {
        self.config
            .get_dbname()
            .ok_or_else(|| StoreError::Invalid(format!("database.url names no database: {}", self.name())))
    }

    /// Creates the database, connected to the server's `postgres` database
    /// with the same role.
    async fn create(&self) -> Result<()> {
        let name = self.dbname()?.to_owned();
        let mut admin = self.config.clone();
        admin.dbname("postgres");
        let (client, connection) = admin.connect(NoTls).await.map_err(from_pg)?;
        tokio::spawn(connection);
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match client.batch_execute(&format!("CREATE DATABASE {quoted}")).await {
            Ok(()) => {
                tracing::info!(database = %self.name(), "created the PostgreSQL database");
                Ok(())
            }
            // Another node created it a moment ago.
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
            Err(e) => Err(StoreError::Unavailable(format!(
                "the PostgreSQL database of {} does not exist and cannot be created ({}): create it (createdb) \
                 and start again",
                self.name(),
                super::codec::describe(&e)
            ))),
        }
    }

    /// Runs `pg_dump` of this database into `tmp`.
    async fn pg_dump(&self, tmp: &Path) -> Result<()> {
        let mut cmd = tokio::process::Command::new("pg_dump");
        cmd.arg("--format=custom").arg("--no-owner").arg("--file").arg(tmp);
        cmd.arg("--dbname").arg(url_without_password(&self.url));
        if let Some(password) = self.config.get_password() {
            cmd.env("PGPASSWORD", String::from_utf8_lossy(password).as_ref());
        }
        let out = cmd.kill_on_drop(true).output().await.map_err(|e| {
            StoreError::Database(format!("backup of {}: cannot run pg_dump (is it on PATH?): {e}", self.name()))
        })?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(StoreError::Database(format!(
                "backup of {}: pg_dump failed ({}): {}",
                self.name(),
                out.status,
                amsync_core::escaped(stderr.trim())
            )));
        }
        Ok(())
    }
}

/// `url` with its password taken out (it goes to a child process through
/// the environment instead).
fn url_without_password(url: &str) -> String {
    match around_password(url) {
        Some((head, tail)) => format!("{head}{tail}"),
        None => url.to_string(),
    }
}

#[async_trait::async_trait]
impl Database for PgDatabase {
    fn name(&self) -> String {
        redacted(&self.url)
    }

    fn serves_many_nodes(&self) -> bool {
        true
    }

    async fn exists(&self) -> Result<bool> {
        match self.config.connect(NoTls).await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME) => Ok(false),
            Err(e) => Err(from_pg(e)),
        }
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        if !self.exists().await? {
            return Ok(SchemaStatus {
                current: 0,
                latest: migrate::latest_version(),
                pending: migrate::MIGRATIONS.iter().map(|m| m.version).collect(),
            });
        }
        migrate::status(&self.connect().await?).await
    }

    async fn migrate(&self) -> Result<Vec<i64>> {
        if !self.exists().await? {
            self.create().await?;
        }
        migrate::apply(&mut self.connect().await?).await
    }

    async fn backup_to_file(&self, out: &Path) -> Result<()> {
        let file = out.file_name().ok_or_else(|| StoreError::Invalid(format!("backup file {}", out.display())))?;
        let tmp = out.with_file_name(format!(".{}.partial", file.to_string_lossy()));
        let result = self.pg_dump(&tmp).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
            return result;
        }
        tokio::fs::rename(&tmp, out)
            .await
            .map_err(|e| StoreError::Database(format!("backup: moving {} into place: {e}", out.display())))
    }

    async fn open(&self, opts: OpenOptions) -> Result<Arc<dyn StoreHandle>> {
        if !self.exists().await? {
            if !opts.auto_migrate {
                return Err(StoreError::MigrationsPending { pending: migrate::MIGRATIONS.len() as i64 });
            }
            self.create().await?;
        }
        let mut pg = PgOptions::new(self.url.clone());
        pg.auto_migrate = opts.auto_migrate;
        if opts.short_lived {
            pg.max_connections = 1;
        }
        let store: Arc<PgStore> = Arc::new(Layered::new(PgBackend::open(pg).await?));
        Ok(store)
    }
}

#[async_trait::async_trait]
impl StoreHandle for PgStore {
    fn as_store(self: Arc<Self>) -> Arc<dyn Store> {
        self
    }

    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        self.backend().schema_status().await
    }

    async fn backup_to(&self, out: &Path) -> Result<()> {
        PgDatabase::from_url(self.backend().url())?.backup_to_file(out).await
    }

    async fn close(self: Arc<Self>) {
        self.backend().close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(url_without_password("postgres://u:secret@h:5432/db"), "postgres://u@h:5432/db");
        assert_eq!(url_without_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(url_without_password("postgresql://h/db"), "postgresql://h/db");
    }
}
