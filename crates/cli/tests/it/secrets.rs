//! Secrets, with the real binary: a child `amsync serve` runs with every
//! secret configured (admin token from a file and its `next_*` value, the
//! site token, the AMS API key, the pre-shared SSO key from a file) at the
//! most verbose log levels, and the test drives it
//! all: the initial load, a session-variable sign-in and a replay, a
//! mobile sign-in with a password, the admin and site APIs, the
//! dashboard, `amsync status` and `amsync check`, a rotation of the admin
//! token and the SSO key by SIGHUP, and a broken rotation. Then no secret
//! it used appears in anything amsync wrote: log lines, stdout, any API or
//! dashboard body.

use std::path::Path;
use std::time::{Duration, Instant};

use amsync_sim::{SimAuth, SimConfig};
use amsync_sso::psk::{mint, Claims, PskKey};
use reqwest::header::{COOKIE, LOCATION};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::admin_client::{html_value, no_redirects, set_cookie};
use crate::child::{self, Serve};
use crate::helpers::HEAVY;

fn random_hex() -> String {
    (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// Everything amsync answered, to search for secrets at the end.
#[derive(Default)]
struct Seen {
    bodies: Vec<String>,
}

impl Seen {
    async fn body(&mut self, resp: reqwest::Response) -> (StatusCode, String) {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        self.bodies.push(text.clone());
        (status, text)
    }
}

fn param(url: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A session-variable round trip with a PSK token: `(final status, session id)`.
async fn psk_sign_in(serve: &Serve, seen: &mut Seen, token: &str) -> (StatusCode, Option<String>) {
    let http = no_redirects();
    let login = http.get(serve.url("/login?ReturnUrl=%2Fx")).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let to = login.headers()[LOCATION].to_str().unwrap().to_string();
    let (state_cookie, _) = set_cookie(&login, "amsync_sso_state").expect("a state cookie");
    seen.body(login).await;
    let callback = param(&to, "ReturnUrl").expect("the callback URL");
    let done = http.get(format!("{callback}&token={token}")).header(COOKIE, state_cookie).send().await.unwrap();
    let session = set_cookie(&done, "amsync_session").map(|(pair, _)| pair.split_once('=').unwrap().1.to_string());
    let (status, _) = seen.body(done).await;
    (status, session)
}

async fn get(serve: &Serve, seen: &mut Seen, path: &str, bearer: &str) -> (StatusCode, String) {
    let resp = reqwest::Client::new().get(serve.url(path)).bearer_auth(bearer).send().await.unwrap();
    seen.body(resp).await
}

fn config(dir: &Path, db: &Path, ams: &str, public_url: &str) -> String {
    format!(
        r#"
[database]
url = "sqlite://{db}"

[ams]
kind = "http-json"
base_url = "{ams}"
auth = {{ kind = "api_key", header = "X-Api-Key", value_env = "LEAK_AMS_KEY" }}
timeout = "2s"

[periodic_refresh]
interval = "1h"

[events]
interval = "1h"

[member_refresh]
workers = 4
backoff_initial = "50ms"
backoff_max = "500ms"

[web]
public_url = "{public_url}"
admin_token_file = "{admin}"
next_admin_token_env = "LEAK_NEXT_ADMIN"
site_token_env = "LEAK_SITE"

[sso]
mode = "session-variable"
login_url = "https://login.example.org/login"
resolve = {{ kind = "psk", keys = [{{ kid = "k1", key_file = "{psk}" }}], max_age = "5m" }}

[retention]
interval = "1s"
"#,
        db = db.display(),
        admin = dir.join("admin").display(),
        psk = dir.join("psk").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_any_output_and_file_secrets_rotate_on_sighup() {
    let _heavy = HEAVY.lock().await;
    crate::helpers::init_tracing();
    let admin_old = format!("adm-old-{}", random_hex());
    let admin_new = format!("adm-new-{}", random_hex());
    let admin_next = format!("adm-next-{}", random_hex());
    let site = format!("site-{}", random_hex());
    let ams_key = format!("ams-{}", random_hex());
    let psk_old = PskKey::generate("k1").unwrap();
    let psk_new = PskKey::generate("k1").unwrap();
    let password = "pw-M000004";

    let sim = amsync_sim::start(
        SimConfig {
            members: 30,
            auth: SimAuth::ApiKey { header: "X-Api-Key".into(), value: ams_key.clone() },
            ..SimConfig::default()
        },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("amsync.db");
    let cfg = dir.path().join("amsync.toml");
    let log = dir.path().join("amsync.log");
    let port = child::free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    std::fs::write(&cfg, config(dir.path(), &db, &sim.base_url(), &public_url)).unwrap();
    std::fs::write(dir.path().join("admin"), format!("{admin_old}\n")).unwrap();
    std::fs::write(dir.path().join("psk"), format!("{}\n", psk_old.to_base64().expose_secret())).unwrap();
    let envs = [
        ("LEAK_NEXT_ADMIN", admin_next.as_str()),
        ("LEAK_SITE", site.as_str()),
        ("LEAK_AMS_KEY", ams_key.as_str()),
        ("RUST_LOG", "debug,amsync=trace,amsync_web=trace,amsync_sync=trace,amsync_store=trace,amsync_ams=trace,amsync_sso=trace,amsync_config=trace"),
    ];
    let serve = Serve::start_on(port, &cfg, &envs, &log).await;
    let mut seen = Seen::default();
    let mut minted = Vec::new();

    // The initial load, through the AMS API key.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, status) = get(&serve, &mut seen, "/api/v1/sync/status", &admin_old).await;
        let v: Value = serde_json::from_str(&status).unwrap();
        if v["members"] == 30 && v["queue"]["queued"] == 0 && v["queue"]["running"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the load did not finish: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A session-variable sign-in, and the same token replayed.
    let token = mint(&psk_old, &Claims::new("M000003", &public_url, chrono::Utc::now(), Duration::from_secs(120)));
    minted.push(token.clone());
    let (status, session) = psk_sign_in(&serve, &mut seen, &token).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let session = session.expect("a session");
    let (status, _) = psk_sign_in(&serve, &mut seen, &token).await;
    assert_ne!(status, StatusCode::SEE_OTHER, "a replay is refused");
    let me = reqwest::Client::new()
        .get(serve.url("/me"))
        .header(COOKIE, format!("amsync_session={session}"))
        .send()
        .await
        .unwrap();
    let (_, me) = seen.body(me).await;
    assert!(me.contains("M000003"), "{me}");

    // A mobile sign-in with a password (checked by the AMS).
    let issued = reqwest::Client::new()
        .post(serve.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"grant_type": "password", "username": "M000004", "password": password}))
        .send()
        .await
        .unwrap();
    // The one answer that carries a secret by design (the token issued to
    // the app) is not searched.
    let status = issued.status();
    let issued = issued.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{issued}");
    let mobile: String = serde_json::from_str::<Value>(&issued).unwrap()["token"].as_str().unwrap().to_string();

    // The site's calls, with its token.
    for path in ["/api/v1/changes", "/api/v1/members/M000003", "/api/v1/access?member=M000003&resource=event:E1"] {
        let (status, body) = get(&serve, &mut seen, path, &site).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    for (header, value) in [("x-amsync-session", &session), ("x-amsync-bearer", &mobile)] {
        let r =
            reqwest::Client::new().get(serve.url("/api/v1/session")).bearer_auth(&site).header(header, value.as_str());
        let (_, body) = seen.body(r.send().await.unwrap()).await;
        assert!(body.contains("\"active\":true"), "{header}: {body}");
    }
    // The admin's calls, some refused.
    for path in [
        "/api/v1/sync/status",
        "/api/v1/sync/runs",
        "/api/v1/queue",
        "/api/v1/audit",
        "/api/v1/members?q=a",
        "/api/v1/members/M000003/history",
        "/api/v1/members/M000003/export",
        "/api/v1/openapi.json",
        "/metrics",
    ] {
        let (status, body) = get(&serve, &mut seen, path, &admin_old).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, _) = get(&serve, &mut seen, "/api/v1/audit", &site).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let refresh = reqwest::Client::new()
        .post(serve.url("/api/v1/refresh"))
        .bearer_auth(&admin_next)
        .json(&serde_json::json!({"keys": ["M000001"], "wait": true}))
        .send()
        .await
        .unwrap();
    let (status, body) = seen.body(refresh).await;
    assert_eq!(status, StatusCode::OK, "the next_* admin token works too: {body}");

    // The dashboard, signed in with the admin token.
    let http = no_redirects();
    let form = http.get(serve.url("/admin/login")).send().await.unwrap();
    let (login_cookie, _) = set_cookie(&form, "amsync_admin_login").unwrap();
    let (_, html) = seen.body(form).await;
    let csrf = html_value(&html, "csrf").unwrap();
    let signed = http
        .post(serve.url("/admin/login"))
        .header(COOKIE, login_cookie)
        .form(&[("token", admin_old.as_str()), ("csrf", csrf.as_str()), ("next", "/admin")])
        .send()
        .await
        .unwrap();
    let (cookie, _) = set_cookie(&signed, "amsync_admin").expect("a dashboard session");
    seen.body(signed).await;
    for path in
        ["/admin", "/admin/queue", "/admin/runs", "/admin/members?q=M", "/admin/members/M000003", "/admin/audit"]
    {
        let page = http.get(serve.url(path)).header(COOKIE, &cookie).send().await.unwrap();
        let (status, body) = seen.body(page).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }

    // `status` and `check` beside the running node.
    let cfg_arg = cfg.to_str().unwrap();
    let mut outputs = Vec::new();
    for args in [
        vec!["status", "--config", cfg_arg],
        vec!["status", "--config", cfg_arg, "--json"],
        vec!["check", "--config", cfg_arg],
    ] {
        let (code, stdout) = child::run(&args, &envs, &log).await;
        assert_eq!(code, 0, "{args:?}: {stdout}");
        outputs.push(stdout);
    }
    // A key that is not base64 is refused by name, without being repeated.
    let bad_psk = format!("not base64 {}", random_hex());
    std::fs::write(
        dir.path().join("bad.toml"),
        std::fs::read_to_string(&cfg)
            .unwrap()
            .replace(&format!("key_file = \"{}\"", dir.path().join("psk").display()), "key_env = \"LEAK_BAD_PSK\""),
    )
    .unwrap();
    let mut bad_envs = envs.to_vec();
    bad_envs.push(("LEAK_BAD_PSK", bad_psk.as_str()));
    let bad_cfg = dir.path().join("bad.toml");
    let (code, stdout) = child::run(&["check", "--config", bad_cfg.to_str().unwrap()], &bad_envs, &log).await;
    assert_eq!(code, 2, "{stdout}");
    assert!(std::fs::read_to_string(&log).unwrap().contains("LEAK_BAD_PSK must hold 32 bytes"), "named, not shown");

    // Rotation: a new admin token and SSO key in their files, then SIGHUP.
    std::fs::write(dir.path().join("admin"), format!("{admin_new}\n")).unwrap();
    std::fs::write(dir.path().join("psk"), format!("{}\n", psk_new.to_base64().expose_secret())).unwrap();
    serve.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(&serve, &mut seen, "/api/v1/sync/status", &admin_new).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "the new admin token was not taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        get(&serve, &mut seen, "/api/v1/sync/status", &admin_old).await.0,
        StatusCode::UNAUTHORIZED,
        "old refused"
    );
    assert_eq!(
        get(&serve, &mut seen, "/api/v1/sync/status", &admin_next).await.0,
        StatusCode::OK,
        "next_* still accepted"
    );
    assert_eq!(
        get(&serve, &mut seen, "/api/v1/members/M000003", &site).await.0,
        StatusCode::OK,
        "site token unchanged"
    );
    let with_old = mint(&psk_old, &Claims::new("M000005", &public_url, chrono::Utc::now(), Duration::from_secs(120)));
    let with_new = mint(&psk_new, &Claims::new("M000005", &public_url, chrono::Utc::now(), Duration::from_secs(120)));
    minted.extend([with_old.clone(), with_new.clone()]);
    assert_ne!(psk_sign_in(&serve, &mut seen, &with_old).await.0, StatusCode::SEE_OTHER, "the old key is refused");
    assert_eq!(psk_sign_in(&serve, &mut seen, &with_new).await.0, StatusCode::SEE_OTHER, "the new key signs in");
    // A broken file keeps the last good token.
    std::fs::write(dir.path().join("admin"), "").unwrap();
    serve.signal(libc::SIGHUP);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(get(&serve, &mut seen, "/api/v1/sync/status", &admin_new).await.0, StatusCode::OK);
    serve.stop().await;

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("secrets reloaded") && text.contains("web.admin_token_file"), "the reload is logged by key");
    assert!(text.contains("could not be reloaded"), "the broken file is reported");
    assert!(text.lines().count() > 200, "verbose logs were written: {} lines", text.lines().count());
    let psk_texts: Vec<String> =
        [&psk_old, &psk_new].iter().map(|k| k.to_base64().expose_secret().to_string()).collect();
    let mut secrets: Vec<(&str, String)> = vec![
        ("old admin token", admin_old.clone()),
        ("new admin token", admin_new.clone()),
        ("next admin token", admin_next.clone()),
        ("site token", site.clone()),
        ("AMS API key", ams_key.clone()),
        ("bad PSK value", bad_psk.clone()),
        ("password", password.to_string()),
        ("session id", session.clone()),
        ("mobile token", mobile.clone()),
    ];
    for k in &psk_texts {
        secrets.push(("PSK key", k.clone()));
        secrets.push(("PSK key, URL-encoded", url::form_urlencoded::byte_serialize(k.as_bytes()).collect()));
    }
    for t in &minted {
        secrets.push(("PSK token", t.clone()));
    }
    let mut everything: Vec<(String, &str)> = vec![("the log and CLI output".into(), text.as_str())];
    for (i, b) in seen.bodies.iter().enumerate() {
        everything.push((format!("answer {i}"), b.as_str()));
    }
    for (i, o) in outputs.iter().enumerate() {
        everything.push((format!("CLI stdout {i}"), o.as_str()));
    }
    let mut leaks = Vec::new();
    for (what, value) in &secrets {
        for (where_, text) in &everything {
            if text.contains(value.as_str()) {
                leaks.push(format!("the {what} appears in {where_}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}");
    assert!(seen.bodies.len() > 30, "{} answers were searched", seen.bodies.len());
}
