//! The test app: a simulated AMS, a SQLite store in a temporary directory,
//! the sync engine, and amsync's router on 127.0.0.1 (port 0), reached
//! over real HTTP. Redirects are not followed by the client, so each test
//! sees every hop; cookies are kept by a small jar.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::{AmsConfig, CredentialConfig, SourceKind};
use amsync_core::MemberKey;
use amsync_sim::demo_login::{self, DemoLogin, DemoTokens};
use amsync_sim::{SimConfig, SimHandle};
use amsync_sso::{Claims, PskKey, PskVerifier, ThrottleSettings};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::Store;
use amsync_sync::{Engine, SyncSettings};
use amsync_web::auth::Tokens;
use amsync_web::sso::{SignOn, SignOnSettings, SsoMode, TokenResolver};
use amsync_web::{AppState, WebSettings};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use url::Url;

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";
pub const SITE_TOKEN: &str = "site-token-for-tests";

/// How the app under test is built.
pub struct Options {
    pub mode: SsoMode,
    pub members: usize,
    /// Run queue workers (async login refreshes happen).
    pub workers: bool,
    pub web_service_resolve: bool,
    pub throttle: ThrottleSettings,
    pub oidc: Option<Arc<amsync_sso::OidcRp>>,
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
    pub store: Arc<SqliteStore>,
    pub state: AppState,
    pub psk: PskKey,
    pub http: reqwest::Client,
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
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap();
        let mut source_cfg = AmsConfig::http(SourceKind::HttpJson, Url::parse(&sim.base_url()).unwrap());
        source_cfg.timeout = Duration::from_secs(2);
        let no_secrets = std::collections::HashMap::<String, String>::new();
        let built = amsync_ams::build(
            &source_cfg,
            &CredentialConfig::default(),
            &mut amsync_config::ResolveNow(&no_secrets),
            None,
        )
        .unwrap();
        let dyn_store: Arc<dyn Store> = store.clone();
        let engine = Engine::new(
            dyn_store.clone(),
            built.source,
            SyncSettings { workers: 4, idle_poll: Duration::from_millis(50), ..SyncSettings::default() },
        );
        let psk = PskKey::generate("k1").unwrap();
        let stop = CancellationToken::new();
        let tokens = if opts.web_service_resolve {
            DemoTokens::ResolveService
        } else {
            DemoTokens::Psk { key: psk.clone(), audience: url.to_string() }
        };
        let (demo_listener, demo) = self::listener().await;
        demo_login::start(DemoLogin::new(sim.sim().clone(), tokens), demo_listener, stop.clone()).await.unwrap();
        let mut settings = SignOnSettings::new(opts.mode, url.clone());
        settings.login_url = Some(demo.join("/demo/login").unwrap());
        settings.login_refresh_timeout = Duration::from_secs(3);
        settings.service_timeout = Duration::from_secs(3);
        (opts.tweak)(&mut settings);
        let resolver = match opts.mode {
            SsoMode::SessionVariable if opts.web_service_resolve => Some(TokenResolver::WebService),
            SsoMode::SessionVariable => {
                Some(TokenResolver::Psk(PskVerifier::new(vec![psk.clone()], url.as_str(), Duration::from_secs(300))))
            }
            _ => None,
        };
        let credentials = built.credentials.expect("the source's own credential service");
        let sign_on =
            SignOn::new(settings, resolver, Some(credentials), opts.oidc.clone(), opts.throttle.clone()).unwrap();
        let tokens = Tokens::new(vec![SecretString::from(ADMIN_TOKEN)], vec![SecretString::from(SITE_TOKEN)]);
        let state = AppState {
            store: dyn_store,
            engine: engine.clone(),
            tokens: Arc::new(tokens),
            settings: Arc::new(WebSettings::default()),
            access: Arc::new(amsync_web::access_cache::AccessCache::new()),
            sign_on: Arc::new(sign_on),
            readiness: Arc::new(|| Box::pin(async { Ok(()) })),
        };
        if opts.workers {
            let (engine, stop) = (engine.clone(), stop.clone());
            tokio::spawn(async move { engine.run_workers_only(stop).await });
        }
        tokio::spawn(amsync_web::serve(listener, state.clone(), stop.clone()));
        TestApp { url, demo, sim, store, state, psk, http: client(), stop, _dir: dir }
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
        self.store.shutdown().await;
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
