//! The store handle (`amsync_store::handle`), written once against
//! `dyn Database` and `dyn StoreHandle` as a node's commands use them, and
//! run on each backend: a backend gives a fresh database URL and a way to
//! mark its schema as written by a newer amsync.

use std::sync::Arc;

use amsync_store::{database, Database, OpenOptions, StoreError, StoreHandle};

/// A fresh database of one backend: its URL, not created yet.
pub struct HandleDb {
    pub url: String,
    /// A file path a backup may be written to.
    pub backup: std::path::PathBuf,
    /// The backend's ways of the test (SQLite or PostgreSQL).
    kind: Kind,
    _dir: tempfile::TempDir,
}

enum Kind {
    Sqlite,
    /// The server's URL and the names of the databases the test may make.
    Postgres {
        server: String,
        names: Vec<String>,
    },
}

pub fn sqlite() -> HandleDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("amsync.db").display());
    HandleDb { url, backup: dir.path().join("backup.db"), kind: Kind::Sqlite, _dir: dir }
}

/// A database name on the machine's PostgreSQL that no database has: the
/// test's own, dropped when it ends with the copies it restored.
pub fn postgres() -> HandleDb {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = tempfile::tempdir().unwrap();
    let server = crate::harness_postgres::SERVER.to_string();
    let name = format!("amsync_handle_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let names = vec![name.clone(), format!("{name}_copy"), format!("{name}_again")];
    crate::harness_postgres::drop_databases(&names);
    HandleDb {
        url: format!("{server}/{name}"),
        backup: dir.path().join("backup.dump"),
        kind: Kind::Postgres { server, names },
        _dir: dir,
    }
}

impl Drop for HandleDb {
    fn drop(&mut self) {
        if let Kind::Postgres { names, .. } = &self.kind {
            crate::harness_postgres::drop_databases(names);
        }
    }
}

impl HandleDb {
    /// A database holding the backup file `file` (the `n`-th copy), by the
    /// backend's own restore: a SQLite backup is a database file; a
    /// PostgreSQL one is restored with `pg_restore` into a new database.
    fn restore(&self, file: &std::path::Path, n: usize) -> Box<dyn Database> {
        match &self.kind {
            Kind::Sqlite => database(&format!("sqlite://{}", file.display())).unwrap(),
            Kind::Postgres { server, names } => {
                let name = &names[n];
                crate::harness_postgres::create_database(name);
                let url = format!("{server}/{name}");
                let out = std::process::Command::new("pg_restore")
                    .args(["--no-owner", "--dbname", &url])
                    .arg(file)
                    .output()
                    .expect("pg_restore runs");
                assert!(out.status.success(), "pg_restore: {}", String::from_utf8_lossy(&out.stderr));
                database(&url).unwrap()
            }
        }
    }

    /// Records a schema version this binary does not know, as a newer
    /// amsync would.
    async fn mark_newer(&self, store: &Arc<dyn StoreHandle>) {
        match &self.kind {
            Kind::Sqlite => {
                let sqlite =
                    store.clone().as_any().downcast::<amsync_store::sqlite::SqliteStore>().expect("a SQLite store");
                sqlite
                    .write(|c| Ok(c.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", [])?))
                    .await
                    .unwrap();
            }
            Kind::Postgres { .. } => {
                let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client
                    .batch_execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")
                    .await
                    .unwrap();
            }
        }
    }
}

fn db(h: &HandleDb) -> Box<dyn Database> {
    database(&h.url).expect("a database URL of a backend")
}

pub async fn migrate_reports_applies_once_and_opens_without_auto_migrate(h: HandleDb) {
    let d = db(&h);
    assert!(h.url.ends_with(&d.name()), "{} names {}", d.name(), h.url);
    assert!(!d.exists().await.unwrap(), "nothing made yet");
    let before = d.schema_status().await.unwrap();
    assert_eq!(before.current, 0);
    assert!(!before.pending.is_empty() && !before.is_current());
    assert!(!d.exists().await.unwrap(), "a status check creates nothing");
    let refused = d.open(OpenOptions::node(false)).await.unwrap_err();
    assert!(matches!(refused, StoreError::MigrationsPending { .. }), "{refused}");
    assert_eq!(d.migrate().await.unwrap(), before.pending);
    assert!(d.migrate().await.unwrap().is_empty(), "applied once");
    assert!(d.schema_status().await.unwrap().is_current());
    let store = d.open(OpenOptions::node(false)).await.unwrap();
    assert_eq!(store.readiness().await, Ok(()));
    store.close().await;
}

pub async fn a_newer_schema_is_refused_everywhere(h: HandleDb) {
    let d = db(&h);
    let store = d.open(OpenOptions::node(true)).await.unwrap();
    h.mark_newer(&store).await;
    let why = store.readiness().await.unwrap_err();
    assert!(why.starts_with("schema version 999 of "), "{why}");
    store.close().await;
    assert!(d.schema_status().await.unwrap().is_newer_than_known());
    assert!(matches!(d.migrate().await, Err(StoreError::SchemaTooNew { found: 999, .. })));
    for opts in [OpenOptions::node(true), OpenOptions::inspect()] {
        assert!(matches!(d.open(opts).await, Err(StoreError::SchemaTooNew { found: 999, .. })));
    }
}

pub async fn a_backup_of_an_open_store_opens_with_what_was_committed(h: HandleDb) {
    let d = db(&h);
    let store = d.open(OpenOptions::node(true)).await.unwrap();
    let rules = amsync_core::rules::RuleSet::default();
    assert!(store.clone().as_store().seed_settings(&rules, &[]).await.unwrap());
    store.backup_to(&h.backup).await.unwrap();
    store.close().await;
    let copy = h.restore(&h.backup, 1);
    let reopened = copy.open(OpenOptions::inspect()).await.unwrap();
    // The copy holds what was committed before it was taken: seeding again finds the first.
    assert!(!reopened.clone().as_store().seed_settings(&rules, &[]).await.unwrap(), "the copy was seeded");
    reopened.close().await;
    // `amsync backup`: a copy of a database no store has open, never migrated.
    let again = h.backup.with_extension("again");
    d.backup_to_file(&again).await.unwrap();
    assert!(h.restore(&again, 2).schema_status().await.unwrap().is_current());
}

/// Runs each listed test on a fresh database of one backend.
macro_rules! handle_conformance {
    ($backend:ident => $fresh:path: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test($fresh()).await;
                }
            )*
        }
    };
}

handle_conformance!(on_sqlite => super::sqlite:
    migrate_reports_applies_once_and_opens_without_auto_migrate,
    a_newer_schema_is_refused_everywhere,
    a_backup_of_an_open_store_opens_with_what_was_committed,
);

handle_conformance!(on_postgres => super::postgres:
    migrate_reports_applies_once_and_opens_without_auto_migrate,
    a_newer_schema_is_refused_everywhere,
    a_backup_of_an_open_store_opens_with_what_was_committed,
);
