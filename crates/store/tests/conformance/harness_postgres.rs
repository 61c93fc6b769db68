//! The suite's PostgreSQL backend: each test gets a database of its own on
//! the machine's PostgreSQL (127.0.0.1:5432, user postgres, trust),
//! `amsync_test_<pid>_<n>`, dropped when the test ends. A server that
//! cannot be reached fails the test, saying how to start it: never a skip.
//!
//! The database's change counter is a test-only row trigger on every table
//! of the schema taking a number from a sequence (PostgreSQL's own
//! statistics are flushed lazily, so they cannot say "nothing was written"
//! right after a write).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use amsync_store::postgres::{PgOptions, PgStore};
use amsync_store::Store;
use tokio_postgres::NoTls;

use crate::harness::{Backend, TestDb};

pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

fn unreachable(e: impl std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL at 127.0.0.1:5432 (user postgres) is needed by the store conformance suite and cannot be \
         reached ({e}); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    )
}

async fn connect(db: &str) -> tokio_postgres::Client {
    let (client, conn) =
        tokio_postgres::connect(&format!("{SERVER}/{db}"), NoTls).await.unwrap_or_else(|e| unreachable(e));
    tokio::spawn(conn);
    client
}

/// Counts every row written, inserted or deleted, in every table.
const CHANGE_COUNTER: &str = "
CREATE SEQUENCE test_changes;
CREATE FUNCTION test_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM nextval('test_changes'); RETURN NULL; END $$;
DO $$ DECLARE t text; BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' LOOP
    EXECUTE format('CREATE TRIGGER test_count AFTER INSERT OR UPDATE OR DELETE ON %I
                    FOR EACH ROW EXECUTE FUNCTION test_count_change()', t);
  END LOOP;
END $$;";

struct PgBackend {
    name: String,
    client: tokio_postgres::Client,
    store: Option<Arc<PgStore>>,
}

impl PgBackend {
    fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }
}

#[async_trait::async_trait]
impl Backend for PgBackend {
    async fn reopen(&mut self) -> Arc<dyn Store> {
        if let Some(s) = self.store.take() {
            s.backend().close();
        }
        let s = PgStore::open(PgOptions::new(self.url())).await.expect("reopen");
        self.store = Some(s.clone());
        s
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let sql = format!("SELECT (x)::bigint FROM ({sql}) AS q(x)");
        self.client.query_one(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e:?}")).get(0)
    }

    async fn exec(&self, sql: &str) {
        self.client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e:?}"))
    }

    async fn total_changes(&self) -> u64 {
        let row = self
            .client
            .query_one("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test_changes", &[])
            .await
            .expect("the change counter");
        row.get::<_, i64>(0) as u64
    }

    fn time(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        format!("'{}'::timestamptz", t.to_rfc3339())
    }

    fn ms(&self, column: &str) -> String {
        format!("(EXTRACT(EPOCH FROM {column}) * 1000)::bigint")
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        if let Some(s) = self.store.take() {
            s.backend().close();
        }
        drop_databases(std::slice::from_ref(&self.name));
    }
}

/// Runs `sql` on the server's `postgres` database, on a thread with its own
/// runtime (callable from inside a test's runtime, and from `drop`).
fn on_server(sql: Vec<String>) -> Result<(), String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        rt.block_on(async move {
            let (client, conn) =
                tokio_postgres::connect(&format!("{SERVER}/postgres"), NoTls).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            for s in sql {
                client.batch_execute(&s).await.map_err(|e| format!("{s}: {e}"))?;
            }
            Ok(())
        })
    })
    .join()
    .expect("the server thread")
}

/// Drops these databases if they exist (best effort: a test ending).
pub fn drop_databases(names: &[String]) {
    let _ = on_server(names.iter().map(|n| format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)")).collect());
}

/// Creates an empty database.
pub fn create_database(name: &str) {
    on_server(vec![format!("CREATE DATABASE {name}")]).unwrap_or_else(|e| unreachable(e));
}

/// A fresh PostgreSQL store in a database of its own.
pub async fn postgres() -> TestDb {
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!("amsync_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let admin = connect("postgres").await;
    // One left by an earlier run of a process with the same pid.
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.expect("drop an old one");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
    let client = connect(&name).await;
    let mut backend = PgBackend { name, client, store: None };
    let store = PgStore::open(PgOptions::new(backend.url())).await.expect("open the PostgreSQL store");
    backend.client.batch_execute(CHANGE_COUNTER).await.expect("the change counter");
    backend.store = Some(store.clone());
    TestDb::new(store, Box::new(backend))
}
