//! Copies the WAL back into the database file from a thread of its own, so
//! the writer spends its time committing rather than checkpointing.
//!
//! SQLite checkpoints in the committing thread by default, which made a
//! third of the writer's time on the initial load. Here a second
//! connection runs PASSIVE checkpoints (they never block the writer) every
//! few milliseconds while the WAL grows. The writer keeps its own automatic
//! checkpoint at a high threshold: when it triggers, nearly every frame is
//! already copied, so it is quick, and it is what lets the WAL start over
//! from its beginning (a background checkpoint racing continuous commits
//! rarely catches up exactly).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};

/// Pause between checkpoints that found work, and when idle.
const BUSY_PAUSE: Duration = Duration::from_millis(20);
const IDLE_PAUSE: Duration = Duration::from_millis(250);

/// WAL frames after which the writer checkpoints itself (pages of 4 KiB).
pub(crate) const WRITER_AUTOCHECKPOINT: u32 = 8192;

pub(crate) struct Checkpointer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> Result<Checkpointer> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        // Never wait: a PASSIVE checkpoint that meets a lock just does less.
        conn.busy_timeout(Duration::ZERO)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0;")?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("amsync-sqlite-ckpt".into())
            .spawn(move || run(conn, &s))
            .map_err(|e| StoreError::Database(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop, thread: Some(thread) })
    }
}

fn run(conn: Connection, stop: &(Mutex<bool>, Condvar)) {
    let (lock, cv) = stop;
    let mut pause = IDLE_PAUSE;
    loop {
        {
            let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let (guard, _) =
                cv.wait_timeout_while(guard, pause, |stopped| !*stopped).unwrap_or_else(|p| p.into_inner());
            if *guard {
                break;
            }
        }
        // (busy, frames in the WAL, frames copied)
        let r = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        pause = match r {
            Ok((_, log, copied)) if log > 0 && copied < log => BUSY_PAUSE,
            Ok((_, log, _)) if log > 0 => BUSY_PAUSE.max(Duration::from_millis(50)),
            Ok(_) => IDLE_PAUSE,
            Err(e) => {
                tracing::warn!(error = %e, "a background WAL checkpoint failed");
                IDLE_PAUSE
            }
        };
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
