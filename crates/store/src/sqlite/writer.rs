//! The single writer: one thread owning the read-write connection, fed by a
//! channel of operations, committing them in groups.
//!
//! The thread blocks for the first operation, takes up to
//! `group_commit_max - 1` more that are already waiting, and runs them in
//! one `BEGIN IMMEDIATE` transaction. An operation that fails is rolled back
//! alone and the others commit. Callers are answered only after COMMIT; if
//! COMMIT fails, every caller of the group gets the error. No transaction is
//! ever held across an await: operations are plain closures run on this
//! thread.
//!
//! Savepoints cost: SQLite copies every page an operation touches into the
//! savepoint's journal, which measured a sixth of the writer's time on the
//! initial load. Operations rarely fail, so a group first runs without them
//! (the fast path). If an operation fails there, the whole transaction is
//! rolled back and the group runs again with a SAVEPOINT per operation (the
//! safe path), where the failing one is rolled back to its savepoint alone.
//! Operations are therefore closures that may run twice; they are
//! deterministic in the database state they start from, and the cache is
//! dropped on every rollback.
//!
//! Emptying the write-ahead log: an operation whose deleted content must
//! not outlive it (an erase) asks for it with
//! [`SqliteTx::empty_wal_after_commit`]. Deleted content is overwritten in
//! the pages written from then on (`secure_delete`), but the WAL still
//! holds the pages as they were before, until a checkpoint overwrites or
//! truncates it. So once such a group has committed, and before its
//! callers are answered, the writer runs `wal_checkpoint(TRUNCATE)`: every
//! frame is copied into the database file and the log cut to zero bytes.
//! The checkpoint waits for readers still in an older snapshot, and for the
//! background checkpointer's pass to end, at most [`WAL_EMPTYING_WAIT`];
//! when one outlasts that, the writer tries again after a later commit, at
//! most once per [`WAL_EMPTYING_RETRY`], so a long reader (a backup) never
//! stalls commits for long.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::cache::Cache;
use crate::error::{Result, StoreError};

/// What an operation runs with, on the writer thread, inside its savepoint:
/// the writer's connection and cache. It implements every `…Tx` trait of
/// [`crate::backend`] (see `tx.rs`).
pub(crate) struct SqliteTx {
    pub conn: Connection,
    pub cache: Cache,
    wal_emptying: WalEmptying,
}

impl SqliteTx {
    pub fn new(conn: Connection) -> SqliteTx {
        SqliteTx { conn, cache: Cache::default(), wal_emptying: WalEmptying::default() }
    }

    /// Asks the writer to empty the write-ahead log once this operation's
    /// group has committed (see the module doc). Forgotten if the
    /// operation is rolled back.
    pub fn empty_wal_after_commit(&mut self) {
        self.wal_emptying.requested = true;
    }
}

/// Longest a WAL-emptying checkpoint waits for readers in an older snapshot.
pub(crate) const WAL_EMPTYING_WAIT: Duration = Duration::from_millis(250);
/// Least time between two tries to empty the WAL while one is owed.
pub(crate) const WAL_EMPTYING_RETRY: Duration = Duration::from_secs(1);

/// Where emptying the write-ahead log stands.
#[derive(Debug, Default)]
struct WalEmptying {
    /// An operation of the group now running asked for it.
    requested: bool,
    /// A committed group asked for it and it has not succeeded yet.
    owed: bool,
    last_try: Option<Instant>,
    /// A failed try was logged as a warning (the retries log at debug
    /// level, so a long backup does not fill the log).
    warned: bool,
}

/// The writer thread's name (Linux shows its first 15 bytes in /proc).
pub const WRITER_THREAD_NAME: &str = "amsync-sqlite-writer";

/// Operations waiting for the writer beyond this make callers wait
/// (back-pressure instead of unbounded memory: a waiting refresh commit
/// holds its member and raw answers, a few KiB).
const CHANNEL_CAPACITY: usize = 1024;

trait PendingOp: Send {
    /// Runs the operation; returns whether it succeeded. May be called again
    /// after a rollback; the last run's result is the answer.
    fn run(&mut self, ctx: &mut SqliteTx) -> bool;
    /// Records a failure that happened outside `run` (a panic).
    fn fail(&mut self, e: StoreError);
    /// Answers the caller once the group's fate is known.
    fn answer(self: Box<Self>, group: std::result::Result<(), &StoreError>);
}

struct Op<T, F> {
    f: F,
    out: Option<Result<T>>,
    /// The answer goes back with the closure itself, so what it owns (a
    /// whole fetched member, for a refresh) is freed by the caller's thread
    /// rather than the writer's.
    tx: oneshot::Sender<(Result<T>, F)>,
}

impl<T, F> PendingOp for Op<T, F>
where
    T: Send,
    F: FnMut(&mut SqliteTx) -> Result<T> + Send,
{
    fn run(&mut self, ctx: &mut SqliteTx) -> bool {
        let r = (self.f)(ctx);
        let ok = r.is_ok();
        self.out = Some(r);
        ok
    }

    fn fail(&mut self, e: StoreError) {
        self.out = Some(Err(e));
    }

    fn answer(self: Box<Self>, group: std::result::Result<(), &StoreError>) {
        let Op { f, out, tx } = *self;
        let reply = match (out, group) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(StoreError::Database(format!("the transaction did not commit: {e}"))),
            (None, Ok(())) => Err(StoreError::Database("the operation did not run".into())),
        };
        // The caller may have gone away (its future dropped); nothing to do then.
        let _ = tx.send((reply, f));
    }
}

/// Counters of the writer, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed.
    pub batches: u64,
    /// Operations answered successfully.
    pub ops: u64,
    /// Operations that failed and were rolled back alone.
    pub failed_ops: u64,
    /// Groups that had to run again with a savepoint per operation.
    pub safe_reruns: u64,
    /// Groups whose BEGIN or COMMIT failed.
    pub failed_batches: u64,
    /// Database pages the writer's connection wrote (to the WAL): how much
    /// each commit really costs, since a page is written whole however
    /// little of it changed.
    pub pages_written: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    ops: AtomicU64,
    failed_ops: AtomicU64,
    safe_reruns: AtomicU64,
    failed_batches: AtomicU64,
    pages_written: AtomicU64,
}

/// The handle async code holds.
pub(crate) struct Writer {
    tx: Mutex<Option<mpsc::Sender<Box<dyn PendingOp>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    counters: Arc<Counters>,
}

impl Writer {
    pub fn start(conn: Connection, group_commit_max: usize) -> Result<Writer> {
        let (tx, rx) = mpsc::channel::<Box<dyn PendingOp>>(CHANNEL_CAPACITY);
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let ctx = SqliteTx::new(conn);
        let max = group_commit_max.max(1);
        let thread = std::thread::Builder::new()
            .name(WRITER_THREAD_NAME.into())
            .spawn(move || writer_loop(ctx, rx, max, &c))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), counters })
    }

    /// Runs `f` on the writer inside a group commit and returns its result
    /// once committed. `f` may run more than once (see the module doc).
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut SqliteTx) -> Result<T> + Send + 'static,
    {
        let sender = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or(StoreError::Closed)?;
        let (tx, rx) = oneshot::channel();
        sender.send(Box::new(Op { f, out: None, tx })).await.map_err(|_| StoreError::Closed)?;
        let (reply, f) = rx.await.map_err(|_| StoreError::Closed)?;
        drop(f);
        reply
    }

    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            batches: c.batches.load(Ordering::Relaxed),
            ops: c.ops.load(Ordering::Relaxed),
            failed_ops: c.failed_ops.load(Ordering::Relaxed),
            safe_reruns: c.safe_reruns.load(Ordering::Relaxed),
            failed_batches: c.failed_batches.load(Ordering::Relaxed),
            pages_written: c.pages_written.load(Ordering::Relaxed),
        }
    }

    /// Closes the channel and waits until the writer has answered every
    /// operation already sent and closed its connection.
    pub fn shutdown_blocking(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        let handle = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            if h.join().is_err() {
                tracing::error!("the SQLite writer thread panicked");
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown_blocking();
    }
}

fn writer_loop(mut ctx: SqliteTx, mut rx: mpsc::Receiver<Box<dyn PendingOp>>, max: usize, counters: &Counters) {
    let mut batch: Vec<Box<dyn PendingOp>> = Vec::with_capacity(max);
    while let Some(op) = rx.blocking_recv() {
        batch.push(op);
        while batch.len() < max {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        run_batch(&mut ctx, &mut batch, counters);
    }
    tracing::debug!("the SQLite writer stopped");
}

/// Adds the pages the group wrote to the counters, before its callers are
/// answered (so a caller that reads the stats sees its own commit).
fn count_pages(ctx: &SqliteTx, counters: &Counters) {
    counters.pages_written.fetch_add(take_pages_written(&ctx.conn), Ordering::Relaxed);
}

/// Pages written by `conn` since the last call (SQLITE_DBSTATUS_CACHE_WRITE,
/// read and reset).
fn take_pages_written(conn: &Connection) -> u64 {
    let (mut current, mut highwater) = (0, 0);
    // SAFETY: the handle is this thread's open connection; sqlite3_db_status
    // only writes the two integers we pass.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
            &mut current,
            &mut highwater,
            1,
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        current.max(0) as u64
    } else {
        0
    }
}

/// After a commit: empties the WAL when a committed group asked for it and
/// it is still owed (see the module doc).
fn empty_wal_if_owed(ctx: &mut SqliteTx) {
    let w = &mut ctx.wal_emptying;
    if std::mem::take(&mut w.requested) {
        w.owed = true;
        w.last_try = None;
        w.warned = false;
    }
    if !w.owed || w.last_try.is_some_and(|t| t.elapsed() < WAL_EMPTYING_RETRY) {
        return;
    }
    w.last_try = Some(Instant::now());
    // (busy, frames in the WAL, frames copied); busy = 1 when a reader
    // kept the checkpoint from finishing.
    let deadline = Instant::now() + WAL_EMPTYING_WAIT;
    let checkpoint = loop {
        let r = ctx.conn.busy_timeout(WAL_EMPTYING_WAIT).and_then(|()| {
            ctx.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
        });
        match r {
            // (1, -1): the checkpoint did not start because the background
            // checkpointer (`checkpoint.rs`) holds the checkpoint lock for
            // its PASSIVE pass; SQLite does not wait for that lock, so we do.
            Ok((1, -1)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            other => break other,
        }
    };
    if let Err(e) = ctx.conn.busy_timeout(super::BUSY_TIMEOUT) {
        tracing::error!(error = %e, "could not restore the writer's busy timeout");
    }
    let why = match checkpoint {
        Ok((0, _)) => {
            w.owed = false;
            tracing::debug!("emptied the write-ahead log after an erase");
            return;
        }
        Ok((_, frames)) => format!("a reader is still in an older snapshot ({frames} frames in the log)"),
        Err(e) => e.to_string(),
    };
    if std::mem::replace(&mut w.warned, true) {
        tracing::debug!(why, "the write-ahead log is still not emptied after an erase; trying again");
    } else {
        tracing::warn!(
            why,
            "the write-ahead log could not be emptied after an erase; trying again after later commits"
        );
    }
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs one operation, turning a panic into its failure.
fn run_one(ctx: &mut SqliteTx, op: &mut Box<dyn PendingOp>) -> bool {
    match catch_unwind(AssertUnwindSafe(|| op.run(ctx))) {
        Ok(ok) => ok,
        Err(_) => {
            tracing::error!("a store operation panicked; it was rolled back");
            op.fail(StoreError::Database("the operation panicked".into()));
            false
        }
    }
}

fn run_batch(ctx: &mut SqliteTx, batch: &mut Vec<Box<dyn PendingOp>>, counters: &Counters) {
    if let Err(e) = exec(&ctx.conn, "BEGIN IMMEDIATE") {
        fail_batch(ctx, batch, counters, e.into());
        return;
    }
    // Fast path: no savepoints.
    let mut failed_at = None;
    for (i, op) in batch.iter_mut().enumerate() {
        if !run_one(ctx, op) {
            failed_at = Some(i);
            break;
        }
    }
    let failed = match failed_at {
        None => 0,
        Some(_) if batch.len() == 1 => {
            // Alone in its group, the transaction is its savepoint.
            let _ = exec(&ctx.conn, "ROLLBACK");
            ctx.cache.invalidate();
            ctx.wal_emptying.requested = false;
            counters.failed_ops.fetch_add(1, Ordering::Relaxed);
            count_pages(ctx, counters);
            for op in batch.drain(..) {
                op.answer(Ok(()));
            }
            return;
        }
        Some(_) => {
            let _ = exec(&ctx.conn, "ROLLBACK");
            ctx.cache.invalidate();
            // The operations run again and ask again.
            ctx.wal_emptying.requested = false;
            counters.safe_reruns.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = exec(&ctx.conn, "BEGIN IMMEDIATE") {
                fail_batch(ctx, batch, counters, e.into());
                return;
            }
            match run_with_savepoints(ctx, batch) {
                Ok(failed) => failed,
                Err(e) => {
                    fail_batch(ctx, batch, counters, e);
                    return;
                }
            }
        }
    };
    if let Err(e) = exec(&ctx.conn, "COMMIT") {
        let _ = exec(&ctx.conn, "ROLLBACK");
        fail_batch(ctx, batch, counters, e.into());
        return;
    }
    counters.batches.fetch_add(1, Ordering::Relaxed);
    counters.failed_ops.fetch_add(failed, Ordering::Relaxed);
    counters.ops.fetch_add(batch.len() as u64 - failed, Ordering::Relaxed);
    count_pages(ctx, counters);
    // Before the answers: an erase returns once its rows are out of the files.
    empty_wal_if_owed(ctx);
    for op in batch.drain(..) {
        op.answer(Ok(()));
    }
}

/// The safe path: a SAVEPOINT per operation, a failing one rolled back to
/// it alone. Returns how many failed; an error when SQLite aborted the whole
/// transaction (disk full, I/O error), taking the others' writes with it.
fn run_with_savepoints(ctx: &mut SqliteTx, batch: &mut [Box<dyn PendingOp>]) -> Result<u64> {
    let mut failed = 0u64;
    for op in batch.iter_mut() {
        if let Err(e) = exec(&ctx.conn, "SAVEPOINT op") {
            op.fail(e.into());
            failed += 1;
            continue;
        }
        let ok = run_one(ctx, op)
            && match exec(&ctx.conn, "RELEASE op") {
                Ok(()) => true,
                Err(e) => {
                    op.fail(e.into());
                    false
                }
            };
        if ok {
            continue;
        }
        failed += 1;
        // The operation's changes, and any cache entry it added, go away.
        // A wish it made to empty the WAL stays (it cannot be told from
        // another operation's): one checkpoint too many is harmless.
        ctx.cache.invalidate();
        let rolled_back = exec(&ctx.conn, "ROLLBACK TO op").and_then(|_| exec(&ctx.conn, "RELEASE op"));
        if rolled_back.is_err() || ctx.conn.is_autocommit() {
            return Err(StoreError::Database("the transaction was aborted by an error".into()));
        }
    }
    Ok(failed)
}

fn fail_batch(ctx: &mut SqliteTx, batch: &mut Vec<Box<dyn PendingOp>>, counters: &Counters, e: StoreError) {
    tracing::error!(error = %e, ops = batch.len(), "a group commit failed");
    if !ctx.conn.is_autocommit() {
        let _ = exec(&ctx.conn, "ROLLBACK");
    }
    ctx.cache.invalidate();
    ctx.wal_emptying.requested = false;
    counters.failed_batches.fetch_add(1, Ordering::Relaxed);
    count_pages(ctx, counters);
    for op in batch.drain(..) {
        op.answer(Err(&e));
    }
}
