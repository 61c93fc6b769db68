//! Embedded schema migrations of the PostgreSQL store, tracked in
//! `schema_migrations` as SQLite's are.
//!
//! PostgreSQL's versions are its own: version 1 is the SQLite schema of
//! migrations 1 to 12 with PostgreSQL's types (`migrations/0001_initial.sql`
//! beside this file); a later change to the schema adds a migration to both
//! backends, each numbered in its own list.
//!
//! Migrations are applied in one transaction that first takes a
//! transaction-level advisory lock, so nodes starting at once serialize and
//! the later ones find nothing left to do (PostgreSQL's DDL is
//! transactional: a failed migration leaves nothing behind). A database
//! carrying a version this binary does not know is refused
//! ([`StoreError::SchemaTooNew`]).

use tokio_postgres::{Client, GenericClient};

use super::codec::{describe, from_pg};
use crate::error::{Result, StoreError};

pub use crate::handle::SchemaStatus;

/// One embedded migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sql: &'static str,
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] =
    &[Migration { version: 1, name: "initial", sql: include_str!("migrations/0001_initial.sql") }];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The advisory lock key migrations take ("amsync-m" in ASCII).
const MIGRATION_LOCK: i64 = 0x616d_7379_6e63_2d6d;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    bigint PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL
)";

async fn applied_versions<C: GenericClient>(c: &C) -> Result<Vec<i64>> {
    let exists: bool = c
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(from_pg)?
        .try_get(0)
        .map_err(from_pg)?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = c.query("SELECT version FROM schema_migrations ORDER BY version", &[]).await.map_err(from_pg)?;
    rows.iter().map(|r| r.try_get::<_, i64>(0).map_err(from_pg)).collect()
}

/// Reads the schema status without changing anything.
pub async fn status<C: GenericClient>(c: &C) -> Result<SchemaStatus> {
    let applied = applied_versions(c).await?;
    let current = applied.iter().copied().max().unwrap_or(0);
    let pending = MIGRATIONS.iter().map(|m| m.version).filter(|v| !applied.contains(v)).collect();
    Ok(SchemaStatus { current, latest: latest_version(), pending })
}

/// Applies every pending migration; returns the versions applied.
pub async fn apply(c: &mut Client) -> Result<Vec<i64>> {
    let tx = c.transaction().await.map_err(from_pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(from_pg)?;
    tx.batch_execute(CREATE_TABLE).await.map_err(from_pg)?;
    let st = status(&tx).await?;
    if st.is_newer_than_known() {
        return Err(StoreError::SchemaTooNew { found: st.current, known: st.latest });
    }
    let mut done = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| st.pending.contains(&m.version)) {
        tx.batch_execute(m.sql)
            .await
            .map_err(|e| StoreError::Migration { version: m.version, reason: describe(&e) })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())",
            &[&m.version, &m.name],
        )
        .await
        .map_err(from_pg)?;
        tracing::info!(version = m.version, name = m.name, "applied a database migration");
        done.push(m.version);
    }
    tx.commit().await.map_err(from_pg)?;
    Ok(done)
}
