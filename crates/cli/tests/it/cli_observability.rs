//! The `amsync` binary itself: `serve` with `log.format = "json"` writes one
//! JSON object per line, with the request id of each request; `status`
//! shows the health summary as a table, and `--json` the same document as
//! `GET /api/v1/sync/status`, with the AMS probed. Text logs are coloured
//! only on a terminal and never with `NO_COLOR`; the commands a person
//! reads print their own lines without the libraries' `info` lines unless
//! `--verbose` or `log.level` asks for them.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

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
# member_refresh.workers is unset: it follows this budget (33 for 64).
max_concurrency = 64

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
    assert_eq!(api["engine"]["workers"], 33, "workers unset follow ams.max_concurrency = 64: {api}");

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

const ESC: u8 = 0x1b;

/// A simulated AMS of `members` on a loopback port.
async fn sim_of(members: usize) -> amsync_sim::SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    amsync_sim::start(amsync_sim::SimConfig { members, ..Default::default() }, listener).await.unwrap()
}

/// A configuration with text logs and no `log.level`, as `amsync init`
/// writes it.
fn text_config(dir: &std::path::Path, ams: &str, port: u16) -> std::path::PathBuf {
    let path = dir.join("amsync-text.toml");
    let text = format!(
        "[database]\nurl = \"sqlite://{db}\"\n[ams]\nbase_url = \"{ams}\"\n[member_refresh]\nbackoff_initial = \"100ms\"\n\
         [web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n",
        db = dir.join("text.db").display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// `amsync` with `args` as a child whose stdout and stderr are pipes, its
/// environment free of `RUST_LOG` and `NO_COLOR` unless `envs` sets them.
fn piped(args: &[&str], envs: &[(&str, &str)], dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(EXE);
    cmd.args(args)
        .current_dir(dir)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs a command to its end (at most 60 s); its exit status, stdout, stderr.
async fn finished(mut cmd: tokio::process::Command) -> (std::process::ExitStatus, String, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await.expect("the command ends").unwrap();
    (out.status, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Everything a child writes on stderr until it exits.
fn drain_stderr(child: &mut tokio::process::Child) -> tokio::task::JoinHandle<Vec<u8>> {
    let mut stderr = child.stderr.take().unwrap();
    tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = stderr.read_to_end(&mut out).await;
        out
    })
}

/// Polls `GET /api/v1/sync/status` at `base` until `done` holds (30 s at most).
async fn status_until(base: &str, done: impl Fn(&Value) -> bool) {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = http.get(format!("{base}/api/v1/sync/status")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let status: Value = r.json().await.unwrap();
        if done(&status) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reached within 30 s: {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM, then the child's clean end.
async fn terminate(child: &mut tokio::process::Child) {
    let pid = child.id().unwrap() as i32;
    // SAFETY: kill(2) on our own child; no memory is touched.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.expect("it stops").unwrap();
    assert!(status.success(), "{status}");
}

/// `serve` and `demo` logging into a pipe (a log file, journald) write
/// plain text: not one escape byte, though they log at `info`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_demo_write_no_colour_codes_into_a_pipe() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let sim = sim_of(5).await;
    let dir = tempfile::tempdir().unwrap();
    let port = crate::child::free_port();
    let cfg = text_config(dir.path(), &sim.base_url(), port);
    let mut serve = piped(&["serve", "--config", cfg.to_str().unwrap()], &[], dir.path()).spawn().unwrap();
    let logs = drain_stderr(&mut serve);
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !http.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(tokio::time::Instant::now() < deadline, "amsync serve did not become ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Its engine has probed the AMS: serve is past its start and listens for SIGTERM.
    status_until(&format!("http://127.0.0.1:{port}"), |s| !s["ams"].is_null()).await;
    terminate(&mut serve).await;
    let logs = logs.await.unwrap();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("INFO") && text.contains("amsync is serving"), "serve logs at info:\n{text}");
    assert!(!logs.contains(&ESC), "serve wrote escape codes into a pipe:\n{text:?}");

    let mut demo =
        piped(&["demo", "--members", "20", "--listen", "127.0.0.1:0", "--change-every", "1"], &[], dir.path())
            .spawn()
            .unwrap();
    let logs = drain_stderr(&mut demo);
    let mut lines = tokio::io::BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut dashboard = None;
    loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap();
        let line = line.expect("the demo prints what to open");
        assert!(!line.as_bytes().contains(&ESC), "{line:?}");
        if let ["dashboard", url, ..] = line.split_whitespace().collect::<Vec<_>>().as_slice() {
            dashboard = Some(url.trim_end_matches("/admin").to_string());
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    // The initial load done: the demo has logged, and listens for SIGTERM.
    let base = dashboard.expect("the demo prints its dashboard");
    status_until(&base, |s| s["members"] == 20).await;
    terminate(&mut demo).await;
    let logs = logs.await.unwrap();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("INFO"), "the demo logs at info:\n{text}");
    assert!(!logs.contains(&ESC), "the demo wrote escape codes into a pipe:\n{text:?}");
    sim.shutdown().await;
}

/// Runs `amsync <args>` with its stderr on a new pseudo-terminal, as a
/// person at a terminal would; its exit status and what the terminal got.
fn on_a_terminal(args: &[&str], envs: &[(&str, &str)], dir: &std::path::Path) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut leader, mut follower) = (0, 0);
    // SAFETY: openpty(3) writes two descriptors into the integers given;
    // the name, terminal settings and window size are optional (null).
    let rc =
        unsafe { libc::openpty(&mut leader, &mut follower, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened for us and are owned here only.
    let (mut leader, follower) = unsafe { (std::fs::File::from_raw_fd(leader), OwnedFd::from_raw_fd(follower)) };
    let mut child = {
        let mut cmd = std::process::Command::new(EXE);
        cmd.args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(follower));
        cmd.spawn().expect("amsync runs")
        // The command, and with it our copy of the terminal's follower
        // side, is dropped here: the terminal closes when the child ends.
    };
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // Linux answers EIO once the last follower descriptor is closed.
        while let Ok(n @ 1..) = leader.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    let status = child.wait().unwrap();
    (status, reader.join().unwrap())
}

/// On a terminal the text log is coloured, unless `NO_COLOR` is set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_colour_unless_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = |name: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        let text = format!(
            "[database]\nurl = \"sqlite://{}\"\n[ams]\nbase_url = \"http://127.0.0.1:9/\"\n",
            dir.path().join(format!("{name}.db")).display()
        );
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    // A fresh database each time, so `migrate` has migrations to log.
    let coloured = cfg("coloured");
    let (status, out) = on_a_terminal(&["migrate", "--verbose", "--config", &coloured], &[], dir.path());
    let text = String::from_utf8_lossy(&out);
    assert!(status.success(), "{text}");
    assert!(text.contains("INFO") && text.contains("applied a database migration"), "{text}");
    assert!(out.contains(&ESC), "a terminal gets colour: {text:?}");

    let plain = cfg("plain");
    let (status, out) = on_a_terminal(&["migrate", "--verbose", "--config", &plain], &[("NO_COLOR", "1")], dir.path());
    let text = String::from_utf8_lossy(&out);
    assert!(status.success(), "{text}");
    assert!(text.contains("INFO") && text.contains("applied a database migration"), "{text}");
    assert!(!out.contains(&ESC), "NO_COLOR is honoured: {text:?}");
}

/// Lines of the libraries' log at `info`.
fn info_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("INFO")).collect()
}

/// `migrate`, `refresh`, `status`, `check` and `backup` print their own
/// lines; the libraries' `info` lines appear beside them only with
/// `--verbose` or a `log.level` the configuration writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_for_a_person_print_their_own_lines_without_info_logs() {
    init_tracing();
    let sim = sim_of(20).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = text_config(dir.path(), &sim.base_url(), crate::child::free_port());
    let cfg = cfg.to_str().unwrap();
    let run = |args: Vec<&str>, envs: Vec<(&str, &str)>| finished(piped(&args, &envs, dir.path()));

    let (status, stdout, stderr) = run(vec!["migrate", "--config", cfg], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Applied migrations"), "{stdout}");
    assert_eq!(info_lines(&stderr), Vec::<&str>::new(), "migrate");

    let (status, _, stderr) = run(vec!["refresh", "--config", cfg, "--all"], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Listing done: 20 listed") && stderr.contains("20 refreshed"), "{stderr}");
    assert_eq!(info_lines(&stderr), Vec::<&str>::new(), "refresh");

    let (status, stdout, stderr) = run(vec!["status", "--config", cfg], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("members ") && l.contains("20")), "{stdout}");
    assert_eq!(info_lines(&stderr), Vec::<&str>::new(), "status");

    let (status, stdout, stderr) = run(vec!["check", "--config", cfg], vec![]).await;
    assert!(status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("All checks passed."), "{stdout}");
    assert_eq!(info_lines(&stderr), Vec::<&str>::new(), "check");

    let (status, stdout, stderr) = run(vec!["backup", "--config", cfg, "--out", "copy.db"], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("Backed up"), "{stdout}");
    assert_eq!(info_lines(&stderr), Vec::<&str>::new(), "backup");

    // --verbose, before or after the subcommand, brings them back.
    let (status, _, stderr) = run(vec!["refresh", "--verbose", "--config", cfg, "--member", "M000001"], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Run ") && !info_lines(&stderr).is_empty(), "{stderr}");
    let (status, _, stderr) = run(vec!["-v", "status", "--config", cfg], vec![]).await;
    assert!(status.success(), "{stderr}");
    assert!(!info_lines(&stderr).is_empty(), "{stderr}");

    // So does a level the configuration writes (here by its override).
    let (status, _, stderr) = run(vec!["status", "--config", cfg], vec![("AMSYNC_LOG__LEVEL", "info")]).await;
    assert!(status.success(), "{stderr}");
    assert!(!info_lines(&stderr).is_empty(), "{stderr}");
    sim.shutdown().await;
}
