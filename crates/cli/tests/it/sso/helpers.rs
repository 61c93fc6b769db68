//! The test app: a simulated AMS, its sample login page, and an amsync
//! node built by the same builder as `amsync serve` (`amsync::node`): a
//! SQLite store in a temporary directory, the sync engine, sign-on, and
//! amsync's router on 127.0.0.1 (port 0), reached over real HTTP.
//! Redirects are not followed by the client, so each test sees every hop;
//! cookies are kept by a small jar.

use std::collections::BTreeMap;
use std::time::Duration;

use amsync::node::{EngineLoops, Node, Role};
use amsync_config::{Config, OidcConfig, PskKeyConfig, PskResolve, SsoResolve};
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use amsync_sim::demo_login::{self, DemoLogin, DemoTokens};
use amsync_sim::{SimConfig, SimHandle};
use amsync_sso::{Claims, PskKey, ThrottleSettings};
use amsync_store::sqlite::SqliteStore;
use amsync_web::sso::{SignOnSettings, SsoMode};
use amsync_web::AppState;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use secrecy::ExposeSecret;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use url::Url;

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";
pub const SITE_TOKEN: &str = "site-token-for-tests";
/// The variable the app's pre-shared key is read from.
const PSK_ENV: &str = "AMSYNC_TEST_SSO_PSK";
/// The variable `[sso.oidc]`'s client secret is read from.
pub const OIDC_SECRET_ENV: &str = "AMSYNC_TEST_OIDC_SECRET";

/// How the app under test is built.
pub struct Options {
    pub mode: SsoMode,
    pub members: usize,
    /// Run queue workers (async login refreshes happen).
    pub workers: bool,
    pub web_service_resolve: bool,
    pub throttle: ThrottleSettings,
    /// `[sso.oidc]`, and its client secret (in [`OIDC_SECRET_ENV`]).
    pub oidc: Option<(OidcConfig, String)>,
    pub tweak: Box<dyn FnOnce(&mut SignOnSettings) + Send>,
}

impl Options {
    pub fn new(mode: SsoMode) -> Options {
        Options {
            mode,
            members: 50,
            workers: false,
            web_service_resolve: false,
            throttle: ThrottleSettings::default(),
            oidc: None,
            tweak: Box::new(|_| {}),
        }
    }

    pub fn tweak(mut self, f: impl FnOnce(&mut SignOnSettings) + Send + 'static) -> Options {
        self.tweak = Box::new(f);
        self
    }
}

pub struct TestApp {
    pub url: Url,
    /// The simulated association's login page (`sso.login_url`'s server).
    pub demo: Url,
    pub sim: SimHandle,
    /// The node's store, as SQLite (for the tests' SQL).
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    pub psk: PskKey,
    pub http: reqwest::Client,
    /// The node, built as `amsync serve` builds it.
    pub node: Node,
    /// Stops the sample login page.
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

/// A listener on 127.0.0.1 and the URL it answers at.
pub async fn listener() -> (tokio::net::TcpListener, Url) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", l.local_addr().unwrap())).unwrap();
    (l, url)
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The configuration of the app: the simulator as source and credential
/// service, sign-on as `opts` says, the login page at `demo`.
fn config(opts: &Options, dir: &std::path::Path, sim: &SimHandle, url: &Url, demo: &Url) -> Config {
    let mut cfg = Config::default();
    cfg.database.url = Some(format!("sqlite://{}", dir.join("amsync.db").display()));
    cfg.ams.base_url = Some(Url::parse(&sim.base_url()).unwrap());
    cfg.ams.timeout = Duration::from_secs(2);
    cfg.member_refresh.workers = Some(4);
    cfg.web.listen = "127.0.0.1:0".parse().unwrap();
    cfg.web.public_url = url.clone();
    cfg.sso.mode = opts.mode;
    cfg.sso.login_url = Some(demo.join("/demo/login").unwrap());
    cfg.sso.resolve = if opts.web_service_resolve {
        SsoResolve::WebService
    } else {
        let key = PskKeyConfig { kid: "k1".into(), key_env: Some(PSK_ENV.into()), key_file: None };
        SsoResolve::Psk(PskResolve { keys: vec![key], max_age: Duration::from_secs(300) })
    };
    cfg.sso.oidc = opts.oidc.as_ref().map(|(oidc, _)| oidc.clone());
    cfg
}

impl TestApp {
    pub async fn spawn(opts: Options) -> TestApp {
        let (l, url) = listener().await;
        Self::spawn_on(opts, l, url).await
    }

    pub async fn spawn_on(opts: Options, listener: tokio::net::TcpListener, url: Url) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim =
            amsync_sim::start(SimConfig { members: opts.members, ..SimConfig::default() }, sim_listener).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let psk = PskKey::generate("k1").unwrap();
        let stop = CancellationToken::new();
        let tokens = if opts.web_service_resolve {
            DemoTokens::ResolveService
        } else {
            DemoTokens::Psk { key: psk.clone(), audience: url.to_string() }
        };
        let (demo_listener, demo) = self::listener().await;
        demo_login::start(DemoLogin::new(sim.sim().clone(), tokens), demo_listener, stop.clone()).await.unwrap();
        let cfg = config(&opts, dir.path(), &sim, &url, &demo);
        let mut env = std::collections::HashMap::from([
            ("AMSYNC_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string()),
            ("AMSYNC_SITE_TOKEN".to_string(), SITE_TOKEN.to_string()),
            (PSK_ENV.to_string(), psk.to_base64().expose_secret().to_string()),
        ]);
        if let Some((_, secret)) = &opts.oidc {
            env.insert(OIDC_SECRET_ENV.to_string(), secret.clone());
        }
        let Options { workers, throttle, tweak, .. } = opts;
        let mut node = Node::builder(&cfg, &env, Role::Serve)
            .listener(listener)
            .tune(move |s| {
                // Login refreshes are left queued unless the test runs workers.
                s.engine_loops = if workers { EngineLoops::WorkersOnly } else { EngineLoops::None };
                s.sync.idle_poll = Duration::from_millis(50);
                s.thresholds = Thresholds::unlimited();
                s.throttle = throttle;
                s.sign_on.login_refresh_timeout = Duration::from_secs(3);
                s.sign_on.service_timeout = Duration::from_secs(3);
                tweak(&mut s.sign_on);
            })
            .build()
            .await
            .expect("the test node builds");
        node.start();
        let state = node.web.as_ref().expect("a serving node").state.clone();
        let store = crate::helpers::sqlite_of(&node);
        TestApp { url, demo, sim, store, state, psk, http: client(), node, stop, _dir: dir }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url.as_str().trim_end_matches('/'), path)
    }

    /// A PSK token for `member` made with the app's key, valid for `ttl`.
    pub fn token(&self, member: &str) -> String {
        amsync_sso::psk::mint(
            &self.psk,
            &Claims::new(member, self.url.as_str(), chrono::Utc::now(), Duration::from_secs(120)),
        )
    }

    /// Loads a member into the store by a serial refresh (as if known).
    pub async fn load(&self, member: &str) {
        self.state.engine.refresh_member_now(&key(member), amsync_core::Trigger::Manual, None).await.unwrap();
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        self.sim.shutdown().await;
        self.node.stop().await;
    }
}

pub fn key(k: &str) -> MemberKey {
    MemberKey::parse(k).unwrap()
}

/// A cookie jar for one browser: name → value, from `Set-Cookie` headers.
#[derive(Debug, Default, Clone)]
pub struct Jar(pub BTreeMap<String, String>);

impl Jar {
    pub fn take(&mut self, headers: &HeaderMap) {
        for v in headers.get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// A browser: a client and a jar.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Jar,
}

impl Default for Browser {
    fn default() -> Self {
        Browser { http: client(), jar: Jar::default() }
    }
}

impl Browser {
    pub async fn get(&mut self, url: &str) -> Response {
        let mut req = self.http.get(url);
        if !self.jar.0.is_empty() {
            req = req.header(COOKIE, self.jar.header());
        }
        let resp = req.send().await.unwrap();
        self.jar.take(resp.headers());
        resp
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Response {
        let mut req = self.http.post(url).form(form);
        if !self.jar.0.is_empty() {
            req = req.header(COOKIE, self.jar.header());
        }
        let resp = req.send().await.unwrap();
        self.jar.take(resp.headers());
        resp
    }

    /// `GET /me` as JSON.
    pub async fn me(&mut self, app: &TestApp) -> serde_json::Value {
        let resp = self.get(&app.at("/me")).await;
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.unwrap()
    }
}

pub fn location(resp: &Response) -> String {
    resp.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location in {}", resp.status()))
        .to_str()
        .unwrap()
        .to_string()
}

/// A query parameter of a URL.
pub fn param(url: &str, name: &str) -> Option<String> {
    Url::parse(url).ok()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Session-variable sign-in: `GET /login?ReturnUrl=…`, then the callback
/// with a fresh PSK token for `member`. Returns the callback's answer.
pub async fn psk_sign_in(app: &TestApp, b: &mut Browser, member: &str, return_url: &str) -> Response {
    let login = b.get(&app.at(&format!("/login?ReturnUrl={}", urlencode(return_url)))).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let callback = param(&location(&login), "ReturnUrl").expect("callback URL sent to the login page");
    let url = format!("{callback}&token={}", app.token(member));
    b.get(&url).await
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
