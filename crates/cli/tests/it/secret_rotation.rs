//! SIGHUP re-reads every `*_file` secret, with the real binary: a child
//! `amsync serve` reads its AMS credentials (API key, basic password,
//! OAuth2 client secret), the credential service's own password and the
//! database URL from files. The simulated AMS is then told to accept only
//! a new credential (its control API), the files get the new values, and
//! after a SIGHUP the next AMS call sends the new secret and succeeds. The
//! database URL names a SQLite file, which a running node never switches:
//! a new one is reported as applying at the next start. (The OpenID Connect
//! client secret is rotated against a real provider in `sso::oidc`.)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amsync_sim::{ChangeRequest, SimAuth, SimConfig, SimHandle};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::child::Serve;
use crate::helpers::HEAVY;

pub const ADMIN: &str = "rotation-admin-token-0123456789";
pub const MEMBERS: usize = 30;

/// A child node's files and its configuration.
pub struct Files {
    pub dir: tempfile::TempDir,
    pub cfg: PathBuf,
    pub log: PathBuf,
    pub db: PathBuf,
}

impl Files {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a secret file as an operator would (with a line break).
    pub fn write(&self, name: &str, value: &str) {
        std::fs::write(self.path(name), format!("{value}\n")).unwrap();
    }
}

/// `amsync serve`'s configuration: the database URL and the admin token
/// from files, the AMS at `ams` authenticated by `auth` (an inline table;
/// none when empty), the periodic refresh every `periodic`, then `extra`
/// (whole sections).
pub fn files(ams: &str, auth: &str, periodic: &str, extra: &str) -> Files {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let text = format!(
        r#"
[database]
url_file = "{database}"

[ams]
kind = "http-json"
base_url = "{ams}"
{auth}
timeout = "2s"

[periodic_refresh]
interval = "{periodic}"

[events]
interval = "1h"

[member_refresh]
workers = 4
backoff_initial = "50ms"
backoff_max = "500ms"

[web]
admin_token_file = "{admin}"
{extra}
"#,
        database = at("database_url"),
        admin = at("admin"),
        auth = if auth.is_empty() { String::new() } else { format!("auth = {auth}") },
    );
    let files = Files { cfg: dir.path().join("amsync.toml"), log: dir.path().join("amsync.log"), db, dir };
    std::fs::write(&files.cfg, text).unwrap();
    files.write("database_url", &format!("sqlite://{}", files.db.display()));
    files.write("admin", ADMIN);
    files
}

pub async fn sim(auth: SimAuth) -> SimHandle {
    let config = SimConfig { members: MEMBERS, auth, ..SimConfig::default() };
    amsync_sim::start(config, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await.unwrap()
}

pub async fn api(serve: &Serve, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, serve.url(path)).bearer_auth(ADMIN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Waits until the node holds every member and its queue is empty.
pub async fn wait_for_the_load(serve: &Serve) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = api(serve, reqwest::Method::GET, "/api/v1/sync/status", None).await;
        if v["members"] == MEMBERS && v["queue"]["queued"] == 0 && v["queue"]["running"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the load did not finish: {v}\n{}",
            std::fs::read_to_string(&serve.log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the node's log holds `needle` `times` times.
pub async fn wait_for_log(log: &Path, needle: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(log).unwrap_or_default().matches(needle).count() < times {
        assert!(Instant::now() < deadline, "the log never said {needle:?} {times} time(s)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Changes a member's last name in the AMS; returns the new name.
pub fn change_in_the_ams(sim: &SimHandle, key: &str, tag: &str) -> String {
    let name = format!("Rotated-{tag}");
    let change = ChangeRequest {
        details: Some(json!({ "last_name": name }).as_object().unwrap().clone()),
        ..Default::default()
    };
    sim.sim().change(key, &change).unwrap();
    name
}

/// Refreshes `key` now and asserts that it fetched the member: the AMS
/// call was accepted.
pub async fn refresh_succeeds(serve: &Serve, key: &str, name: &str) {
    let body = json!({ "keys": [key], "wait": true });
    let (status, v) = api(serve, reqwest::Method::POST, "/api/v1/refresh", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["run"]["counts"]["changed"], 1, "the refresh fetched the changed member: {v}");
    let (_, member) = api(serve, reqwest::Method::GET, &format!("/api/v1/members/{key}"), None).await;
    assert!(member.to_string().contains(name), "{member}");
}

/// SIGHUP, then waits for the reload's log line (the `n`th).
pub async fn hangup(serve: &Serve, n: usize) {
    serve.signal(libc::SIGHUP);
    wait_for_log(&serve.log, "secrets reloaded", n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_the_ams_api_key_the_credential_services_password_and_reports_the_database_url() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    let key = |v: &str| SimAuth::ApiKey { header: "X-Api-Key".into(), value: v.into() };
    let basic = |p: &str| SimAuth::Basic { user: "amsync-auth".into(), pass: p.into() };
    let ams = sim(key("key-old")).await;
    // The credential service is another system with its own credential.
    let service = sim(basic("auth-old")).await;
    let secrets_dir = tempfile::tempdir().unwrap();
    let at = |name: &str| secrets_dir.path().join(name).display().to_string();
    let extra = format!(
        r#"
[auth]
kind = "http-json"
base_url = "{service}"
auth = {{ kind = "basic", username = "amsync-auth", password_file = "{password}" }}
"#,
        service = service.base_url(),
        password = at("auth_password"),
    );
    let ams_auth = format!(r#"{{ kind = "api_key", header = "X-Api-Key", value_file = "{}" }}"#, at("ams_key"));
    let f = files(&ams.base_url(), &ams_auth, "1h", &extra);
    std::fs::write(at("ams_key"), "key-old\n").unwrap();
    std::fs::write(at("auth_password"), "auth-old\n").unwrap();
    let serve = Serve::start(&f.cfg, &[], &f.log).await;
    wait_for_the_load(&serve).await;
    let sign_in = || {
        reqwest::Client::new()
            .post(serve.url("/api/v1/auth/token"))
            .json(&json!({"grant_type": "password", "username": "M000004", "password": "pw-M000004"}))
            .send()
    };
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::OK, "a sign-in checked by the credential service");
    // Its login-time refresh of the member is done before the rotation.
    wait_for_the_load(&serve).await;

    // Both systems take new credentials; the old ones are refused from now on.
    ams.sim().set_auth(key("key-new"));
    service.sim().set_auth(basic("auth-new"));
    let old = reqwest::Client::new().get(format!("{}/members/M000003", ams.base_url())).header("X-Api-Key", "key-old");
    assert_eq!(old.send().await.unwrap().status(), StatusCode::UNAUTHORIZED, "the AMS refuses the old key");
    let name = change_in_the_ams(&ams, "M000003", "api-key");
    std::fs::write(at("ams_key"), "key-new\n").unwrap();
    std::fs::write(at("auth_password"), "auth-new\n").unwrap();
    // The database URL file now names another file: not switched to.
    let elsewhere = f.path("elsewhere.db");
    f.write("database_url", &format!("sqlite://{}", elsewhere.display()));
    hangup(&serve, 1).await;

    refresh_succeeds(&serve, "M000003", &name).await;
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::OK, "the credential service's new password is sent");
    let (_, status) = api(&serve, reqwest::Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(status["members"], MEMBERS, "the node keeps its database");
    assert!(!elsewhere.exists(), "no other database was opened");
    serve.stop().await;

    let log = std::fs::read_to_string(&f.log).unwrap();
    let reload = log.lines().find(|l| l.contains("secrets reloaded")).unwrap();
    for k in ["ams.auth.value_file", "auth.auth.password_file", "database.url_file"] {
        assert!(reload.contains(k), "the reload names {k}: {reload}");
    }
    assert!(log.contains("the new URL applies at the next start"), "{log}");
    for secret in ["key-old", "key-new", "auth-old", "auth-new"] {
        assert!(!log.contains(secret), "{secret} appears in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_the_ams_basic_password() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    let basic = |p: &str| SimAuth::Basic { user: "amsync".into(), pass: p.into() };
    let ams = sim(basic("pass-old")).await;
    let secrets_dir = tempfile::tempdir().unwrap();
    let password = secrets_dir.path().join("password");
    std::fs::write(&password, "pass-old\n").unwrap();
    let auth = format!(r#"{{ kind = "basic", username = "amsync", password_file = "{}" }}"#, password.display());
    let f = files(&ams.base_url(), &auth, "1h", "");
    let serve = Serve::start(&f.cfg, &[], &f.log).await;
    wait_for_the_load(&serve).await;

    ams.sim().set_auth(basic("pass-new"));
    let name = change_in_the_ams(&ams, "M000005", "basic");
    std::fs::write(&password, "pass-new\n").unwrap();
    hangup(&serve, 1).await;
    refresh_succeeds(&serve, "M000005", &name).await;
    serve.stop().await;
    let log = std::fs::read_to_string(&f.log).unwrap();
    assert!(log.lines().any(|l| l.contains("secrets reloaded") && l.contains("ams.auth.password_file")), "{log}");
}

/// The OAuth2 configuration of `[ams]` against the sim, the client secret in `secret_file`.
pub fn oauth2_auth(ams: &SimHandle, secret_file: &Path) -> String {
    format!(
        r#"{{ kind = "oauth2", token_url = "{}/oauth/token", client_id = "amsync", client_secret_file = "{}" }}"#,
        ams.base_url(),
        secret_file.display()
    )
}

pub fn oauth2(secret: &str, token_ttl_secs: u64) -> SimAuth {
    SimAuth::OAuth2 { client_id: "amsync".into(), client_secret: secret.into(), token_ttl_secs }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_the_oauth2_client_secret_and_fetches_a_token_with_it() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    let ams = sim(oauth2("secret-old", 3600)).await;
    let secrets_dir = tempfile::tempdir().unwrap();
    let secret = secrets_dir.path().join("client_secret");
    std::fs::write(&secret, "secret-old\n").unwrap();
    let f = files(&ams.base_url(), &oauth2_auth(&ams, &secret), "1h", "");
    let serve = Serve::start(&f.cfg, &[], &f.log).await;
    wait_for_the_load(&serve).await;
    let fetches = || ams.sim().stats().oauth_token;
    assert_eq!(fetches(), 1, "one token for the whole load");

    // The authorization server takes a new secret; the token it issued
    // before stays good (as with most servers), so only a client that
    // drops its token on a new secret fetches one.
    ams.sim().set_auth(oauth2("secret-new", 3600));
    let name = change_in_the_ams(&ams, "M000007", "oauth2");
    std::fs::write(&secret, "secret-new\n").unwrap();
    hangup(&serve, 1).await;
    refresh_succeeds(&serve, "M000007", &name).await;
    assert_eq!(
        fetches(),
        2,
        "a token was fetched with the new secret: the AMS refuses the old one, and the refresh succeeded"
    );
    serve.stop().await;
}
