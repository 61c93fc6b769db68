//! Data protection over the API and with the real binary: a member's
//! export holds everything about it and no secret; an erase removes it,
//! tells the site, survives refreshes and sign-in through its tombstone
//! until an admin lifts it, and leaves nothing of it in the database file,
//! its write-ahead log or the next `amsync backup`; `amsync backup` taken
//! while `serve` writes is a consistent database; the retention task of
//! `serve` prunes by age.

use std::time::{Duration, Instant};

use amsync_sim::{ChangeRequest, Faults, SimConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::child::{self, Serve};
use crate::helpers::{differences, AppOptions, TestApp, ADMIN_TOKEN, HEAVY, SITE_TOKEN};

const KEY: &str = "M000005";

async fn mobile_sign_in(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let body = json!({"grant_type": "password", "username": key, "password": format!("pw-{key}")});
    app.post_as("/api/v1/auth/token", body, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_erase_tombstone_and_lift_over_the_api() {
    let app = TestApp::spawn_with(AppOptions { members: 20, ..AppOptions::default() }).await;
    app.full_refresh().await;
    // An admin action about the member, then a mobile sign-in.
    let (status, _) = app.post(&format!("/api/v1/members/{KEY}/sign-out"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, issued) = mobile_sign_in(&app, KEY).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let mobile_token = issued["token"].as_str().unwrap().to_string();

    // The export: everything, as a download, and no secret.
    let resp = app
        .client
        .get(format!("{}/api/v1/members/{KEY}/export", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()["content-disposition"].to_str().unwrap().to_string();
    assert_eq!(disposition, format!("attachment; filename=\"amsync-export-{KEY}.json\""));
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&mobile_token), "the mobile token is not in the export");
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["member"]["key"], KEY);
    assert!(export["member"]["memberships"].is_array());
    let parts: Vec<&str> = export["payloads"].as_array().unwrap().iter().map(|p| p["part"].as_str().unwrap()).collect();
    assert_eq!(parts, ["details", "communities", "security_groups"]);
    assert!(export["payloads"][0]["body"].as_str().unwrap().contains(KEY), "the AMS answer as text");
    assert_eq!(export["history"][0]["kind"], "created");
    assert!(export["refresh"]["last_refreshed_at"].is_string());
    let tokens = export["mobile_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["grant"], "password");
    assert!(tokens[0].get("hash").is_none());
    assert!(!export["change_feed"].as_array().unwrap().is_empty());
    // Nothing was held about it, and the thresholds' window counted nothing of it.
    assert_eq!((&export["held_changes"], &export["threshold_ledger"]), (&json!([]), &json!([])));
    let audit: Vec<&str> = export["audit"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(audit, ["POST /api/v1/members/{key}/sign-out"]);
    assert!(export["tombstone"].is_null());
    // Only an admin may export or erase.
    let (status, _) = app.get_as(&format!("/api/v1/members/{KEY}/export"), Some(SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.post_as(&format!("/api/v1/members/{KEY}/erase"), json!({}), Some(SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/members/NOBODY/export").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The erase.
    let (status, erased) = app.post(&format!("/api/v1/members/{KEY}/erase"), json!({"reason": "request #42"})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["removed"]["member"], 1);
    assert_eq!(erased["removed"]["mobile_tokens"], 1);
    assert_eq!(erased["tombstone"]["reason"], "request #42");
    assert_eq!(erased["tombstone"]["actor"], "admin token");
    for path in [format!("/api/v1/members/{KEY}"), format!("/api/v1/members/{KEY}/history")] {
        assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let req = app.client.get(format!("{}/api/v1/session", app.base)).header("x-amsync-bearer", &mobile_token);
    let intro: Value = req.bearer_auth(SITE_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(intro["active"], false, "its mobile token is gone");
    // The site is told to drop it.
    let (_, feed) = app.get_as("/api/v1/changes?limit=1000", Some(SITE_TOKEN)).await;
    let last = feed["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["key"].as_str(), last["kind"].as_str(), last["tombstone"].as_bool()),
        (Some(KEY), Some("erased"), Some(true))
    );
    // The audit log says who erased what.
    let (_, log) = app.get("/api/v1/audit?limit=1").await;
    let entry = &log["entries"][0];
    assert_eq!(entry["action"], "POST /api/v1/members/{key}/erase");
    assert_eq!(entry["target"], KEY);
    assert!(entry["detail"].as_str().unwrap().contains("tombstoned"), "{entry}");

    // Neither a refresh, nor a full one, nor a sign-in brings it back.
    app.sim.change(KEY, &ChangeRequest::default()).unwrap();
    let run = app.refresh_keys(&[KEY]).await;
    assert_eq!((run.counts.refreshed, run.counts.failed), (1, 0), "{run:?}");
    let (_, full) = app.full_refresh().await;
    assert_eq!(full.counts.failed, 0, "{full:?}");
    assert_eq!(app.get(&format!("/api/v1/members/{KEY}")).await.0, StatusCode::NOT_FOUND);
    let (status, refused) = mobile_sign_in(&app, KEY).await;
    assert_ne!(status, StatusCode::OK, "{refused}");
    assert_eq!(app.get(&format!("/api/v1/members/{KEY}")).await.0, StatusCode::NOT_FOUND, "not even at sign-in");
    let (_, stones) = app.get("/api/v1/tombstones").await;
    assert_eq!(stones["tombstones"][0]["key"], KEY);
    let (_, left) = app.get(&format!("/api/v1/members/{KEY}/export")).await;
    assert!(left["member"].is_null() && left["history"].as_array().unwrap().is_empty(), "{left}");
    assert_eq!(left["tombstone"]["key"], KEY);

    // Lifted, the next refresh brings the record back as the AMS has it.
    let (status, lifted) = app.delete(&format!("/api/v1/tombstones/{KEY}")).await;
    assert_eq!((status, lifted["lifted"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(app.delete(&format!("/api/v1/tombstones/{KEY}")).await.0, StatusCode::NOT_FOUND);
    app.refresh_keys(&[KEY]).await;
    let doc = app.member(KEY).await;
    assert!(differences(&doc, &app.sim.truth(KEY).unwrap()).is_empty());
    app.stop().await;
}

const MEMBERS: usize = 3000;

fn config(db: &std::path::Path, ams: &str) -> String {
    format!(
        r#"
[database]
url = "sqlite://{db}"

[ams]
kind = "http-json"
base_url = "{ams}"
timeout = "2s"

[periodic_refresh]
interval = "1h"

[events]
interval = "1h"

[member_refresh]
workers = 8
backoff_initial = "50ms"
backoff_max = "500ms"

[retention]
interval = "1s"
"#,
        db = db.display()
    )
}

/// Checks a backup file as SQLite itself would and as amsync needs it:
/// intact, schema current, each member committed whole. Returns its members.
fn check_backup(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let version: i64 = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(version, amsync_store::sqlite::migrate::latest_version());
    let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let members = q("SELECT COUNT(*) FROM members");
    let torn =
        q("SELECT COUNT(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM member_history h WHERE h.member_key = m.key)
                    OR NOT EXISTS (SELECT 1 FROM member_payloads p WHERE p.member_key = m.key)
                    OR NOT EXISTS (SELECT 1 FROM member_refresh r WHERE r.member_key = m.key)");
    assert_eq!(torn, 0, "every member in the backup came with its history, payloads and bookkeeping");
    assert_eq!(q("SELECT COUNT(*) FROM change_feed WHERE kind = 'created'"), members);
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serve_writes_is_consistent_and_serve_prunes_by_age() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    let sim = amsync_sim::start(
        SimConfig { members: MEMBERS, page_size: 500, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    // Slow enough that the load is still writing while backups are taken.
    sim.set_faults(Faults { latency_ms: 4, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let cfg = dir.path().join("amsync.toml");
    std::fs::write(&cfg, config(&db, &sim.base_url())).unwrap();
    let log = dir.path().join("serve.log");
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN), ("RUST_LOG", "info,tower_http=warn")];
    let serve = Serve::start(&cfg, &envs, &log).await;

    let mut counts = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let out = dir.path().join(format!("backup-{i}.db"));
        let cfg_arg = cfg.to_str().unwrap();
        let (code, stdout) =
            child::run(&["backup", "--config", cfg_arg, "--out", out.to_str().unwrap()], &envs, &log).await;
        assert_eq!(code, 0, "{}", std::fs::read_to_string(&log).unwrap_or_default());
        assert!(stdout.starts_with("Backed up"), "{stdout}");
        counts.push(check_backup(&out));
        assert!(Instant::now() < deadline);
    }
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "later backups hold at least as much: {counts:?}");
    assert!(counts.iter().any(|n| *n > 0 && (*n as usize) < MEMBERS), "a backup was taken mid-load: {counts:?}");

    // Rows older than their retention, written beside the running serve,
    // are pruned by its retention task; recent ones stay.
    let old = chrono::Utc::now().timestamp_millis() - 400 * 24 * 3600 * 1000;
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch(&format!(
            // Ids before every other: history is pruned from its oldest id on.
            "INSERT INTO member_history (id, member_key, at, trigger, kind, run_id, fields)
               VALUES (-2, 'OLD1', {old}, 'periodic', 'changed', NULL, '[]'), (-1, 'OLD2', {old}, 'periodic', 'changed', NULL, '[]');
             INSERT INTO runs (kind, started_at, finished_at, outcome, params) VALUES ('manual', {old}, {old}, 'succeeded', '{{}}');"
        ))
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let old_rows = q("SELECT COUNT(*) FROM member_history WHERE member_key LIKE 'OLD%'")
            + q(&format!("SELECT COUNT(*) FROM runs WHERE started_at = {old}"));
        if old_rows == 0 {
            assert!(q("SELECT COUNT(*) FROM member_history") > 0, "recent history stays");
            break;
        }
        assert!(Instant::now() < deadline, "the retention task did not prune within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    serve.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("pruned data past its retention"), "the pass is logged");
}

/// Whether `needle` occurs anywhere in the file (a missing file holds nothing).
fn file_holds(path: &std::path::Path, needle: &str) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_members_data_is_gone_from_the_database_files_and_the_next_backup() {
    let app = TestApp::spawn_with(AppOptions { members: 60, ..AppOptions::default() }).await;
    app.full_refresh().await;
    // A name and e-mail found nowhere else; the e-mail changes once, so its
    // old value was freed by a refresh before the erase.
    let (name, old_mail, new_mail) =
        ("ysoldewyn-c4e8d2", "ysolde-old-c4e8d2@erasure.invalid", "ysolde-new-c4e8d2@erasure.invalid");
    for mail in [old_mail, new_mail] {
        let details = serde_json::Map::from_iter([("first_name".into(), json!(name)), ("email".into(), json!(mail))]);
        app.sim.change(KEY, &ChangeRequest { details: Some(details), ..Default::default() }).unwrap();
        app.refresh_keys(&[KEY]).await;
    }
    assert_eq!(app.member(KEY).await["email"], new_mail);
    let db = app.store.path().to_path_buf();
    let wal = db.with_file_name("amsync.db-wal");
    for u in [name, old_mail, new_mail] {
        assert!(file_holds(&db, u) || file_holds(&wal, u), "{u} was written before the erase");
    }

    let (status, erased) = app.post(&format!("/api/v1/members/{KEY}/erase"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    // `amsync backup`, the real binary, beside the running store.
    let cfg = app.dir.path().join("amsync.toml");
    std::fs::write(&cfg, config(&db, &app.sim.base_url())).unwrap();
    let (out, log) = (app.dir.path().join("after-erase.db"), app.dir.path().join("backup.log"));
    let envs = [("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)];
    let args = ["backup", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let (code, _) = child::run(&args, &envs, &log).await;
    assert_eq!(code, 0, "{}", std::fs::read_to_string(&log).unwrap_or_default());
    for u in [name, old_mail, new_mail] {
        assert!(!file_holds(&db, u), "{u} survives in the database file");
        assert!(!file_holds(&wal, u), "{u} survives in the write-ahead log");
        assert!(!file_holds(&out, u), "{u} survives in a backup taken after the erase");
    }
    let left = amsync_store::MemberStore::member_count(app.store.as_ref()).await.unwrap() as i64;
    assert_eq!(check_backup(&out), left, "the other members are in the backup, whole");
    app.stop().await;
}
