//! What only the SQLite store can be asked about an erase: that its list
//! of the tables holding a member key (`sqlite::member_data`) matches the
//! schema a fresh database gets, and that erased content is gone from the
//! database file, its write-ahead log and a backup taken afterwards (not
//! only from the tables).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use amsync_store::sqlite::member_data::{named_like_a_member_key, MEMBER_KEY_COLUMNS, TABLES_WITHOUT_MEMBER_KEYS};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::*;

use crate::fixtures::*;

fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap()
}

/// Every table of a freshly migrated database, with its columns.
async fn schema(store: &SqliteStore) -> Vec<(String, Vec<String>)> {
    store
        .read(|c| {
            let tables: Vec<String> = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = Vec::new();
            for t in tables {
                let columns: Vec<String> = c
                    .prepare("SELECT name FROM pragma_table_info(?1)")?
                    .query_map([&t], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                out.push((t, columns));
            }
            Ok(out)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn every_table_is_listed_with_what_an_erase_and_an_export_do_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let schema = schema(&store).await;
    assert!(schema.len() > 20, "{schema:?}");
    let with_keys: BTreeSet<&str> = MEMBER_KEY_COLUMNS.iter().map(|c| c.table).collect();
    let without: BTreeSet<&str> = TABLES_WITHOUT_MEMBER_KEYS.iter().map(|(t, _)| *t).collect();
    for (table, columns) in &schema {
        let listed = (with_keys.contains(table.as_str()), without.contains(table.as_str()));
        assert!(
            listed == (true, false) || listed == (false, true),
            "table {table} must be listed once in sqlite/member_data.rs: in MEMBER_KEY_COLUMNS (with what an erase \
             and an export do with its rows) or in TABLES_WITHOUT_MEMBER_KEYS (with why it holds none); it is {listed:?}"
        );
        for column in columns.iter().filter(|c| named_like_a_member_key(c)) {
            assert!(
                MEMBER_KEY_COLUMNS.iter().any(|c| c.table == table && c.column == column),
                "{table}.{column} looks like a member's key: list it in MEMBER_KEY_COLUMNS"
            );
        }
    }
    for c in MEMBER_KEY_COLUMNS {
        let found = schema.iter().find(|(t, _)| t == c.table);
        let columns = &found.unwrap_or_else(|| panic!("{} is listed but is not in the schema", c.table)).1;
        assert!(columns.iter().any(|x| x == c.column), "{}.{} is listed but is not in the schema", c.table, c.column);
    }
    for (table, why) in TABLES_WITHOUT_MEMBER_KEYS {
        assert!(schema.iter().any(|(t, _)| t == table), "{table} is listed but is not in the schema");
        assert!(!why.is_empty(), "{table}: say why it holds no member key");
    }
}

/// Whether `needle` occurs anywhere in the file (a missing file holds nothing).
fn file_holds(path: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn wal_of(db: &Path) -> std::path::PathBuf {
    let mut name = db.file_name().unwrap().to_os_string();
    name.push("-wal");
    db.with_file_name(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_content_is_gone_from_the_file_its_wal_and_a_later_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let store = open(&dir);
    // Neighbours on the same pages, before and after the key.
    for i in 0..300 {
        store.commit_refresh(commit(member(&format!("N{i:03}")), t0())).await.unwrap();
    }
    // The member's earlier e-mail (replaced by a refresh: the old row's
    // content is freed, not deleted by the erase) and its current one.
    let (old_mail, new_mail, name) =
        ("zq-old-7f3a91@erasure.invalid", "zq-new-7f3a91@erasure.invalid", "quillonwythe-7f3a91");
    let mut m = member("N150X");
    m.details.email = Some(old_mail.into());
    m.details.first_name = Some(name.into());
    store.commit_refresh(commit(m.clone(), t0())).await.unwrap();
    m.details.email = Some(new_mail.into());
    store.commit_refresh(commit(m, t0() + mins(1))).await.unwrap();
    for i in 300..400 {
        store.commit_refresh(commit(member(&format!("N{i:03}")), t0() + mins(1))).await.unwrap();
    }
    let unique = [old_mail, new_mail, name];
    for u in unique {
        assert!(file_holds(&db, u) || file_holds(&wal_of(&db), u), "{u} is written somewhere before the erase");
    }

    let erase = EraseRequest { key: key("N150X"), actor: "admin token".into(), reason: None, at: t0() + mins(2) };
    store.erase_member(&erase).await.unwrap();
    let backup = dir.path().join("after-erase.db");
    store.backup_to(&backup).await.unwrap();
    for u in unique {
        assert!(!file_holds(&db, u), "{u} survives in the database file");
        assert!(!file_holds(&wal_of(&db), u), "{u} survives in the write-ahead log");
        assert!(!file_holds(&backup, u), "{u} survives in a backup taken after the erase");
    }
    // The neighbours are intact, and the store keeps working.
    assert_eq!(store.member_count().await.unwrap(), 400);
    let integrity: String = store.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)).await.unwrap();
    assert_eq!(integrity, "ok");
    store.commit_refresh(commit(member("N401"), t0() + mins(3))).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_in_an_older_snapshot_delays_emptying_the_wal_until_a_later_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let store = open(&dir);
    let mail = "zq-held-back-7f3a91@erasure.invalid";
    for i in 0..50 {
        store.commit_refresh(commit(member(&format!("N{i:03}")), t0())).await.unwrap();
    }
    let mut m = member("N025X");
    m.details.email = Some(mail.into());
    store.commit_refresh(commit(m, t0())).await.unwrap();
    // Another process reading in a snapshot from before the erase (a long
    // backup, say) keeps the log from being emptied.
    let reader = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let before: i64 = reader.query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0)).unwrap();
    let erase = EraseRequest { key: key("N025X"), actor: "admin token".into(), reason: None, at: t0() + mins(1) };
    let started = std::time::Instant::now();
    store.erase_member(&erase).await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "the erase does not wait for the reader");
    assert!(file_holds(&db, mail) || file_holds(&wal_of(&db), mail), "the older snapshot still needs the old pages");
    let seen: i64 = reader.query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0)).unwrap();
    assert_eq!(seen, before, "the reader's snapshot was left alone");
    reader.execute_batch("COMMIT").unwrap();
    drop(reader);
    // The next commit after the retry interval empties the log.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    store.commit_refresh(commit(member("N100"), t0() + mins(2))).await.unwrap();
    assert!(!file_holds(&db, mail), "{mail} survives in the database file");
    assert!(!file_holds(&wal_of(&db), mail), "{mail} survives in the write-ahead log");
}

/// The store's own background checkpointer (or a backup tool's) may hold
/// SQLite's checkpoint lock for its pass at the moment the erase empties the
/// log; SQLite does not wait for that lock, so the erase must. Another
/// connection checkpoints in a tight loop here, so the erase's checkpoint
/// meets the lock nearly every time (as it did once in CI, under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erase_empties_the_wal_while_another_connection_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let store = open(&dir);
    for i in 0..200 {
        store.commit_refresh(commit(member(&format!("N{i:03}")), t0())).await.unwrap();
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checkpointer = std::thread::spawn({
        let (db, stop) = (db.clone(), stop.clone());
        move || {
            let c = rusqlite::Connection::open(&db).unwrap();
            c.busy_timeout(std::time::Duration::ZERO).unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0));
            }
        }
    });
    for round in 0..5 {
        let mail = format!("zq-raced-{round}-7f3a91@erasure.invalid");
        let k = format!("R{round:02}");
        let mut m = member(&k);
        m.details.email = Some(mail.clone());
        store.commit_refresh(commit(m, t0())).await.unwrap();
        for i in 0..50 {
            // Frames for the checkpointer to copy, so its passes take a while.
            store.commit_refresh(commit(member(&format!("F{round}{i:03}")), t0())).await.unwrap();
        }
        let erase = EraseRequest { key: key(&k), actor: "admin token".into(), reason: None, at: t0() + mins(1) };
        store.erase_member(&erase).await.unwrap();
        assert!(!file_holds(&wal_of(&db), &mail), "round {round}: {mail} survives in the write-ahead log");
        assert!(!file_holds(&db, &mail), "round {round}: {mail} survives in the database file");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    checkpointer.join().unwrap();
}
