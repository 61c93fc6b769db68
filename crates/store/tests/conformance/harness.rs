//! What the suite needs from a backend beyond the store traits: reopening
//! (durability), counting rows, the database's change counter, and raw SQL
//! for setting up states no trait method makes (an admin's disable).
//!
//! Each backend implements [`Backend`] and runs the same tests (PostgreSQL's
//! is `harness_postgres.rs`).

use std::sync::Arc;

use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::Store;

#[async_trait::async_trait]
pub trait Backend: Send + Sync {
    /// Closes the store (waiting for its writes) and opens it again.
    async fn reopen(&mut self) -> Arc<dyn Store>;
    /// A single integer from a SQL query.
    async fn scalar(&self, sql: &str) -> i64;
    /// Runs SQL that changes data.
    async fn exec(&self, sql: &str);
    /// Rows written, inserted or deleted since the store opened.
    async fn total_changes(&self) -> u64;
    /// `t` as a literal of a time column.
    fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String;
    /// A time column as unix milliseconds.
    fn ms(&self, column: &str) -> String;
}

/// A store under test and its backend.
pub struct TestDb {
    store: Option<Arc<dyn Store>>,
    backend: Box<dyn Backend>,
}

/// Tables a refresh may write, in a fixed order for comparisons.
pub const MEMBER_TABLES: [&str; 8] = [
    "members",
    "memberships",
    "member_ams_groups",
    "member_payloads",
    "member_history",
    "change_feed",
    "communities",
    "security_groups",
];

impl TestDb {
    pub fn new(store: Arc<dyn Store>, backend: Box<dyn Backend>) -> TestDb {
        TestDb { store: Some(store), backend }
    }

    /// `t` as a literal of a time column (SQLite keeps unix milliseconds,
    /// PostgreSQL timestamptz).
    pub fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        self.backend.time(t)
    }

    /// A time column as unix milliseconds, for sums and comparisons.
    pub fn ms(&self, column: &str) -> String {
        self.backend.ms(column)
    }

    /// The store under test.
    pub fn s(&self) -> &dyn Store {
        self.store.as_deref().expect("the store is open")
    }

    /// A handle to share with spawned tasks.
    pub fn s_arc(&self) -> Arc<dyn Store> {
        self.store.clone().expect("the store is open")
    }

    pub async fn reopen(&mut self) {
        // Our handle goes first so the backend holds the last one.
        self.store = None;
        self.store = Some(self.backend.reopen().await);
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        self.backend.scalar(sql).await
    }

    pub async fn exec(&self, sql: &str) {
        self.backend.exec(sql).await
    }

    pub async fn total_changes(&self) -> u64 {
        self.backend.total_changes().await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    pub async fn counts(&self, tables: &[&str]) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for t in tables {
            out.push((t.to_string(), self.count(t).await));
        }
        out
    }
}

struct SqliteBackend {
    dir: tempfile::TempDir,
    store: Option<Arc<SqliteStore>>,
}

impl SqliteBackend {
    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("amsync.db")
    }

    fn store(&self) -> &SqliteStore {
        self.store.as_ref().expect("the store is open")
    }
}

#[async_trait::async_trait]
impl Backend for SqliteBackend {
    async fn reopen(&mut self) -> Arc<dyn Store> {
        if let Some(s) = self.store.take() {
            s.shutdown().await;
            assert_eq!(Arc::strong_count(&s), 1, "the test holds no other handle");
        }
        let s = SqliteStore::open(SqliteOptions::new(self.path())).expect("reopen");
        self.store = Some(s.clone());
        s
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        self.store().read(move |c| Ok(c.query_row(&sql, [], |r| r.get(0))?)).await.expect("scalar query")
    }

    async fn exec(&self, sql: &str) {
        let sql = sql.to_owned();
        self.store().write(move |c| Ok(c.execute_batch(&sql)?)).await.expect("exec")
    }

    async fn total_changes(&self) -> u64 {
        self.store().write(|c| Ok(c.total_changes())).await.expect("total_changes")
    }

    fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        t.timestamp_millis().to_string()
    }

    fn ms(&self, column: &str) -> String {
        column.to_string()
    }
}

/// A fresh SQLite store in its own temporary directory.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("amsync.db");
    let store = SqliteStore::open(SqliteOptions::new(&path)).expect("open");
    let backend = SqliteBackend { dir, store: Some(store.clone()) };
    TestDb { store: Some(store), backend: Box::new(backend) }
}
