//! The PostgreSQL backend of the store's seam (see [`crate::backend`]):
//! for deployments of several nodes sharing one database.
//!
//! **State (issue 14, part 2 item 1).** [`PgBackend`] implements the whole
//! [`crate::backend::Backend`]: [`PgTx`] every `…Tx` trait (so every op of
//! `ops/` runs on it; nothing here decides what an op decides, which
//! `seam_tests` checks), and every read, each in the file of its aspect
//! named as in `sqlite/`. [`PgStore`] passes the store conformance suite
//! but for its 100,000-key enqueue (one round trip per key until the
//! enqueue is a bulk operation), and [`PgDatabase`] the store handle's
//! (`handle.rs`: status, migrate, backup by `pg_dump`, open, close).
//! `database(url)` opens `postgres://`; the node still refuses it at start
//! (the CLI) until it runs end to end on it (the queue across nodes, one
//! scheduler, TLS to the server: issue 14, part 2).
//!
//! **Architecture:**
//! - a pool of connections (deadpool-postgres; tokio-postgres is the
//!   driver, picked by measurement: ARCHITECTURE.md, store);
//! - [`PgBackend::write`] runs an op of `ops/` in one `SERIALIZABLE` transaction on
//!   one pooled connection. Many writers commit at once (no single writer
//!   as in SQLite), so each op's reads and writes must be serializable for
//!   the ops' decisions (the fence check, the thresholds' sums, one
//!   waiting entry per key) to hold as they do on SQLite's one writer. A
//!   serialization failure or a deadlock rolls back and runs the op again
//!   from the start, a bounded number of times ([`WRITE_ATTEMPTS`]): an op
//!   is deterministic in the state it starts from (see
//!   [`crate::backend::WriteOp`]);
//! - the change feed's sequence is commit order (`feed.rs`);
//! - the queue's claim takes entries `FOR UPDATE SKIP LOCKED`, and every
//!   later step of a claimed entry names it by `(id, fence)` (`queue.rs`);
//! - no cache outlives a transaction: another node may change settings
//!   between two of ours (`tx.rs`);
//! - migrations are embedded and applied at open under an advisory lock,
//!   so nodes starting together apply them once (`migrate.rs`).
//!
//! Connections are plain TCP (NoTls) for now: TLS to the server
//! (tokio-postgres-rustls on ring) comes with `database.url` being
//! accepted.

mod access;
mod admin_status;
mod approvals;
mod audit;
mod auth;
mod codec;
mod communities;
mod data_protection;
mod erase;
mod events;
mod export;
mod feed;
mod groups;
mod handle;
mod held;
mod listing;
mod members;
pub mod migrate;
mod queue;
mod retention;
mod runs;
mod safety;
mod settings;
mod sync_state;
#[cfg(test)]
mod tests;
mod tx;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

pub use handle::PgDatabase;
pub use migrate::SchemaStatus;
pub(crate) use tx::PgTx;

use crate::backend::{Backend, WriteOp};
use crate::error::{Result, StoreError};
use crate::layered::Layered;

/// How many times [`PgBackend::write`] runs an op whose transaction hit a
/// serialization failure or a deadlock before it reports the error. Eight
/// writers creating members with neighbouring keys conflicted more than ten
/// times in a row (the predicate locks of a small index cover pages, so a
/// commit that looked for a key and one that inserted a neighbour
/// conflict); SSI guarantees that a transaction run again does not fail
/// again on a conflict with one that committed, so the retries end.
pub const WRITE_ATTEMPTS: u32 = 40;

/// The pause before running a conflicted op again: growing with the
/// attempt up to 64 ms, jittered so that the transactions that conflicted
/// do not meet again in step.
fn backoff(attempt: u32) -> Duration {
    let base = 1u64 << attempt.min(6);
    let jitter = u64::from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos(),
    ) % (base + 1);
    Duration::from_millis(base / 2 + jitter)
}

impl Backend for PgBackend {
    /// See [`PgBackend::write`].
    async fn write<O: WriteOp>(&self, op: O) -> Result<O::Output> {
        PgBackend::write(self, op).await
    }
}

/// The PostgreSQL store: every capability over the PostgreSQL backend.
pub type PgStore = Layered<PgBackend>;

impl PgStore {
    /// Opens the store (see [`PgBackend::open`]).
    pub async fn open(opts: PgOptions) -> Result<std::sync::Arc<PgStore>> {
        Ok(std::sync::Arc::new(Layered::new(PgBackend::open(opts).await?)))
    }
}

/// How a PostgreSQL store is opened.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user[:password]@host[:port]/database[?…]`.
    pub url: String,
    /// Connections the pool keeps at most.
    pub max_connections: usize,
    /// Apply pending migrations at open.
    pub auto_migrate: bool,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions { url: url.into(), max_connections: 16, auto_migrate: true }
    }
}

/// The PostgreSQL backend: a pool of connections, each op of `ops/` run
/// over a [`PgTx`] in its own serializable transaction.
pub struct PgBackend {
    pool: Pool,
    /// The URL as configured (with its password: a backup connects again).
    url: String,
    name: String,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend").field("database", &self.name).finish_non_exhaustive()
    }
}

/// `url` without its password, for messages and logs.
pub fn redacted(url: &str) -> String {
    match around_password(url) {
        Some((head, tail)) => format!("{head}:***{tail}"),
        None => url.to_string(),
    }
}

/// `url` cut around the password of its user info: up to the user name,
/// and from the `@` on (`None` when it has no password).
pub(crate) fn around_password(url: &str) -> Option<(&str, &str)> {
    let s = url.find("://")?;
    let at = url.rfind('@').filter(|&at| at > s)?;
    let (user, _) = url[s + 3..at].split_once(':')?;
    Some((&url[..s + 3 + user.len()], &url[at..]))
}

fn pool(url: &str, max: usize) -> Result<Pool> {
    let config: tokio_postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Invalid(format!("database.url is not a PostgreSQL URL ({}): {e}", redacted(url))))?;
    // Fast recycling: a connection that went bad fails its next statement,
    // which the caller sees and the pool then drops (`is_closed`).
    let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(max.max(1))
        .wait_timeout(Some(Duration::from_secs(30)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Database(format!("connection pool: {e}")))
}

impl PgBackend {
    /// Connects, checks the schema (applying pending migrations when
    /// `auto_migrate`), and returns the backend.
    pub async fn open(opts: PgOptions) -> Result<PgBackend> {
        let backend = PgBackend {
            pool: pool(&opts.url, opts.max_connections)?,
            url: opts.url.clone(),
            name: redacted(&opts.url),
        };
        let mut client = backend.client().await?;
        let status = migrate::status(&**client).await?;
        if status.is_newer_than_known() {
            return Err(StoreError::SchemaTooNew { found: status.current, known: status.latest });
        }
        if !status.pending.is_empty() {
            if !opts.auto_migrate {
                return Err(StoreError::MigrationsPending { pending: status.pending.len() as i64 });
            }
            migrate::apply(&mut client).await?;
        }
        tracing::info!(database = %backend.name, "opened the PostgreSQL store");
        Ok(backend)
    }

    /// The database as messages name it (the URL without its password).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL as configured, password included (never for messages).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The schema status of the open database.
    pub async fn schema_status(&self) -> Result<SchemaStatus> {
        migrate::status(&**self.client().await?).await
    }

    /// A read in one snapshot; end it with [`PgTx::commit`].
    pub(crate) async fn snapshot(&self) -> Result<PgTx> {
        PgTx::snapshot(self.client().await?).await
    }

    /// A read of one statement (its own snapshot).
    pub(crate) async fn autocommit(&self) -> Result<PgTx> {
        Ok(PgTx::autocommit(self.client().await?))
    }

    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool.get().await.map_err(|e| StoreError::Database(format!("PostgreSQL connection ({}): {e}", self.name)))
    }

    /// Runs `op` in one serializable transaction; runs it again from the
    /// start after a serialization failure or a deadlock, up to
    /// [`WRITE_ATTEMPTS`] times in all, with a short growing pause.
    pub async fn write<O: WriteOp>(&self, mut op: O) -> Result<O::Output> {
        let mut attempt = 1;
        loop {
            let mut tx = PgTx::begin(self.client().await?).await?;
            let result = match op.run(&mut tx).await {
                Ok(v) => tx.commit().await.map(|()| v),
                Err(e) => {
                    tx.rollback().await;
                    Err(e)
                }
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if tx.must_retry() && attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(attempt, error = %e, "a PostgreSQL transaction conflicted; running it again");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes the pool: connections in use close as they come back.
    pub fn close(&self) {
        self.pool.close();
    }
}
