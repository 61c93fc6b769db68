//! Shared helpers: `TestApp::spawn()` starts a simulated AMS, a SQLite
//! store in a temporary directory, the engine's workers and the web API on
//! port 0, and offers one method per thing a test does. Polls are driven by
//! the test (no scheduler runs), so nothing happens behind a test's back.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::{AmsConfig, CredentialConfig, HttpEncoding};
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use amsync_sim::{Faults, SimConfig, SimHandle};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{Run, RunOutcome, SafetyStore, Store};
use amsync_sync::poll::PollReport;
use amsync_sync::{Engine, PollMode, QuarantineMonitor, QuarantineSettings, Schedule, SyncSettings};
use amsync_web::access_cache::AccessCache;
use amsync_web::auth::Tokens;
use amsync_web::{AppState, WebSettings};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
pub const SITE_TOKEN: &str = "test-site-token-0123456789";

/// Tests that start processes or push a lot of traffic take this lock so
/// they do not run at the same time as each other.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone)]
pub struct AppOptions {
    pub members: usize,
    pub seed: u64,
    /// `http-json` or `http-xml`.
    pub encoding: HttpEncoding,
    pub page_size: usize,
    pub workers: usize,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub lease: Duration,
    /// `communities.timezone`: whose "today" decides which memberships are current.
    pub timezone: chrono_tz::Tz,
    /// `[thresholds]`: none unless a test says so (the test populations are
    /// small: the product's 2 % of 50 members would hold a single disable;
    /// the tests of the safety nets set their own).
    pub thresholds: Thresholds,
    /// `[quarantine]` (the product's defaults, probing every 200 ms).
    pub quarantine: QuarantineSettings,
    /// Another AMS than the simulator (a test's own server); the simulator
    /// still runs.
    pub ams_url: Option<String>,
    /// `ams.max_body` (the product's 8 MiB when absent).
    pub ams_max_body: Option<u64>,
    /// `ams.max_pages` (the product's 100,000 when absent).
    pub max_pages: Option<u64>,
    /// `ams.http_version`.
    pub http_version: amsync_ams::HttpVersion,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            members: 200,
            seed: 42,
            encoding: HttpEncoding::Json,
            page_size: 100,
            workers: 16,
            timeout: Duration::from_secs(5),
            max_attempts: 8,
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(500),
            lease: Duration::from_secs(10),
            timezone: chrono_tz::UTC,
            thresholds: Thresholds::unlimited(),
            quarantine: QuarantineSettings { poll_floor: Duration::from_millis(200), ..QuarantineSettings::default() },
            ams_url: None,
            ams_max_body: None,
            max_pages: None,
            http_version: amsync_ams::HttpVersion::Auto,
        }
    }
}

pub struct TestApp {
    pub sim: SimHandle,
    pub store: Arc<SqliteStore>,
    pub engine: Arc<Engine>,
    /// The web layer's access policy cache.
    pub access: Arc<AccessCache>,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
    tasks: tokio::task::JoinSet<()>,
}

/// Logging for tests (`RUST_LOG`), and the one TLS crypto provider.
pub fn init_tracing() {
    amsync_ams::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

/// `/readyz`'s schema check, as `amsync serve` wires it.
pub fn readiness(store: &Arc<SqliteStore>) -> amsync_web::Readiness {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move {
            let s = store.pending_migrations().await.map_err(|e| e.to_string())?;
            if s.is_current() {
                Ok(())
            } else {
                Err(format!("schema version {} of {}; pending: {:?}", s.current, s.latest, s.pending))
            }
        })
    })
}

pub fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(o: AppOptions) -> TestApp {
        init_tracing();
        amsync_ams::install_crypto_provider();
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = amsync_sim::start(
            SimConfig { members: o.members, seed: o.seed, page_size: o.page_size, ..SimConfig::default() },
            sim_listener,
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap();
        store.set_thresholds(o.thresholds);
        let ams_url = o.ams_url.clone().unwrap_or_else(|| sim.base_url());
        let mut ams = AmsConfig::http(o.encoding.kind(), url::Url::parse(&ams_url).unwrap());
        if let Some(max) = o.ams_max_body {
            ams.max_body = max;
        }
        ams.timeout = o.timeout;
        ams.http_version = o.http_version;
        ams.max_concurrency = (o.workers * 3) as u32;
        // Every call the source (and its credential service) makes feeds
        // the quarantine's window, as `amsync serve` wires it.
        let monitor = QuarantineMonitor::new(o.quarantine.clone());
        let no_secrets = std::collections::HashMap::<String, String>::new();
        let built = amsync_ams::build(
            &ams,
            &CredentialConfig::default(),
            &mut amsync_config::ResolveNow(&no_secrets),
            Some(monitor.clone()),
        )
        .unwrap();
        let settings = SyncSettings {
            role: "test".into(),
            workers: o.workers,
            retry: amsync_core::queue::RetryPolicy {
                max_attempts: o.max_attempts,
                backoff_initial: o.backoff_initial,
                backoff_max: o.backoff_max,
            },
            lease: o.lease,
            page_attempts: 3,
            idle_poll: Duration::from_millis(20),
            probe_interval: Duration::from_millis(200),
            rescue_interval: Duration::from_millis(200),
            heartbeat_interval: Duration::from_millis(200),
            periodic: Schedule::Interval(Duration::from_secs(3600)),
            events: Schedule::Interval(Duration::from_secs(3600)),
            quarantine: o.quarantine.clone(),
            max_pages: o.max_pages.unwrap_or(SyncSettings::default().max_pages),
            ..SyncSettings::default()
        };
        let dyn_store: Arc<dyn Store> = store.clone();
        let engine = Engine::with_monitor(dyn_store.clone(), built.source, settings, monitor);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Sign-in with the simulator's credentials (its own tests are in amsync-web).
        let sign_on = amsync_web::sso::SignOn::new(
            amsync_web::sso::SignOnSettings::new(
                amsync_web::sso::SsoMode::Credentials,
                url::Url::parse(&base).unwrap(),
            ),
            None,
            built.credentials,
            None,
            amsync_sso::ThrottleSettings::default(),
        )
        .unwrap();
        let access = Arc::new(AccessCache::new());
        let state = AppState {
            store: dyn_store,
            engine: engine.clone(),
            tokens: Arc::new(Tokens::new(vec![ADMIN_TOKEN.into()], vec![SITE_TOKEN.into()])),
            settings: Arc::new(WebSettings { timezone: o.timezone, ..WebSettings::default() }),
            access: access.clone(),
            sign_on: Arc::new(sign_on),
            readiness: readiness(&store),
        };
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        {
            let stop = stop.clone();
            tasks.spawn(async move {
                amsync_web::serve(listener, state, stop).await.unwrap();
            });
        }
        {
            let engine = engine.clone();
            let stop = stop.clone();
            tasks.spawn(async move {
                engine.run_workers_only(stop).await.unwrap();
            });
        }
        TestApp { sim, store, engine, access, base, client: reqwest::Client::new(), dir, stop, tasks }
    }

    pub async fn stop(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        self.store.shutdown().await;
    }

    /// Waits until `run` finishes (the workers run in the background).
    pub async fn wait_run(&self, run: i64) -> Run {
        let r = self.engine.wait_for_run(run, Some(Duration::from_secs(60))).await.unwrap().expect("the run exists");
        assert_ne!(r.outcome, RunOutcome::Running, "run {run} did not finish within 60s: {r:?}");
        r
    }

    /// A poll of `mode` and the refreshes it enqueued, to the end.
    pub async fn poll(&self, mode: PollMode) -> (PollReport, Run) {
        let report = self.engine.poll_members(mode).await.unwrap();
        let run = self.wait_run(report.run_id).await;
        (report, run)
    }

    pub async fn full_refresh(&self) -> (PollReport, Run) {
        self.poll(PollMode::Full).await
    }

    /// Refreshes keys as a manual run and waits for it.
    pub async fn refresh_keys(&self, keys: &[&str]) -> Run {
        let keys: Vec<MemberKey> = keys.iter().map(|k| key(k)).collect();
        let run = self.engine.refresh_keys(&keys, amsync_core::Trigger::Manual, Value::Null).await.unwrap();
        self.wait_run(run).await
    }

    pub fn set_faults(&self, faults: Faults) {
        self.sim.set_faults(faults);
    }

    pub fn clear_faults(&self) {
        self.sim.set_faults(Faults::default());
    }

    // ---- the API ----------------------------------------------------------

    async fn send(&self, req: reqwest::RequestBuilder, token: Option<&str>) -> (StatusCode, Value) {
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.expect("the API answers");
        let status = resp.status();
        let body = resp.bytes().await.unwrap();
        let value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)), Some(ADMIN_TOKEN)).await
    }

    pub async fn get_as(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)), token).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body), Some(ADMIN_TOKEN)).await
    }

    pub async fn post_as(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body), token).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body), Some(ADMIN_TOKEN)).await
    }

    pub async fn put_as(&self, path: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.put(format!("{}{path}", self.base)).json(&body), token).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.delete_as(path, Some(ADMIN_TOKEN)).await
    }

    pub async fn delete_as(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.delete(format!("{}{path}", self.base)), token).await
    }

    /// `GET /api/v1/access` for a member (or a visitor), asserting a 200;
    /// returns (allowed, reason).
    pub async fn decide(&self, member: Option<&str>, resource: &str) -> (bool, String) {
        self.decide_on(member, resource, None).await
    }

    /// As [`TestApp::decide`], on a given day (`YYYY-MM-DD`).
    pub async fn decide_on(&self, member: Option<&str>, resource: &str, day: Option<&str>) -> (bool, String) {
        let mut query: Vec<(&str, &str)> = vec![("resource", resource)];
        if let Some(m) = member {
            query.push(("member", m));
        }
        if let Some(d) = day {
            query.push(("day", d));
        }
        let req = self.client.get(format!("{}/api/v1/access", self.base)).query(&query);
        let (status, body) = self.send(req, Some(SITE_TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "access {member:?} {resource}: {body}");
        (body["allowed"].as_bool().expect("allowed is a bool"), body["reason"].as_str().unwrap_or_default().to_string())
    }

    /// Effective group keys of a member document.
    pub async fn effective_groups(&self, key: &str) -> Vec<String> {
        let doc = self.member(key).await;
        doc["security_groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap().to_string()).collect()
    }

    /// The member document, asserting it exists.
    pub async fn member(&self, key: &str) -> Value {
        let (status, doc) = self.get(&format!("/api/v1/members/{key}")).await;
        assert_eq!(status, StatusCode::OK, "member {key}: {doc}");
        doc
    }
}

/// Compares the API's member document with the simulator's truth, field by
/// field; returns the differences (empty when equal).
pub fn differences(doc: &Value, truth: &amsync_sim::MemberTruth) -> Vec<String> {
    let mut out = Vec::new();
    let details = serde_json::to_value(&truth.details).unwrap();
    for (field, want) in details.as_object().unwrap() {
        let got = if field == "status" { &doc["ams_status"] } else { &doc[field] };
        if got != want {
            out.push(format!("{}: {field}: API {got} != AMS {want}", truth.key));
        }
    }
    let mut want_memberships: Vec<Value> = truth.memberships.iter().map(|m| serde_json::to_value(m).unwrap()).collect();
    let mut got_memberships: Vec<Value> = doc["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m.as_object_mut().unwrap().remove("current");
            m
        })
        .collect();
    let sort = |v: &mut Vec<Value>| v.sort_by_key(|m| format!("{}|{}", m["community"]["key"], m["begin"]));
    sort(&mut want_memberships);
    sort(&mut got_memberships);
    if want_memberships != got_memberships {
        out.push(format!("{}: memberships: API {got_memberships:?} != AMS {want_memberships:?}", truth.key));
    }
    let mut want_groups: Vec<String> = truth.groups.iter().map(|g| g.key.to_string()).collect();
    let mut got_groups: Vec<String> =
        doc["ams_groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap().to_string()).collect();
    want_groups.sort();
    got_groups.sort();
    if want_groups != got_groups {
        out.push(format!("{}: groups: API {got_groups:?} != AMS {want_groups:?}", truth.key));
    }
    out
}

/// Asserts every member the simulator has is stored exactly as the AMS says.
pub async fn assert_matches_truth(app: &TestApp) {
    let mut diffs = Vec::new();
    for truth in app.sim.truths() {
        if truth.deleted {
            continue;
        }
        let doc = app.member(&truth.key).await;
        diffs.extend(differences(&doc, &truth));
    }
    assert!(diffs.is_empty(), "{} differences, first ones:\n{}", diffs.len(), diffs[..diffs.len().min(10)].join("\n"));
}
