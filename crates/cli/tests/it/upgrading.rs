//! The upgrade path of docs/upgrading.md with the real binary: back up,
//! migrate, refuse a database whose schema is newer than the binary (every
//! command that opens it), and roll back by restoring the backup.

use amsync_sim::SimConfig;

use crate::child::{self, Serve};
use crate::helpers::{ADMIN_TOKEN, HEAVY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_migrate_refuse_a_newer_schema_and_roll_back() {
    let _heavy = HEAVY.lock().await;
    let sim = amsync_sim::start(
        SimConfig { members: 50, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let cfg = dir.path().join("amsync.toml");
    let log = dir.path().join("amsync.log");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"sqlite://{}\"\nauto_migrate = false\n[ams]\nbase_url = \"{}\"\n",
            db.display(),
            sim.base_url()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "warn")];
    let latest = amsync_store::sqlite::migrate::latest_version();

    // With auto_migrate off, serve refuses a database that needs migrations;
    // `amsync migrate` applies them, once.
    let (code, _) = child::run(&["serve", "--config", c], &envs, &log).await;
    assert_eq!(code, 1);
    assert!(std::fs::read_to_string(&log).unwrap().contains("run `amsync migrate`"));
    let (code, out) = child::run(&["migrate", "--config", c], &envs, &log).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("Applied migrations") && out.contains(&latest.to_string()), "{out}");
    let (_, out) = child::run(&["migrate", "--config", c], &envs, &log).await;
    assert_eq!(out.trim(), "The database schema is current.");

    // Serve, load, back up.
    let serve = Serve::start(&cfg, &envs, &log).await;
    let client = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while client
        .get(serve.url("/api/v1/sync/status"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["members"]
        != 50
    {
        assert!(std::time::Instant::now() < deadline, "the load finishes");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let backup = dir.path().join("before-upgrade.db");
    let (code, out) = child::run(&["backup", "--config", c, "--out", backup.to_str().unwrap()], &envs, &log).await;
    assert_eq!(code, 0, "{out}");
    serve.stop().await;

    // A newer binary migrated the database (here: a version from the future).
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute("INSERT INTO schema_migrations VALUES (?1, 'from a newer amsync', 0)", [latest + 1]).unwrap();
    }
    for args in [vec!["serve", "--config", c], vec!["migrate", "--config", c], vec!["status", "--config", c]] {
        let before = std::fs::read_to_string(&log).unwrap().len();
        let (code, _) = child::run(&args, &envs, &log).await;
        assert_eq!(code, 1, "{args:?} refuses");
        let said = std::fs::read_to_string(&log).unwrap()[before..].to_string();
        assert!(said.contains("newer than this binary knows"), "{args:?}: {said}");
    }
    let (code, out) = child::run(&["check", "--config", c], &envs, &log).await;
    assert_ne!(code, 0);
    assert!(out.contains("FAIL  database schema"), "{out}");

    // Rollback: the backup goes back in place, and this binary serves it.
    std::fs::copy(&backup, &db).unwrap();
    for ext in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(db.with_extension(ext));
    }
    let serve = Serve::start(&cfg, &envs, &log).await;
    let doc: serde_json::Value = client
        .get(serve.url("/api/v1/members/M000001"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["key"], "M000001", "{doc}");
    serve.stop().await;
}
