//! `amsync serve` under systemd, with the real binary and no systemd: the
//! test is the service manager. It listens on a datagram socket named by
//! `NOTIFY_SOCKET` (as `Type=notify` units get) and hands the admin token
//! as a credential (`$CREDENTIALS_DIRECTORY`, as `LoadCredential=` does),
//! named in the config by a relative `admin_token_file`. The node says
//! READY=1 once `/readyz` answers, RELOADING=1 then READY=1 around a
//! SIGHUP (which re-reads the credential), STOPPING=1 at SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

use amsync_sim::SimConfig;

use crate::child::Serve;
use crate::helpers::HEAVY;

/// The service manager's end of `NOTIFY_SOCKET`.
pub struct NotifySocket {
    socket: UnixDatagram,
}

impl NotifySocket {
    pub fn bind(path: &Path) -> NotifySocket {
        let socket = UnixDatagram::bind(path).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        NotifySocket { socket }
    }

    /// The next datagram's lines (a blocking read, at most 30 s).
    pub fn next(&self) -> Vec<String> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).expect("a notification within 30 s");
        String::from_utf8_lossy(&buf[..n]).lines().map(str::to_string).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_reloading_and_stopping_reach_systemd_and_secrets_come_from_credentials() {
    let _heavy = HEAVY.lock().await;
    let sim = amsync_sim::start(
        SimConfig { members: 10, ..SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(credentials.join("admin_token"), "credential-admin-token-0123456789\n").unwrap();
    let cfg = dir.path().join("amsync.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[ams]\nbase_url = \"{}\"\n[web]\nadmin_token_file = \"admin_token\"\n",
            dir.path().join("amsync.db").display(),
            sim.base_url()
        ),
    )
    .unwrap();
    let notify = dir.path().join("notify");
    let socket = NotifySocket::bind(&notify);
    let envs = [
        ("NOTIFY_SOCKET", notify.to_str().unwrap()),
        ("CREDENTIALS_DIRECTORY", credentials.to_str().unwrap()),
        ("RUST_LOG", "info"),
    ];
    let log = dir.path().join("amsync.log");
    let serve = Serve::start(&cfg, &envs, &log).await;

    let ready = socket.next();
    assert!(ready.contains(&"READY=1".to_string()), "{ready:?}");
    assert!(ready.contains(&"STATUS=amsync serve is running".to_string()), "{ready:?}");
    let status = |token: &'static str| {
        let url = serve.url("/api/v1/sync/status");
        async move { reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(status("credential-admin-token-0123456789").await, 200, "the credential is the admin token");

    // A rotated credential, then `systemctl reload` (ExecReload sends SIGHUP).
    std::fs::write(credentials.join("admin_token"), "rotated-admin-token-0123456789\n").unwrap();
    serve.signal(libc::SIGHUP);
    let reloading = socket.next();
    assert!(reloading.contains(&"RELOADING=1".to_string()), "{reloading:?}");
    assert!(reloading.iter().any(|l| l.starts_with("MONOTONIC_USEC=")), "{reloading:?}");
    let reloaded = socket.next();
    assert!(reloaded.contains(&"READY=1".to_string()), "{reloaded:?}");
    assert_eq!(status("rotated-admin-token-0123456789").await, 200);
    assert_eq!(status("credential-admin-token-0123456789").await, 401);

    serve.signal(libc::SIGTERM);
    let stopping = socket.next();
    assert!(stopping.contains(&"STOPPING=1".to_string()), "{stopping:?}");
    assert!(serve.exited().await.success(), "a clean exit");
}
