//! A test AMS: a real axum server on 127.0.0.1:0 speaking the contract in
//! one encoding, serving the fixture files (the contract's documented
//! examples) or, once told to, a [`SourceFixture`]'s data rendered by the
//! simulator's renderers (the HTTP kinds' conformance harness), checking
//! our authentication, and able to misbehave on request (scripted answers,
//! delays, endless bodies).

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amsync_ams::memory::SourceFixture;
use amsync_ams::HttpEncoding;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use url::Url;

use crate::http::support::fixture;

/// The base path the contract is served under, to check base URL joining.
pub const BASE_PATH: &str = "/api";
pub const CLIENT_ID: &str = "amsync";
pub const CLIENT_SECRET: &str = "client-s3cret";

/// How the test AMS wants us to authenticate.
#[derive(Debug, Clone, Default)]
pub enum ServerAuth {
    #[default]
    None,
    ApiKey {
        header: String,
        value: String,
    },
    Basic {
        username: String,
        password: String,
    },
    /// Bearer tokens issued by `/oauth/token`.
    OAuth2,
}

/// A canned answer for calls whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ScriptBody,
    /// Answer this many times, then behave normally; `None` is forever.
    pub times: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum ScriptBody {
    Bytes(Vec<u8>),
    /// A chunked body that never ends (bytes sent are counted).
    Endless,
    /// A body that declares this Content-Length and streams it (counted).
    Declared(u64),
}

impl Script {
    pub fn new(path: &str, status: u16, body: impl Into<Vec<u8>>) -> Script {
        Script { path: path.into(), status, headers: Vec::new(), body: ScriptBody::Bytes(body.into()), times: None }
    }
    pub fn header(mut self, name: &str, value: &str) -> Script {
        self.headers.push((name.into(), value.into()));
        self
    }
    pub fn times(mut self, n: usize) -> Script {
        self.times = Some(n);
        self
    }
    pub fn body(mut self, body: ScriptBody) -> Script {
        self.body = body;
        self
    }
}

/// One request the test AMS received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The headers and form of one token request.
pub type TokenRequest = (HeaderMap, Vec<(String, String)>);

#[derive(Default)]
pub struct Ams {
    pub encoding: Option<HttpEncoding>,
    pub auth: Mutex<ServerAuth>,
    pub scripts: Mutex<VecDeque<Script>>,
    pub delay: Mutex<Duration>,
    pub hits: Mutex<Vec<Hit>>,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub streamed: Arc<AtomicU64>,
    pub valid_tokens: Mutex<HashSet<String>>,
    pub token_fetches: AtomicU64,
    pub token_expires_in: Mutex<Option<u64>>,
    pub token_delay: Mutex<Duration>,
    pub token_status: Mutex<Option<u16>>,
    pub token_requests: Mutex<Vec<TokenRequest>>,
    /// The client secret the token endpoint accepts (`CLIENT_SECRET` when unset).
    pub client_secret: Mutex<Option<String>>,
    /// The data served instead of the fixture files, when set.
    pub data: Mutex<Option<SourceFixture>>,
}

/// A running test AMS.
pub struct TestAms {
    pub url: Url,
    pub origin: Url,
    pub state: Arc<Ams>,
    pub encoding: HttpEncoding,
}

impl TestAms {
    pub async fn start(encoding: HttpEncoding) -> TestAms {
        let state = Arc::new(Ams { encoding: Some(encoding), ..Ams::default() });
        let contract = Router::new()
            .route("/health", get(health))
            .route("/members/changed", get(changed_members))
            .route("/members/{key}", get(member_details))
            .route("/members/{key}/communities", get(communities))
            .route("/members/{key}/security-groups", get(groups))
            .route("/events/changed", get(changed_events))
            .route("/auth/credentials", post(credentials))
            .route("/auth/resolve-token", post(resolve_token))
            .route("/evil", get(evil))
            .layer(axum::middleware::from_fn_with_state(state.clone(), contract_layer));
        let app = Router::new().nest(BASE_PATH, contract).route("/oauth/token", post(token)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let origin = Url::parse(&format!("http://{addr}/")).unwrap();
        let url = origin.join(BASE_PATH).unwrap();
        TestAms { url, origin, state, encoding }
    }

    pub fn token_url(&self) -> Url {
        self.origin.join("/oauth/token").unwrap()
    }

    pub fn set_auth(&self, auth: ServerAuth) {
        *self.state.auth.lock().unwrap() = auth;
    }

    pub fn script(&self, script: Script) {
        self.state.scripts.lock().unwrap().push_back(script);
    }

    /// Serves `fixture`'s data from now on, instead of the fixture files.
    pub fn serve(&self, fixture: SourceFixture) {
        *self.state.data.lock().unwrap() = Some(fixture);
    }

    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Hits whose raw path ends with `suffix`.
    pub fn hits_to(&self, suffix: &str) -> Vec<Hit> {
        self.hits().into_iter().filter(|h| h.path.ends_with(suffix)).collect()
    }

    pub fn revoke_tokens(&self) {
        self.state.valid_tokens.lock().unwrap().clear();
    }

    pub fn token_fetches(&self) -> u64 {
        self.state.token_fetches.load(Ordering::SeqCst)
    }

    pub fn streamed(&self) -> u64 {
        self.state.streamed.load(Ordering::SeqCst)
    }

    /// A body in this server's encoding: `json` or `xml`.
    pub fn pick(&self, json: &str, xml: &str) -> Vec<u8> {
        match self.encoding {
            HttpEncoding::Json => json.as_bytes().to_vec(),
            HttpEncoding::Xml => xml.as_bytes().to_vec(),
        }
    }
}

/// Records, counts in-flight calls, delays, plays scripts and checks auth.
async fn contract_layer(State(ams): State<Arc<Ams>>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    // `nest` strips the base path from the URI; the original one is what we were sent.
    let uri = parts.extensions.get::<OriginalUri>().map(|o| o.0.clone()).unwrap_or_else(|| parts.uri.clone());
    let hit = Hit {
        at: Instant::now(),
        method: parts.method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: parts.headers.clone(),
        body: body.clone(),
    };
    ams.hits.lock().unwrap().push(hit.clone());
    let now = ams.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    ams.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *ams.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let response = match take_script(&ams, &hit.path) {
        Some(script) => scripted(&ams, script),
        None => match refusal(&ams, &hit.headers) {
            Some(refusal) => refusal,
            None => next.run(Request::from_parts(parts, Body::from(body))).await,
        },
    };
    ams.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

fn take_script(ams: &Ams, path: &str) -> Option<Script> {
    let mut scripts = ams.scripts.lock().unwrap();
    let i = scripts.iter().position(|s| path.contains(&s.path))?;
    let script = scripts[i].clone();
    match scripts[i].times {
        Some(1) => {
            scripts.remove(i);
        }
        Some(n) => scripts[i].times = Some(n - 1),
        None => {}
    }
    Some(script)
}

fn scripted(ams: &Ams, script: Script) -> Response {
    let mut builder = Response::builder().status(script.status);
    for (k, v) in &script.headers {
        builder = builder.header(k, v);
    }
    let counter = ams.streamed.clone();
    let body = match script.body {
        ScriptBody::Bytes(b) => Body::from(b),
        ScriptBody::Endless => Body::from_stream(counted(counter, None)),
        ScriptBody::Declared(n) => {
            builder = builder.header(header::CONTENT_LENGTH, n);
            Body::from_stream(counted(counter, Some(n)))
        }
    };
    builder.body(body).unwrap()
}

/// 64 KiB chunks of `x`, forever or up to `limit` bytes, counting what was produced.
fn counted(
    counter: Arc<AtomicU64>,
    limit: Option<u64>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    const CHUNK: usize = 64 * 1024;
    futures::stream::unfold(0u64, move |sent| {
        let counter = counter.clone();
        async move {
            let n = match limit {
                Some(l) if sent >= l => return None,
                Some(l) => (l - sent).min(CHUNK as u64) as usize,
                None => CHUNK,
            };
            counter.fetch_add(n as u64, Ordering::SeqCst);
            Some((Ok(Bytes::from(vec![b'x'; n])), sent + n as u64))
        }
    })
}

/// The 401 for a request that is not authenticated as configured.
fn refusal(ams: &Ams, headers: &HeaderMap) -> Option<Response> {
    let auth = ams.auth.lock().unwrap().clone();
    let given = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let ok = match auth {
        ServerAuth::None => true,
        ServerAuth::ApiKey { header, value } => given(&header).as_deref() == Some(value.as_str()),
        ServerAuth::Basic { username, password } => {
            let expected = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            given("authorization") == Some(format!("Basic {expected}"))
        }
        ServerAuth::OAuth2 => {
            let token = given("authorization").and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
            let valid = token.is_some_and(|t| ams.valid_tokens.lock().unwrap().contains(&t));
            if !valid {
                return Some(
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                        "invalid token",
                    )
                        .into_response(),
                );
            }
            true
        }
    };
    (!ok).then(|| (StatusCode::UNAUTHORIZED, "who are you?").into_response())
}

fn enc(ams: &Ams) -> HttpEncoding {
    ams.encoding.expect("set at start")
}

/// The data being served instead of the fixture files, if any.
fn data(ams: &Ams) -> Option<SourceFixture> {
    ams.data.lock().unwrap().clone()
}

/// A fixture in the server's encoding, with its content type.
fn doc(ams: &Ams, status: StatusCode, name: &str) -> Response {
    let e = enc(ams);
    (status, [(header::CONTENT_TYPE, content_type(e))], fixture(e, name)).into_response()
}

fn content_type(e: HttpEncoding) -> HeaderValue {
    HeaderValue::from_static(e.media_type())
}

fn body(ams: &Ams, json: String, xml: String) -> Response {
    let e = enc(ams);
    let text = match e {
        HttpEncoding::Json => json,
        HttpEncoding::Xml => xml,
    };
    ([(header::CONTENT_TYPE, content_type(e))], text).into_response()
}

#[derive(serde::Deserialize)]
struct Listing {
    since: Option<String>,
    cursor: Option<String>,
}

async fn health() -> &'static str {
    "ok"
}

async fn changed_members(State(ams): State<Arc<Ams>>, Query(q): Query<Listing>) -> Response {
    if let Some(data) = data(&ams) {
        return super::data::changed_members(enc(&ams), &data, &q.since, &q.cursor);
    }
    match q.cursor.as_deref() {
        None => doc(&ams, StatusCode::OK, "changed_page1"),
        Some("eyJwIjoyfQ") => doc(&ams, StatusCode::OK, "changed_page2"),
        Some(_) => (StatusCode::BAD_REQUEST, "unknown cursor").into_response(),
    }
}

async fn changed_events(State(ams): State<Arc<Ams>>, Query(q): Query<Listing>) -> Response {
    if let Some(data) = data(&ams) {
        return super::data::changed_events(enc(&ams), &data, &q.since, &q.cursor);
    }
    match q.cursor.as_deref() {
        None => doc(&ams, StatusCode::OK, "events_page1"),
        Some("ev-2") => doc(&ams, StatusCode::OK, "events_page2"),
        Some(_) => (StatusCode::BAD_REQUEST, "unknown cursor").into_response(),
    }
}

/// `M000123` is the contract's example, `M000555` was merged (410),
/// `M000404` is unknown (404); any other key gets a minimal record with the
/// key as the server decoded it, so keys can be checked to round-trip.
async fn member_details(State(ams): State<Arc<Ams>>, Path(key): Path<String>) -> Response {
    if let Some(data) = data(&ams) {
        return super::data::member_details(enc(&ams), &data, &key);
    }
    match key.as_str() {
        "M000123" => doc(&ams, StatusCode::OK, "member_M000123"),
        "M000555" => doc(&ams, StatusCode::GONE, "gone_M000555"),
        "M000404" => (StatusCode::NOT_FOUND, "no such member").into_response(),
        _ => body(
            &ams,
            serde_json::json!({ "key": key }).to_string(),
            format!("<Member><MemberKey>{}</MemberKey></Member>", quick_xml::escape::escape(key.as_str())),
        ),
    }
}

async fn communities(State(ams): State<Arc<Ams>>, Path(key): Path<String>) -> Response {
    if let Some(data) = data(&ams) {
        return super::data::communities(enc(&ams), &data, &key);
    }
    match key.as_str() {
        "M000123" => doc(&ams, StatusCode::OK, "communities_M000123"),
        "M000404" => (StatusCode::NOT_FOUND, "no such member").into_response(),
        _ => body(&ams, r#"{"memberships": []}"#.into(), "<Memberships/>".into()),
    }
}

async fn groups(State(ams): State<Arc<Ams>>, Path(key): Path<String>) -> Response {
    if let Some(data) = data(&ams) {
        return super::data::groups(enc(&ams), &data, &key);
    }
    match key.as_str() {
        "M000123" => doc(&ams, StatusCode::OK, "groups_M000123"),
        "M000404" => (StatusCode::NOT_FOUND, "no such member").into_response(),
        _ => body(&ams, r#"{"groups": []}"#.into(), "<SecurityGroups/>".into()),
    }
}

/// Pulls `<Name>value</Name>` or `"name": "value"` out of a request body.
fn field(ams: &Ams, body: &[u8], json_name: &str, xml_name: &str) -> Option<String> {
    match enc(ams) {
        HttpEncoding::Json => {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            v.get(json_name)?.as_str().map(str::to_string)
        }
        HttpEncoding::Xml => {
            let text = std::str::from_utf8(body).ok()?;
            let start = text.find(&format!("<{xml_name}>"))? + xml_name.len() + 2;
            let end = text.find(&format!("</{xml_name}>"))?;
            Some(text[start..end].to_string())
        }
    }
}

async fn credentials(State(ams): State<Arc<Ams>>, body: Bytes) -> Response {
    let user = field(&ams, &body, "username", "Username");
    let pass = field(&ams, &body, "password", "Password");
    if let Some(data) = data(&ams) {
        let account =
            data.accounts.iter().find(|a| Some(&a.username) == user.as_ref() && Some(&a.password) == pass.as_ref());
        return super::data::key_answer(enc(&ams), account.map(|a| &a.key));
    }
    if user.as_deref() == Some("ada") && pass.as_deref() == Some("right-password") {
        doc(&ams, StatusCode::OK, "key_M000123")
    } else {
        (StatusCode::UNAUTHORIZED, "wrong username or password").into_response()
    }
}

async fn resolve_token(State(ams): State<Arc<Ams>>, body: Bytes) -> Response {
    let token = field(&ams, &body, "token", "Token");
    if let Some(data) = data(&ams) {
        let found = data.tokens.iter().find(|(t, _)| Some(t) == token.as_ref());
        return super::data::key_answer(enc(&ams), found.map(|(_, k)| k));
    }
    if token.as_deref() == Some("good-token") {
        doc(&ams, StatusCode::OK, "key_M000123")
    } else {
        (StatusCode::UNAUTHORIZED, "unknown token").into_response()
    }
}

/// What an external entity would point at: it must never be fetched.
async fn evil() -> &'static str {
    "SECRET FILE CONTENT"
}

async fn token(State(ams): State<Arc<Ams>>, headers: HeaderMap, Form(form): Form<Vec<(String, String)>>) -> Response {
    ams.token_requests.lock().unwrap().push((headers.clone(), form.clone()));
    ams.token_fetches.fetch_add(1, Ordering::SeqCst);
    let delay = *ams.token_delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(status) = *ams.token_status.lock().unwrap() {
        return (StatusCode::from_u16(status).unwrap(), r#"{"error": "scripted"}"#).into_response();
    }
    let secret = ams.client_secret.lock().unwrap().clone().unwrap_or_else(|| CLIENT_SECRET.to_string());
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{secret}"));
    let client_ok =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Basic {expected}"));
    let grant_ok = form.iter().any(|(k, v)| k == "grant_type" && v == "client_credentials");
    if !client_ok || !grant_ok {
        return (StatusCode::UNAUTHORIZED, r#"{"error": "invalid_client"}"#).into_response();
    }
    let n = ams.token_fetches.load(Ordering::SeqCst);
    let token = format!("tok-{n}");
    ams.valid_tokens.lock().unwrap().insert(token.clone());
    let mut answer = serde_json::json!({"access_token": token, "token_type": "Bearer"});
    if let Some(e) = *ams.token_expires_in.lock().unwrap() {
        answer["expires_in"] = e.into();
    }
    ([(header::CONTENT_TYPE, "application/json")], answer.to_string()).into_response()
}
