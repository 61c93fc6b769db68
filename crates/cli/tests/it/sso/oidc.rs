//! OpenID Connect sign-on against a real provider (`oidc-provider` from the
//! npm registry, pinned in `tests/oidc-provider/package-lock.json`) started
//! by the test on 127.0.0.1: discovery, code + PKCE, state and nonce, ID
//! token validation with the provider's keys, RP-initiated logout, the
//! mobile `id_token` grant, and a client secret rotated at the provider and
//! reloaded by a child `amsync serve` on SIGHUP.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use amsync_config::OidcConfig;
use amsync_web::sso::SsoMode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

use super::helpers::*;

const MOBILE_REDIRECT: &str = "http://127.0.0.1/callback";

/// The provider's process; killed on drop.
pub(crate) struct Provider {
    pub(crate) issuer: Url,
    _child: Child,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
}

/// Installs the pinned provider once (`npm ci`) when it is not there yet.
async fn install_provider() {
    let dir = provider_dir();
    if dir.join("node_modules/oidc-provider/package.json").exists() {
        return;
    }
    let status = tokio::time::timeout(
        Duration::from_secs(240),
        Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status(),
    )
    .await
    .expect("npm ci finished in time")
    .expect("npm runs");
    assert!(status.success(), "npm ci failed");
}

pub(crate) async fn start_provider(app_url: &Url) -> Provider {
    install_provider().await;
    let mut child = Command::new("node")
        .arg("server.mjs")
        .current_dir(provider_dir())
        .env("REDIRECT_URI", app_url.join("/sso/callback").unwrap().as_str())
        .env("POST_LOGOUT_REDIRECT_URI", app_url.join("/").unwrap().as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                return Url::parse(v["issuer"].as_str().unwrap()).unwrap();
            }
        }
        panic!("the provider ended before it was ready");
    })
    .await
    .expect("the provider started in time");
    // Keep reading: a closed pipe would make the provider's next notice fail.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider { issuer, _child: child }
}

/// `[sso.oidc]` for the provider at `issuer`, and the client's secret.
fn oidc_config(issuer: &Url) -> (OidcConfig, String) {
    let config = OidcConfig {
        issuer: issuer.clone(),
        client_id: "amsync".into(),
        client_secret_env: Some(OIDC_SECRET_ENV.into()),
        client_secret_file: None,
        scopes: vec!["openid".into()],
        key_claim: "sub".into(),
        mobile_client_ids: vec!["amsync-mobile".into()],
    };
    (config, "amsync-test-secret".into())
}

/// The first form of a page: its action and its inputs (hidden values kept).
fn first_form(html: &str) -> (String, Vec<(String, String)>) {
    let start = html.find("<form").expect("a form");
    let end = html[start..].find("</form>").map(|e| start + e).unwrap_or(html.len());
    let form = &html[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
        Some(tag[at..at + tag[at..].find('"')?].replace("&amp;", "&"))
    };
    let action = attr(form, "action").expect("a form action");
    let mut inputs = Vec::new();
    for piece in form.split("<input").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if let Some(name) = attr(tag, "name") {
            inputs.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    (action, inputs)
}

/// Follows redirects and submits the provider's login and consent forms as
/// `member`, until a redirect to a URL `stop` accepts, which is returned
/// (not fetched).
async fn interact(b: &mut Browser, start: &str, member: &str, stop: impl Fn(&str) -> bool) -> String {
    let mut url = start.to_string();
    for _ in 0..20 {
        if stop(&url) {
            return url;
        }
        let resp = b.get(&url).await;
        let here = Url::parse(&url).unwrap();
        if resp.status().is_redirection() {
            url = here.join(&location(&resp)).unwrap().to_string();
            continue;
        }
        assert_eq!(resp.status(), StatusCode::OK, "at {url}");
        let html = resp.text().await.unwrap();
        let (action, mut inputs) = first_form(&html);
        for (name, value) in inputs.iter_mut() {
            match name.as_str() {
                "login" => *value = member.to_string(),
                "password" => *value = "any".to_string(),
                _ => {}
            }
        }
        let pairs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let resp = b.post_form(here.join(&action).unwrap().as_str(), &pairs).await;
        assert!(resp.status().is_redirection(), "posting {action}: {}", resp.status());
        url = here.join(&location(&resp)).unwrap().to_string();
    }
    panic!("too many hops");
}

async fn with_provider<F, Fut>(test: F)
where
    F: FnOnce(TestApp, Url) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _heavy = crate::helpers::HEAVY.lock().await;
    let (listener, url) = listener().await;
    let provider = start_provider(&url).await;
    let mut opts = Options::new(SsoMode::Oidc);
    // The node discovers the provider as `amsync serve` does.
    opts.oidc = Some(oidc_config(&provider.issuer));
    let app = TestApp::spawn_on(opts, listener, url).await;
    // The provider (and its process) lives here until the test is over.
    let issuer = provider.issuer.clone();
    tokio::time::timeout(Duration::from_secs(60), test(app, issuer)).await.expect("the test finished in time");
    drop(provider);
}

#[tokio::test]
async fn code_flow_with_pkce_signs_in_and_logs_out_at_the_provider() {
    with_provider(|app, issuer| async move {
        let mut b = Browser::default();
        let login = b.get(&app.at("/login?ReturnUrl=%2Fevents")).await;
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let auth = location(&login);
        assert!(auth.starts_with(issuer.as_str()), "{auth}");
        for p in ["state", "nonce", "code_challenge"] {
            assert!(param(&auth, p).is_some(), "{p} is sent");
        }
        assert_eq!(param(&auth, "code_challenge_method").as_deref(), Some("S256"));
        let callback_prefix = app.at("/sso/callback");
        let callback = interact(&mut b, &auth, "M000001", |u| u.starts_with(&callback_prefix)).await;
        assert!(param(&callback, "code").is_some());
        // The same code with a foreign state (another browser's round trip): refused.
        let mut other = Browser::default();
        other.get(&app.at("/login")).await;
        assert_eq!(other.get(&callback).await.status(), StatusCode::BAD_REQUEST);
        let done = b.get(&callback).await;
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&done), "/events");
        let me = b.me(&app).await;
        assert_eq!(me["member"]["key"], "M000001");
        // The code is single use at the provider.
        let mut again = b.jar.clone();
        again.0.remove("amsync_session");
        let mut replay = Browser { http: client(), jar: again };
        let resp = replay.get(&callback).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "the state cookie is spent");
        // Logout ends the session here and goes to the provider's end-session endpoint.
        let csrf = me["csrf_token"].as_str().unwrap().to_string();
        let out = b.post_form(&app.at("/logout"), &[("csrf", &csrf)]).await;
        assert_eq!(out.status(), StatusCode::SEE_OTHER);
        let end = location(&out);
        assert!(end.starts_with(issuer.as_str()), "{end}");
        assert_eq!(param(&end, "client_id").as_deref(), Some("amsync"));
        assert_eq!(param(&end, "post_logout_redirect_uri").as_deref(), Some(app.at("/").as_str()));
        assert_eq!(b.me(&app).await["signed_in"], false);
        let page = b.get(&end).await;
        assert!(page.status().is_success() || page.status().is_redirection(), "the provider knows the request");
        app.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_code_is_refused() {
    with_provider(|app, _issuer| async move {
        let mut b = Browser::default();
        let login = b.get(&app.at("/login")).await;
        let state = param(&location(&login), "state").unwrap();
        let resp = b.get(&app.at(&format!("/sso/callback?state={state}&code=forged"))).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(b.jar.get("amsync_session").is_none());
        app.shutdown().await;
    })
    .await;
}

/// The mobile app's own code flow (public client, PKCE): returns its ID token.
async fn mobile_id_token(issuer: &Url, member: &str) -> String {
    let verifier = amsync_sso::ids::random_id();
    let challenge = {
        use sha2::Digest;
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let mut auth = issuer.join("/auth").unwrap();
    auth.query_pairs_mut()
        .append_pair("client_id", "amsync-mobile")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("redirect_uri", MOBILE_REDIRECT)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "app-state")
        // A fresh nonce per sign-in, as an app does: two ID tokens of the
        // same second then differ (without a `jti`, an ID token is known by
        // its signed part).
        .append_pair("nonce", &amsync_sso::ids::random_id());
    let mut b = Browser::default();
    let back = interact(&mut b, auth.as_str(), member, |u| u.starts_with(MOBILE_REDIRECT)).await;
    let code = param(&back, "code").expect("a code");
    let token_url = issuer.join("/token").unwrap();
    let resp = client()
        .post(token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", MOBILE_REDIRECT),
            ("client_id", "amsync-mobile"),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json::<Value>().await.unwrap()["id_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_mobile_app_trades_its_id_token_for_a_bearer_token() {
    with_provider(|app, issuer| async move {
        let id_token = mobile_id_token(&issuer, "M000002").await;
        let trade = |t: String| {
            app.http.post(app.at("/api/v1/auth/token")).json(&json!({"grant_type": "id_token", "id_token": t})).send()
        };
        let resp = trade(id_token.clone()).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let token = resp.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
        let me: Value = app.http.get(app.at("/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["member"]["key"], "M000002");
        // One ID token, one exchange: a replay is refused, also once the
        // first mobile token is gone.
        let replay = trade(id_token.clone()).await.unwrap();
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(replay.json::<Value>().await.unwrap()["error"]["reason"], "replayed");
        let revoked = app.http.delete(app.at("/api/v1/auth/token")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(trade(id_token.clone()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        // A fresh ID token for the same member is a new exchange.
        let fresh = mobile_id_token(&issuer, "M000002").await;
        assert_eq!(trade(fresh).await.unwrap().status(), StatusCode::OK);
        // An altered signature, and a token for another audience, are refused.
        let mut forged = id_token.clone().into_bytes();
        let i = forged.len() - 4;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(trade(String::from_utf8(forged).unwrap()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let parts: Vec<&str> = id_token.split('.').collect();
        let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        claims["aud"] = json!("someone-else");
        let other = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
        assert_eq!(trade(other).await.unwrap().status(), StatusCode::UNAUTHORIZED);
        app.shutdown().await;
    })
    .await;
}

/// Where a test's log lines go: the text format, as `amsync serve` writes it.
#[derive(Clone, Default)]
struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The provider's `error` parameter is whatever the caller put in the link:
/// a newline in it must not start a log line of its own that a reader (or a
/// log shipper) takes for one of amsync's (issue 13).
#[tokio::test]
async fn a_forged_newline_in_the_provider_error_stays_on_its_log_line() {
    with_provider(|app, _issuer| async move {
        let sink = LogSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        // The app runs on this test's thread (a current-thread runtime).
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        let mut b = Browser::default();
        let login = b.get(&app.at("/login")).await;
        let state = param(&location(&login), "state").unwrap();
        let forged = "denied\n2030-01-01T00:00:00Z  INFO amsync: FORGED";
        let resp = b.get(&app.at(&format!("/sso/callback?state={state}&error={}", urlencode(forged)))).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        drop(guard);
        let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let line = logs.lines().find(|l| l.contains("the provider ended the sign-in")).expect("the refusal is logged");
        assert!(line.contains("provider_error=denied\\n2030-01-01T00:00:00Z  INFO amsync: FORGED"), "{line}");
        assert!(!logs.lines().any(|l| l.starts_with("2030-01-01")), "a forged line:\n{logs}");
        app.shutdown().await;
    })
    .await;
}

/// One browser sign-in at a child node through the provider: the status
/// of amsync's answer to the callback (303 when signed in).
async fn sign_in_at(base: &str, member: &str) -> StatusCode {
    let mut b = Browser::default();
    let login = b.get(&format!("{base}/login?ReturnUrl=%2Fme")).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let callback_prefix = format!("{base}/sso/callback");
    let callback = interact(&mut b, &location(&login), member, |u| u.starts_with(&callback_prefix)).await;
    b.get(&callback).await.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rotates_the_client_secret_used_at_the_token_endpoint() {
    use crate::secret_rotation::{files, sim, wait_for_the_load, Files};
    let _heavy = crate::helpers::HEAVY.lock().await;
    crate::helpers::init_tracing();
    let port = crate::child::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = start_provider(&Url::parse(&base).unwrap()).await;
    let ams = sim(amsync_sim::SimAuth::None).await;
    let secrets = tempfile::tempdir().unwrap();
    let secret = secrets.path().join("client_secret");
    std::fs::write(&secret, "amsync-test-secret\n").unwrap();
    let extra = format!(
        "public_url = \"{base}\"\n[sso]\nmode = \"oidc\"\n[sso.oidc]\nissuer = \"{}\"\nclient_id = \"amsync\"\nclient_secret_file = \"{}\"\n",
        provider.issuer,
        secret.display()
    );
    let f: Files = files(&ams.base_url(), "", "1h", &extra);
    let serve = crate::child::Serve::start_on(port, &f.cfg, &[], &f.log).await;
    wait_for_the_load(&serve).await;
    assert_eq!(sign_in_at(&base, "M000001").await, StatusCode::SEE_OTHER, "signed in with the first secret");

    // The provider takes a new secret: amsync's code exchange is refused…
    let rotate = client()
        .post(provider.issuer.join("/_test/client-secret").unwrap())
        .body("rotated-client-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(rotate.status(), StatusCode::NO_CONTENT);
    assert_ne!(sign_in_at(&base, "M000002").await, StatusCode::SEE_OTHER, "the provider refuses the old secret");
    // …until the file has it too and SIGHUP reloads it.
    std::fs::write(&secret, "rotated-client-secret\n").unwrap();
    serve.signal(libc::SIGHUP);
    crate::secret_rotation::wait_for_log(&f.log, "secrets reloaded", 1).await;
    assert_eq!(sign_in_at(&base, "M000002").await, StatusCode::SEE_OTHER, "signed in with the new secret");
    serve.stop().await;
    let log = std::fs::read_to_string(&f.log).unwrap();
    assert!(log.lines().any(|l| l.contains("secrets reloaded") && l.contains("sso.oidc.client_secret_file")), "{log}");
    assert!(!log.contains("rotated-client-secret") && !log.contains("amsync-test-secret"), "no secret in the log");
    drop(provider);
}
