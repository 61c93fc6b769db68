//! What only the SQLite store has: group commit, schema checks at open,
//! migrations, backup, and surviving a killed process.

use std::sync::Arc;
use std::time::Duration;

use amsync_core::Trigger;
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::*;

use crate::fixtures::*;

fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_operation_in_a_group_commit_leaves_the_others_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let before = store.writer_stats();
    // Hold the writer so everything below queues up behind it and lands in
    // one group.
    let hold = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(|_| {
                    std::thread::sleep(Duration::from_millis(400));
                    Ok(())
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..60 {
        let store = store.clone();
        tasks.spawn(async move {
            if i == 30 {
                // Violates the primary key of `counters`: fails alone.
                let r = store.write(|c| Ok(c.execute("INSERT INTO counters (name, value) VALUES ('fence', 1)", [])?));
                return Err(r.await.unwrap_err());
            }
            Ok(store.commit_refresh(commit(member(&format!("G{i:02}")), t0())).await.unwrap())
        });
    }
    let mut applied = 0;
    let mut errors = Vec::new();
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(CommitOutcome::Applied { .. }) => applied += 1,
            Ok(other) => panic!("{other:?}"),
            Err(e) => errors.push(e),
        }
    }
    hold.await.unwrap().unwrap();
    assert_eq!(applied, 59);
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], StoreError::Conflict(_)), "{:?}", errors[0]);
    assert_eq!(store.member_count().await.unwrap(), 59);
    // The group ran twice (fast, then with savepoints); every commit applied once.
    assert_eq!(store.changes_after(0, 1000).await.unwrap().len(), 59);
    let history = store.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM member_history", [], |r| r.get::<_, i64>(0))?));
    assert_eq!(history.await.unwrap(), 59);
    let after = store.writer_stats();
    assert_eq!(after.batches - before.batches, 2, "the hold, then everything else in one transaction");
    assert_eq!(after.failed_ops - before.failed_ops, 1);
    assert_eq!(after.safe_reruns - before.safe_reruns, 1);
    assert_eq!(after.failed_batches, 0);
    // Alone in its group, a failing operation needs no second run.
    let alone = store.write(|c| Ok(c.execute("INSERT INTO counters (name, value) VALUES ('fence', 1)", [])?)).await;
    assert!(matches!(alone, Err(StoreError::Conflict(_))));
    assert_eq!(store.writer_stats().safe_reruns, after.safe_reruns);
}

#[tokio::test]
async fn the_writer_counts_the_pages_its_commits_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let before = store.writer_stats().pages_written;
    store.commit_refresh(commit(member("P01"), t0())).await.unwrap();
    let first = store.writer_stats().pages_written - before;
    // The member row and its key index, memberships, groups, payloads,
    // bookkeeping, history and the change feed: a page each at least.
    assert!(first >= 8, "a first refresh wrote {first} pages");
    // A failing operation is rolled back and writes nothing.
    let failed = store.write(|c| Ok(c.execute("INSERT INTO counters (name, value) VALUES ('fence', 1)", [])?)).await;
    assert!(failed.is_err());
    assert_eq!(store.writer_stats().pages_written - before, first);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amsync.db");
    let store = open(&dir);
    store
        .write(|c| Ok(c.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", [])?))
        .await
        .unwrap();
    store.shutdown().await;
    drop(store);
    let err = SqliteStore::open(SqliteOptions::new(&path)).unwrap_err();
    let known = amsync_store::sqlite::migrate::latest_version();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 999, known: k } if k == known), "{err}");
    assert!(matches!(SqliteStore::migrate(&path), Err(StoreError::SchemaTooNew { .. })));
    assert_eq!(SqliteStore::schema_status(&path).unwrap().current, 999);
}

#[tokio::test]
async fn pending_migrations_are_refused_unless_auto_migrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amsync.db");
    let all: Vec<i64> = amsync_store::sqlite::migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    let status = SqliteStore::schema_status(&path).unwrap();
    assert_eq!((status.current, status.pending.clone()), (0, all.clone()));
    let opts = SqliteOptions { auto_migrate: false, ..SqliteOptions::new(&path) };
    let err = SqliteStore::open(opts.clone()).unwrap_err();
    let n = all.len() as i64;
    assert!(matches!(err, StoreError::MigrationsPending { pending } if pending == n), "{err}");
    assert_eq!(SqliteStore::migrate(&path).unwrap(), all);
    assert!(SqliteStore::migrate(&path).unwrap().is_empty());
    let store = SqliteStore::open(opts).unwrap();
    assert!(store.pending_migrations().await.unwrap().is_current());
}

#[tokio::test]
async fn a_backup_is_a_consistent_working_copy() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    for i in 0..50 {
        store.commit_refresh(commit(member(&format!("B{i:02}")), t0())).await.unwrap();
    }
    let out = dir.path().join("backup.db");
    store.backup_to(&out).await.unwrap();
    assert!(!out.with_extension("partial").exists());
    let copy = SqliteStore::open(SqliteOptions::new(&out)).unwrap();
    assert_eq!(copy.member_count().await.unwrap(), 50);
    assert_eq!(copy.get_member(&key("B07")).await.unwrap().unwrap().record.details, member("B07").details);
}

#[tokio::test]
async fn the_url_form_opens_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("via-url.db").display());
    let store = SqliteStore::open(SqliteOptions::from_url(&url).unwrap()).unwrap();
    assert_eq!(store.member_count().await.unwrap(), 0);
    assert!(dir.path().join("via-url.db").exists());
}

/// The environment variable that makes this test's process the one that
/// gets killed.
const CRASH_DB: &str = "AMSYNC_STORE_TEST_CRASH_DB";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_loses_no_committed_refresh() {
    if let Ok(path) = std::env::var(CRASH_DB) {
        // The child: commit, claim, then die without any cleanup.
        let store = SqliteStore::open(SqliteOptions::new(path)).unwrap();
        for i in 0..200 {
            store.commit_refresh(commit(member(&format!("K{i:03}")), t0())).await.unwrap();
        }
        store.enqueue(&keys(&["K000", "K001"]), Trigger::Periodic, None, t0()).await.unwrap();
        assert_eq!(store.claim(1, "doomed", t0(), LEASE).await.unwrap().len(), 1);
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amsync.db");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "sqlite::a_killed_process_loses_no_committed_refresh", "--nocapture", "--test-threads=1"])
        .env(CRASH_DB, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child was killed");
    let store = SqliteStore::open(SqliteOptions::new(&path)).unwrap();
    assert_eq!(store.member_count().await.unwrap(), 200);
    let q = store.queue_counts().await.unwrap();
    assert_eq!((q.queued, q.running), (1, 1));
    assert_eq!(store.rescue_expired(t0() + mins(3)).await.unwrap(), 1);
    assert_eq!(store.claim(10, "n", t0() + mins(3), LEASE).await.unwrap().len(), 2);
}
