//! A node as a process, from its start to its stop: a SIGTERM that comes
//! while `amsync serve` or `amsync demo` is still starting stops it cleanly
//! (exit code 0, its stop logged) instead of killing it; `amsync worker`
//! refuses a database that only one machine uses.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::child::free_port;
use crate::helpers::{init_tracing, ADMIN_TOKEN, HEAVY};

/// Sends SIGTERM to `child` as soon as something listens on `port`: the
/// node has bound its web listener and is still opening its database.
async fn sigterm_once_listening(child: &tokio::process::Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "nothing listened on port {port}");
        tokio::task::yield_now().await;
    }
    let pid = child.id().expect("running") as i32;
    // SAFETY: kill(2) on our own child's pid with a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
}

/// Waits for `child` to end; its exit code (`None` when a signal ended it)
/// and the log it wrote to `log`.
async fn exit_and_log(child: &mut tokio::process::Child, log: &Path) -> (Option<i32>, String) {
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("it ended").unwrap();
    (status.code(), std::fs::read_to_string(log).unwrap_or_default())
}

fn spawn(args: &[&str], dir: &Path, log: &Path) -> tokio::process::Child {
    let log = std::fs::File::create(log).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(args)
        .current_dir(dir)
        .env("AMSYNC_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("amsync starts")
}

/// Runs `amsync <args>` in `dir`, sends SIGTERM once it listens on `port`,
/// and asserts a clean stop: exit code 0 and the stop in its log.
async fn a_sigterm_while_starting_stops_cleanly(args: &[&str], dir: &Path, port: u16) {
    let log = dir.join("node.log");
    let mut node = spawn(args, dir, &log);
    sigterm_once_listening(&node, port).await;
    let (code, log) = exit_and_log(&mut node, &log).await;
    assert_eq!(code, Some(0), "a clean stop, not death by signal:\n{log}");
    assert!(log.lines().any(|l| l.contains("amsync stopped")), "the stop is logged:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_cleanly_on_a_sigterm_sent_while_it_starts() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = format!(
        "[ams]\nbase_url = \"http://127.0.0.1:9/\"\n[web]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n"
    );
    std::fs::write(dir.path().join("amsync.toml"), config).unwrap();
    a_sigterm_while_starting_stops_cleanly(&["serve", "--config", "amsync.toml"], dir.path(), port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_stops_cleanly_on_a_sigterm_sent_while_it_starts() {
    let _heavy = HEAVY.lock().await;
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    a_sigterm_while_starting_stops_cleanly(&["demo", "--members", "50", "--listen", &listen], dir.path(), port).await;
}

/// `amsync worker` goes through the node builder like `serve`; on SQLite
/// (one machine's file) the builder refuses it, naming what to run instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_refuses_sqlite_with_exit_2_and_says_what_to_run() {
    init_tracing();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("amsync.toml"), "[ams]\nbase_url = \"http://127.0.0.1:9/\"\n").unwrap();
    let log = dir.path().join("worker.log");
    let mut worker = spawn(&["worker", "--config", "amsync.toml"], dir.path(), &log);
    let (code, log) = exit_and_log(&mut worker, &log).await;
    assert_eq!(code, Some(2), "{log}");
    assert!(log.contains(amsync::node::WORKER_NEEDS_A_SHARED_DATABASE), "{log}");
    assert!(!dir.path().join("amsync.db").exists(), "refused before anything was opened");
}
