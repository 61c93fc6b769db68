//! The `amsync` binary itself: `serve` with `log.format = "json"` writes one
//! JSON object per line, with the request id of each request; `status`
//! shows the health summary as a table, and `--json` the same document as
//! `GET /api/v1/sync/status`, with the AMS probed.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::helpers::{init_tracing, ADMIN_TOKEN, HEAVY};

const EXE: &str = env!("CARGO_BIN_EXE_amsync");

fn config(dir: &std::path::Path, ams: &str, port: u16) -> std::path::PathBuf {
    let path = dir.join("amsync.toml");
    let text = format!(
        r#"
[database]
url = "sqlite://{db}"

[ams]
kind = "http-json"
base_url = "{ams}"

[periodic_refresh]
interval = "1h"

[events]
interval = "1h"

[web]
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
admin_token_env = "AMSYNC_ADMIN_TOKEN"

[log]
format = "json"
level = "info"
"#,
        db = dir.join("amsync.db").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn status_cli(config: &std::path::Path, json: bool) -> String {
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.arg("status").arg("--config").arg(config).env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN);
    if json {
        cmd.arg("--json");
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output()).await.expect("status answers").unwrap();
    assert!(out.status.success(), "amsync status failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_logs_json_with_request_ids_and_status_matches_the_api() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim =
        amsync_sim::start(amsync_sim::SimConfig { members: 5, ..Default::default() }, sim_listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let cfg = config(dir.path(), &sim.base_url(), port);
    let mut serve = tokio::process::Command::new(EXE)
        .arg("serve")
        .arg("--config")
        .arg(&cfg)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stderr = serve.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status() == StatusCode::OK {
                break;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "amsync serve did not become ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = http
        .post(format!("{base}/api/v1/sync/pause"))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-request-id", "json-log-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    http.post(format!("{base}/api/v1/sync/resume")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    // The engine's scheduler probes the AMS at start.
    let api: Value = loop {
        let v: Value = http
            .get(format!("{base}/api/v1/sync/status"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !v["ams"].is_null() {
            break v;
        }
        assert!(tokio::time::Instant::now() < deadline, "the engine probes the AMS: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(api["ams"]["reachable"], true, "{api}");

    // `amsync status --json` is the API's document (without the engine's
    // in-process figures), with its own probe of the AMS.
    let cli: Value = serde_json::from_str(&status_cli(&cfg, true).await).unwrap();
    assert_eq!(keys(&cli), keys(&api));
    assert_eq!(keys(&cli["queue"]), keys(&api["queue"]));
    assert_eq!(keys(&cli["periodic_refresh"]), keys(&api["periodic_refresh"]));
    assert_eq!(cli["ams"]["reachable"], true, "{cli}");
    assert_eq!(cli["members"], api["members"]);
    assert_eq!(cli["engine"], Value::Null);
    let table = status_cli(&cfg, false).await;
    for row in ["sync ", "ams ", "members ", "last periodic refresh", "queue ", "oldest waiting since"] {
        assert!(table.lines().any(|l| l.starts_with(row)), "the table has a {row:?} row:\n{table}");
    }
    assert!(table.lines().any(|l| l.starts_with("ams ") && l.contains("reachable (")), "{table}");
    assert!(!table.contains(ADMIN_TOKEN));

    // SIGTERM: a clean stop; every log line is one JSON object.
    let pid = serve.id().unwrap() as i32;
    // SAFETY: kill(2) on our child; no memory is touched.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), serve.wait()).await.expect("serve stops").unwrap();
    assert!(status.success(), "{status}");
    let logs = logs.await.unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{logs}");
    assert!(lines.iter().all(|l| l["level"].is_string() && l["timestamp"].is_string()), "{logs}");
    let with_id: Vec<&Value> = lines.iter().filter(|l| l.to_string().contains("json-log-req-1")).collect();
    assert!(!with_id.is_empty(), "the request's log lines carry its id:\n{logs}");
    assert!(with_id.iter().any(|l| l["span"]["request_id"] == "json-log-req-1"), "{with_id:?}");
    assert!(!logs.contains(ADMIN_TOKEN), "no secret in the logs");
    sim.shutdown().await;
}
