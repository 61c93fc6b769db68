//! The store handle (`amsync_store::handle`), written once against
//! `dyn Database` and `dyn StoreHandle` as a node's commands use them, and
//! run on each backend: a backend gives a fresh database URL and a way to
//! mark its schema as written by a newer amsync.

use std::sync::Arc;

use amsync_store::{database, Database, OpenOptions, StoreError, StoreHandle};

/// A fresh database of one backend.
pub struct HandleDb {
    pub url: String,
    /// A file path a backup may be written to.
    pub backup: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn sqlite() -> HandleDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("amsync.db").display());
    HandleDb { url, backup: dir.path().join("backup.db"), _dir: dir }
}

fn db(h: &HandleDb) -> Box<dyn Database> {
    database(&h.url).expect("a database URL of a backend")
}

/// Records a schema version this binary does not know, as a newer amsync would.
async fn mark_newer(store: &Arc<dyn StoreHandle>) {
    let sqlite = store.clone().as_any().downcast::<amsync_store::sqlite::SqliteStore>().expect("a SQLite store");
    sqlite
        .write(|c| Ok(c.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", [])?))
        .await
        .unwrap();
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
    mark_newer(&store).await;
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
    let copy = database(&format!("sqlite://{}", h.backup.display())).unwrap();
    let reopened = copy.open(OpenOptions::inspect()).await.unwrap();
    // The copy holds what was committed before it was taken: seeding again finds the first.
    assert!(!reopened.clone().as_store().seed_settings(&rules, &[]).await.unwrap(), "the copy was seeded");
    reopened.close().await;
    // `amsync backup`: a copy of a database no store has open, never migrated.
    let again = h.backup.with_extension("again");
    d.backup_to_file(&again).await.unwrap();
    assert!(database(&format!("sqlite://{}", again.display())).unwrap().schema_status().await.unwrap().is_current());
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

#[test]
fn postgres_is_refused_by_name_until_its_backend_lands() {
    let err = database("postgres://amsync@127.0.0.1/amsync").unwrap_err();
    assert_eq!(err.to_string(), "PostgreSQL is not available in this version; use sqlite://FILE");
}
