//! Shared helpers: `TestApp::spawn()` starts a simulated AMS and an amsync
//! node built by the same builder as `amsync serve` (`amsync::node`): a
//! SQLite store in a temporary directory, the source, the engine's
//! workers, sign-on and the web API on 127.0.0.1 (port 0). It offers one
//! method per thing a test does. Polls are driven by the test (the node
//! runs the workers only, as `amsync worker` does), so nothing happens
//! behind a test's back.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use amsync::node::{EngineLoops, Node, NodeSettings, Role};
use amsync_ams::{HttpEncoding, SourceKind};
use amsync_config::{Cadence, Config, QuarantineConfig};
use amsync_core::safety::Thresholds;
use amsync_core::MemberKey;
use amsync_sim::{Faults, SimConfig, SimHandle};
use amsync_store::sqlite::SqliteStore;
use amsync_store::{Run, RunOutcome};
use amsync_sync::poll::PollReport;
use amsync_sync::{Engine, PollMode, QuarantineSettings};
use amsync_web::access_cache::AccessCache;
use reqwest::StatusCode;
use serde_json::Value;

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

impl AppOptions {
    /// The configuration these options describe, for a node whose database
    /// is in `dir`, with the AMS at `ams_url`, reached at `public_url`. Set
    /// field by field rather than parsed, so the tests' short durations are
    /// not held to the floors the file is (a 300 ms AMS timeout, a 200 ms
    /// quarantine probe).
    pub fn config(&self, dir: &std::path::Path, ams_url: &str, public_url: &str) -> Config {
        let mut cfg = Config::default();
        cfg.database.url = Some(format!("sqlite://{}", dir.join("amsync.db").display()));
        cfg.ams.kind = match self.encoding {
            HttpEncoding::Json => SourceKind::HttpJson,
            HttpEncoding::Xml => SourceKind::HttpXml,
        };
        cfg.ams.base_url = Some(url::Url::parse(ams_url).unwrap());
        cfg.ams.timeout = self.timeout;
        cfg.ams.max_concurrency = (self.workers * 3) as u32;
        if let Some(max) = self.ams_max_body {
            cfg.ams.max_body = max;
        }
        if let Some(max) = self.max_pages {
            cfg.ams.max_pages = max;
        }
        cfg.ams.http_version = self.http_version;
        let refresh = &mut cfg.member_refresh;
        refresh.workers = Some(self.workers as u32);
        refresh.max_attempts = self.max_attempts;
        refresh.backoff_initial = self.backoff_initial;
        refresh.backoff_max = self.backoff_max;
        refresh.lease = self.lease;
        let q = &self.quarantine;
        cfg.quarantine = QuarantineConfig {
            failure_share: q.failure_share,
            min_calls: q.min_calls as u32,
            window: q.window,
            poll_floor: q.poll_floor,
            recover_probes: q.recover_probes,
        };
        // The test drives the polls; these only set the next-run times shown.
        cfg.periodic_refresh.cadence = Cadence::Every(Duration::from_secs(3600));
        cfg.events.interval = Duration::from_secs(3600);
        cfg.communities.timezone = self.timezone;
        cfg.web.listen = "127.0.0.1:0".parse().unwrap();
        cfg.web.public_url = url::Url::parse(public_url).unwrap();
        cfg
    }

    /// What the configuration has no key for: the test's own pace, its
    /// thresholds (none, unless it tests them), and no scheduler.
    pub fn tune(&self, s: &mut NodeSettings) {
        s.engine_loops = EngineLoops::WorkersOnly;
        s.thresholds = self.thresholds;
        s.sync.page_attempts = 3;
        s.sync.idle_poll = Duration::from_millis(20);
        s.sync.probe_interval = Duration::from_millis(200);
        s.sync.rescue_interval = Duration::from_millis(200);
        s.sync.heartbeat_interval = Duration::from_millis(200);
    }
}

/// The tokens of a test node, in the variables `[web]` reads by default.
pub fn token_env() -> HashMap<String, String> {
    HashMap::from([
        ("AMSYNC_ADMIN_TOKEN".to_string(), ADMIN_TOKEN.to_string()),
        ("AMSYNC_SITE_TOKEN".to_string(), SITE_TOKEN.to_string()),
    ])
}

pub struct TestApp {
    pub sim: SimHandle,
    /// The node's store, as SQLite (for the tests' SQL).
    pub store: Arc<SqliteStore>,
    pub engine: Arc<Engine>,
    /// The web layer's access policy cache.
    pub access: Arc<AccessCache>,
    pub base: String,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// The node, built as `amsync serve` builds it.
    pub node: Node,
}

/// Logging for tests (`RUST_LOG`), and the one TLS crypto provider.
pub fn init_tracing() {
    amsync_ams::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

pub fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

/// The node's store as SQLite (the tests' databases are).
pub fn sqlite_of(node: &Node) -> Arc<SqliteStore> {
    node.store.clone().as_any().downcast::<SqliteStore>().expect("a SQLite store")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(AppOptions::default()).await
    }

    pub async fn spawn_with(o: AppOptions) -> TestApp {
        init_tracing();
        let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = amsync_sim::start(
            SimConfig { members: o.members, seed: o.seed, page_size: o.page_size, ..SimConfig::default() },
            sim_listener,
        )
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ams_url = o.ams_url.clone().unwrap_or_else(|| sim.base_url());
        let cfg = o.config(dir.path(), &ams_url, &base);
        let env = token_env();
        let mut node = Node::builder(&cfg, &env, Role::Serve)
            .listener(listener)
            .tune(|s| o.tune(s))
            .build()
            .await
            .expect("the test node builds");
        node.start();
        let web = &node.web.as_ref().expect("a serving node").state;
        let (store, engine, access) = (sqlite_of(&node), node.engine.clone(), web.access.clone());
        TestApp { sim, store, engine, access, base, client: reqwest::Client::new(), dir, node }
    }

    pub async fn stop(self) {
        self.node.stop().await;
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
