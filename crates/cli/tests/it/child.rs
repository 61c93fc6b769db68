//! A child `amsync` process for the tests that need the real binary: its
//! signals (SIGKILL, SIGHUP), its own configuration file and environment,
//! and every line it writes captured in a file.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A running `amsync serve`.
pub struct Serve {
    pub process: tokio::process::Child,
    pub base: String,
    /// Its stdout and stderr, appended across restarts.
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `amsync <args>` to the end with `envs`, its output appended to
/// `log`; returns the exit code and what it printed on stdout.
pub async fn run(args: &[&str], envs: &[(&str, &str)], log: &Path) -> (i32, String) {
    run_program(Path::new(env!("CARGO_BIN_EXE_amsync")), args, envs, log).await
}

/// [`run`] with another `amsync` binary (the packaged one).
pub async fn run_program(program: &Path, args: &[&str], envs: &[(&str, &str)], log: &Path) -> (i32, String) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .await
        .expect("amsync runs");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    use std::io::Write;
    f.write_all(&out.stdout).unwrap();
    f.write_all(&out.stderr).unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Serve {
    /// Starts `amsync serve --config <config>` on a free port with `envs`
    /// and waits until `/readyz` answers 200.
    pub async fn start(config: &Path, envs: &[(&str, &str)], log: &Path) -> Serve {
        Serve::start_on(free_port(), config, envs, log).await
    }

    /// [`Serve::start`] on a given port (a test that must know
    /// `web.public_url` before the start picks one with [`free_port`]).
    pub async fn start_on(port: u16, config: &Path, envs: &[(&str, &str)], log: &Path) -> Serve {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"));
        command.args(["serve", "--config"]).arg(config).envs(envs.iter().copied());
        Serve::spawn(command, port, log).await
    }

    /// Spawns `command` (an `amsync serve` of any binary: the packaging
    /// tests run the packaged one) on `port`, its output appended to `log`,
    /// and waits until `/readyz` answers 200.
    pub async fn spawn(mut command: tokio::process::Command, port: u16, log: &Path) -> Serve {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let mut process = command
            .env("AMSYNC_WEB__LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .expect("amsync starts");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status() == 200 {
                    return Serve { process, base, log: log.to_path_buf() };
                }
            }
            if let Ok(Some(status)) = process.try_wait() {
                panic!("amsync serve ended ({status}); its log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("amsync serve did not become ready; its log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    }

    /// Sends a signal (`libc::SIGHUP`, `libc::SIGTERM`).
    pub fn signal(&self, sig: i32) {
        let pid = self.process.id().expect("running") as i32;
        // SAFETY: kill(2) on our own child's pid with a valid signal number.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "signal {sig} delivered");
    }

    /// SIGTERM, then waits for a clean exit (its log flushed).
    pub async fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let status = tokio::time::timeout(Duration::from_secs(30), self.process.wait()).await;
        assert!(matches!(status, Ok(Ok(s)) if s.success()), "a clean exit: {status:?}");
    }

    /// Waits for the process to end by itself (a signal already sent),
    /// at most 30 s; its exit status.
    pub async fn exited(mut self) -> std::process::ExitStatus {
        let status = tokio::time::timeout(Duration::from_secs(30), self.process.wait()).await;
        status.expect("it exits within 30 s").expect("its exit status")
    }

    /// SIGKILL: no shutdown at all.
    pub async fn kill(mut self) {
        self.process.kill().await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with the admin token, as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let req = reqwest::Client::new().get(self.url(path)).bearer_auth(crate::helpers::ADMIN_TOKEN);
        req.send().await.unwrap().json().await.unwrap()
    }

    /// `POST path` with `body` and the admin token, as JSON.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> serde_json::Value {
        let req = reqwest::Client::new().post(self.url(path)).bearer_auth(crate::helpers::ADMIN_TOKEN).json(body);
        req.send().await.unwrap().json().await.unwrap()
    }
}
