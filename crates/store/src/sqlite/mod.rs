//! The SQLite store: embedded, one file, WAL.
//!
//! It is the SQLite backend of the store's seam (see [`crate::backend`]):
//! [`SqliteBackend`] implements [`Backend`] (an op of `ops/` runs on the
//! writer over [`SqliteTx`], which implements every `…Tx` trait, one impl
//! beside the SQL of each aspect) and the `…Reads` traits; [`SqliteStore`]
//! is `Layered<SqliteBackend>`, with the SQLite-only methods (open,
//! migrations, backup, shutdown, writer statistics, raw SQL for tests).
//!
//! **Architecture:**
//! - one writer thread owns the only read-write connection and group-commits
//!   operations (see `writer.rs`); every write of the store goes through it,
//!   so commit order is one total order (the change feed relies on it);
//! - a small pool of read-only connections (`query_only`) serves reads from
//!   `spawn_blocking`, each read in its own snapshot transaction;
//! - a checkpoint thread copies the WAL into the database file beside the
//!   writer (see `checkpoint.rs`);
//! - migrations are embedded and applied at open (see [`migrate`]).
//!
//! Durability: WAL with `synchronous = NORMAL`, which survives a killed
//! process (kill -9); a power loss may lose the last commits, never
//! consistency.
//!
//! **Where the time goes** (measured with `examples/commit_bench.rs`; the
//! writer is the one serial resource, so its CPU per commit is the budget):
//! a first load is bounded by the pages each transaction writes to the WAL,
//! so the schema avoids b-trees that take inserts all over (no index of
//! memberships by community, phones/social/demographics as JSON on the
//! member row, the three raw answers in one row); an unchanged refresh is
//! two index lookups and one small upsert. Work that does not need the
//! database (JSON of the row, search text) is done by the caller before the
//! commit reaches the writer, and what a commit owns is freed by the caller.

mod access;
mod admin_status;
mod approvals;
mod audit;
mod auth;
mod cache;
mod checkpoint;
pub(crate) mod codec;
mod communities;
mod data_protection;
mod erase;
mod events;
mod export;
mod groups;
mod handle;
mod held;
mod listing;
pub mod member_data;
mod member_io;
mod members;
pub mod migrate;
mod options;
mod queue;
mod retention;
mod runs;
mod safety;
mod settings;
mod sync_state;
mod tx;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

pub use handle::SqliteDatabase;
pub use migrate::SchemaStatus;
pub use options::SqliteOptions;
pub use writer::{WriterStats, WRITER_THREAD_NAME};

use crate::backend::{Backend, WriteOp};
use crate::error::{Result, StoreError};
use crate::layered::Layered;
pub(crate) use writer::SqliteTx;
use writer::Writer;

/// How SQLite would run `sql` (its parameters bound to NULL), one step per
/// `; `: for tests that a statement uses the index it was written for.
#[cfg(test)]
pub(crate) fn query_plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
    let rows = stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap();
    rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
}

/// How long a connection waits for another process's lock (a CLI `refresh`
/// beside `serve`, a backup) before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per writer connection; the store uses fewer
/// than this, so every statement stays prepared.
const WRITER_STATEMENT_CACHE: usize = 256;
const READER_STATEMENT_CACHE: usize = 64;

/// The SQLite backend: one writer thread group-committing writes (each
/// [`WriteOp`] runs over a [`SqliteTx`]), a pool of read-only connections,
/// the checkpointer, migrations and backups.
pub struct SqliteBackend {
    path: PathBuf,
    writer: Writer,
    readers: r2d2::Pool<SqliteConnectionManager>,
    _checkpointer: checkpoint::Checkpointer,
}

/// The SQLite store: every capability over the SQLite backend.
pub type SqliteStore = Layered<SqliteBackend>;

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Backend for SqliteBackend {
    /// Runs `op` on the writer, inside a group commit. [`SqliteTx`]'s
    /// operations are synchronous (rusqlite) behind `async fn`s, so the
    /// op's future completes at its first poll: `block_on` only drives it
    /// (the unit tests of `tx.rs` check that it never waits, and what it
    /// costs).
    async fn write<O: WriteOp>(&self, mut op: O) -> Result<O::Output> {
        self.writer.run(move |tx: &mut SqliteTx| tx::run_op(&mut op, tx)).await
    }
}

/// Process-wide SQLite settings, before the first connection opens.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Memory statistics take a global mutex on every allocation; amsync
        // reads none of them. Refused (harmlessly) if SQLite is already in
        // use in this process.
        // SAFETY: sqlite3_config with MEMSTATUS takes one int argument and
        // only changes global configuration before initialization.
        let rc = unsafe { rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite was already initialized; memory statistics stay on");
        }
    });
}

fn open_writer_connection(path: &Path, cache_mb: usize) -> Result<Connection> {
    configure_sqlite();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // foreign_keys off: the schema declares none (see the first migration).
    // secure_delete on: content a delete or an update frees is overwritten
    // with zeros (in the page, and whole freed pages), so an erased member's
    // data, or a value a refresh replaced, does not linger in free space,
    // in the file or in a backup of it (see `erase.rs` for the WAL).
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA secure_delete = ON;
         PRAGMA foreign_keys = OFF;
         PRAGMA temp_store = MEMORY;
         PRAGMA journal_size_limit = 67108864;
         PRAGMA wal_autocheckpoint = {};
         PRAGMA cache_size = -{};",
        checkpoint::WRITER_AUTOCHECKPOINT,
        cache_mb.max(2) * 1024
    ))?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database(format!("the database could not be put in WAL mode (it is {mode})")));
    }
    conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
    Ok(conn)
}

fn reader_pool(path: &Path, readers: usize, cache_mb: usize) -> Result<r2d2::Pool<SqliteConnectionManager>> {
    configure_sqlite();
    let cache_kib = (cache_mb / 4).max(2) * 1024;
    let manager = SqliteConnectionManager::file(path)
        .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_init(move |c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.execute_batch(&format!("PRAGMA query_only = ON; PRAGMA cache_size = -{cache_kib};"))?;
            c.set_prepared_statement_cache_capacity(READER_STATEMENT_CACHE);
            Ok(())
        });
    // Connections open on first use; idle ones are closed after a while.
    Ok(r2d2::Pool::builder()
        .max_size(readers.max(1) as u32)
        .min_idle(Some(0))
        .idle_timeout(Some(Duration::from_secs(300)))
        .connection_timeout(Duration::from_secs(30))
        .build(manager)?)
}

impl SqliteStore {
    /// Opens (creating if needed) the database, checks its schema (applying
    /// pending migrations when `auto_migrate`), and starts the writer.
    pub fn open(opts: SqliteOptions) -> Result<Arc<SqliteStore>> {
        let mut conn = open_writer_connection(&opts.path, opts.cache_mb)?;
        let status = migrate::status(&conn)?;
        if status.current > status.latest {
            return Err(StoreError::SchemaTooNew { found: status.current, known: status.latest });
        }
        if !status.pending.is_empty() {
            if !opts.auto_migrate {
                return Err(StoreError::MigrationsPending { pending: status.pending.len() as i64 });
            }
            migrate::apply(&mut conn)?;
        }
        let readers = reader_pool(&opts.path, opts.readers, opts.cache_mb)?;
        let checkpointer = checkpoint::Checkpointer::start(&opts.path)?;
        let writer = Writer::start(conn, opts.group_commit_max)?;
        tracing::info!(path = %opts.path.display(), "opened the SQLite store");
        let backend = SqliteBackend { path: opts.path, writer, readers, _checkpointer: checkpointer };
        Ok(Arc::new(Layered::new(backend)))
    }

    /// Applies pending migrations to the database at `path` (creating it if
    /// needed); returns the versions applied. For `amsync migrate`.
    pub fn migrate(path: &Path) -> Result<Vec<i64>> {
        let mut conn = open_writer_connection(path, 2)?;
        migrate::apply(&mut conn)
    }

    /// The schema status of the database at `path`, without changing it. A
    /// missing file is an empty database.
    pub fn schema_status(path: &Path) -> Result<SchemaStatus> {
        if !path.exists() {
            return migrate::status(&Connection::open_in_memory()?);
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        migrate::status(&conn)
    }

    /// The schema status of this open store (for `/readyz`: reachable, and
    /// migrations current).
    pub async fn pending_migrations(&self) -> Result<SchemaStatus> {
        self.backend().read_op(migrate::status).await
    }

    /// Writes a consistent copy of the database to `out` with SQLite's
    /// online backup API, while the store keeps working. The copy is written
    /// beside `out` and renamed into place when complete.
    pub async fn backup_to(&self, out: &Path) -> Result<()> {
        let src = self.path().to_path_buf();
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || SqliteStore::backup_file(&src, &out))
            .await
            .map_err(|e| StoreError::Database(format!("backup task: {e}")))?
    }

    /// [`SqliteStore::backup_to`] for a database no store has open here
    /// (`amsync backup`).
    pub fn backup_file(db: &Path, out: &Path) -> Result<()> {
        let src = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        src.busy_timeout(BUSY_TIMEOUT)?;
        let partial = out.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        {
            let mut dst = Connection::open(&partial)?;
            let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
            // All pages in one step: one consistent snapshot of the source,
            // which WAL lets the writer keep committing beside.
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        std::fs::rename(&partial, out)
            .map_err(|e| StoreError::Database(format!("cannot move the backup into place: {e}")))?;
        tracing::info!(out = %out.display(), "backed up the database");
        Ok(())
    }

    /// Stops taking writes, lets the writer answer and commit every
    /// operation already sent, and closes its connection.
    pub async fn shutdown(self: &Arc<Self>) {
        let me = self.clone();
        let _ = tokio::task::spawn_blocking(move || me.backend().writer.shutdown_blocking()).await;
    }

    /// Counters of the writer (group commits, operations).
    pub fn writer_stats(&self) -> WriterStats {
        self.backend().writer.stats()
    }

    pub fn path(&self) -> &Path {
        &self.backend().path
    }

    /// Runs `f` on the writer connection, inside a group commit: an error
    /// rolls back `f`'s writes alone. `f` may run twice (when another
    /// operation of its group fails, the group runs again). An escape hatch
    /// for maintenance and tests; the store's cached settings are reloaded
    /// after it and, when `f` wrote anything, cached access policies are
    /// marked stale, so `f` may change anything.
    pub async fn write<T, F>(&self, mut f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T> + Send + 'static,
    {
        self.backend()
            .write_op(move |tx| {
                let before = tx.conn.total_changes();
                let r = f(&tx.conn);
                tx.cache.invalidate();
                let v = r?;
                if tx.conn.total_changes() != before {
                    access::bump_access_version(&tx.conn)?;
                }
                Ok(v)
            })
            .await
    }

    /// Runs `f` on a read-only connection, in one snapshot.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.backend().read_op(f).await
    }
}

impl SqliteBackend {
    /// Runs `f` on the writer, inside a group commit (see `writer.rs`): for
    /// the escape hatch [`SqliteStore::write`] only; the store's own writes
    /// are ops ([`Backend::write`]).
    pub(crate) async fn write_op<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut SqliteTx) -> Result<T> + Send + 'static,
    {
        self.writer.run(f).await
    }

    /// A read of a few indexed rows (tens of microseconds) on the calling
    /// task when a reader connection is free at once, else as [`read_op`].
    /// The hand-off to a blocking thread and back costs more than such a
    /// read, and under load it is what the slowest answers wait for (the
    /// access decision API answers this way).
    ///
    /// [`read_op`]: SqliteBackend::read_op
    pub(crate) async fn quick_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        match self.readers.try_get() {
            Some(mut conn) => {
                let tx = conn.transaction()?;
                f(&tx)
            }
            None => self.read_op(f).await,
        }
    }

    pub(crate) async fn read_op<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            // A deferred transaction: every query of `f` sees one snapshot.
            let tx = conn.transaction()?;
            f(&tx)
        })
        .await
        .map_err(|e| StoreError::Database(format!("reader task: {e}")))?
    }
}
