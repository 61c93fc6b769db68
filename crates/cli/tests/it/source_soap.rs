//! `ams.kind = "soap"`: a node built as `amsync serve` builds it, reading
//! the simulator's SOAP face (`/RefreshService.asmx`) with a security key,
//! refreshes every member to the simulator's truth; its credential service
//! (`[auth] kind = "soap"`, the default for a SOAP source) signs a member
//! in through AuthenticateUser; a refused key pauses the source.

use amsync::node::{Node, Role};
use amsync_ams::config::{CredentialKind, SoapSourceConfig};
use amsync_ams::SourceKind;
use amsync_sim::{SimAuth, SimConfig};
use amsync_store::SyncStateStore;
use amsync_sync::PollMode;
use amsync_web::sso::SsoMode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_matches_truth, init_tracing, sqlite_of, token_env, AppOptions, TestApp, HEAVY};

const KEY_VAR: &str = "AMSYNC_TEST_SOAP_KEY";
const KEY: &str = "soap-security-key-1";

/// A node whose source is the sim's SOAP face, its security key `given`
/// (the sim wants [`KEY`]).
async fn spawn(members: usize, given: &str) -> TestApp {
    init_tracing();
    let auth = SimAuth::ApiKey { header: "X-Api-Key".into(), value: KEY.into() };
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = amsync_sim::start(SimConfig { members, auth, ..SimConfig::default() }, sim_listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let options = AppOptions { members, ..AppOptions::default() };
    let mut cfg = options.config(dir.path(), &sim.base_url(), &base);
    let endpoint = url::Url::parse(&sim.base_url()).unwrap().join(amsync_sim::soap::PATH).unwrap();
    cfg.ams.kind = SourceKind::Soap;
    cfg.ams.base_url = None;
    cfg.ams.soap = Some(SoapSourceConfig { security_key_env: Some(KEY_VAR.into()), ..SoapSourceConfig::at(endpoint) });
    cfg.sso.mode = SsoMode::Credentials;
    assert_eq!(cfg.credential_service().kind, CredentialKind::Soap, "a SOAP source's own credential service");
    let mut env = token_env();
    env.insert(KEY_VAR.to_string(), given.to_string());
    let mut node = Node::builder(&cfg, &env, Role::Serve)
        .listener(listener)
        .tune(|s| options.tune(s))
        .build()
        .await
        .expect("the test node builds");
    node.start();
    let web = &node.web.as_ref().expect("a serving node").state;
    let (store, engine, access) = (sqlite_of(&node), node.engine.clone(), web.access.clone());
    TestApp { sim, store, engine, access, base, client: reqwest::Client::new(), dir, node }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soap_source_refreshes_every_member_to_the_truth() {
    let _heavy = HEAVY.lock().await;
    let app = spawn(300, KEY).await;
    app.sim.sim().reset_stats();
    let (report, run) = app.full_refresh().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.listed, 300);
    assert_eq!(run.counts.created, 300, "{run:?}");
    assert_eq!(run.counts.failed + run.counts.dead, 0, "{run:?}");
    let stats = app.sim.sim().stats();
    assert_eq!(stats.changed_members, 1, "one answer, no paging: {stats:?}");
    assert_eq!(stats.details + stats.communities + stats.security_groups, 900, "{stats:?}");
    assert_matches_truth(&app).await;

    // A change is listed since the watermark and refreshed.
    app.sim.sim().change("M000007", &amsync_sim::ChangeRequest::default()).unwrap();
    let (report, run) = app.poll(PollMode::Changed).await;
    assert!(report.listed >= 1, "{report:?}");
    assert_eq!(run.counts.failed, 0, "{run:?}");
    assert_matches_truth(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soap_fault_is_retried_and_a_refused_key_pauses_the_source() {
    let app = spawn(20, KEY).await;
    // The first two details calls of M000003 answer an injected error (a
    // soap:Server fault, or a gateway's 502/503).
    app.set_faults(amsync_sim::Faults {
        targeted: vec![amsync_sim::TargetedFault {
            key: Some("M000003".into()),
            method: Some(amsync_sim::Method::Details),
            fault: amsync_sim::FaultKind::Error,
            count: Some(2),
        }],
        ..amsync_sim::Faults::default()
    });
    let (_, run) = app.full_refresh().await;
    // Both faults count as failed attempts; the third attempt refreshes it.
    assert_eq!((run.counts.created, run.counts.failed, run.counts.dead), (20, 2, 0), "{run:?}");
    app.clear_faults();
    app.stop().await;

    let app = spawn(20, "a-wrong-key").await;
    let report = app.engine.poll_members(PollMode::Full).await.unwrap();
    let error = report.error.expect("the listing is refused");
    assert!(error.contains("Invalid security key") && error.contains("GetChangedMembers"), "{error}");
    assert!(app.store.source_state().await.unwrap().paused, "a refused key pauses the source");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_sign_in_through_authenticate_user() {
    let app = spawn(20, KEY).await;
    app.sim.sim().reset_stats();
    let token = |password: &str| {
        let body = json!({"grant_type": "password", "username": "M000012", "password": password});
        app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&body).send()
    };
    let resp = token("pw-M000012").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(body["token"].is_string(), "{body}");
    let resp = token("a-guess").await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let stats = app.sim.sim().stats();
    assert_eq!(stats.credentials, 2, "both went to AuthenticateUser: {stats:?}");
    app.stop().await;
}

/// `amsync check` with a SOAP source calls every operation once (its
/// credential service's AuthenticateUser too) and prints what it read; a
/// wrong key fails the check naming the fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_calls_every_soap_operation() {
    init_tracing();
    let auth = SimAuth::ApiKey { header: "X-Api-Key".into(), value: KEY.into() };
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = amsync_sim::start(SimConfig { members: 20, auth, ..SimConfig::default() }, sim_listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = format!(
        "[database]\nurl = \"sqlite://{}\"\n[ams]\nkind = \"soap\"\n[ams.soap]\nendpoint = \"{}RefreshService.asmx\"\nsecurity_key_env = \"{KEY_VAR}\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
        dir.path().join("amsync.db").display(),
        sim.base_url().trim_end_matches('/').to_string() + "/",
    );
    std::fs::write(dir.path().join("soap.toml"), file).unwrap();
    let check = |key: &'static str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
            .args(["check", "--config", "soap.toml"])
            .current_dir(dir.path())
            .envs(token_env())
            .env(KEY_VAR, key)
            .env("RUST_LOG", "warn")
            .output()
    };
    let out = check(KEY).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for method in [
        "GetChangedMembers",
        "GetMemberDetails",
        "GetMemberCommunities",
        "GetMemberSecurityGroups",
        "GetChangedEvents",
        "AuthenticateCredentials",
    ] {
        assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains(method)), "{method}: {stdout}");
    }
    assert!(stdout.contains("application/soap+xml"), "{stdout}");
    let out = check("a-wrong-key").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("FAIL") && stdout.contains("Invalid security key"), "{stdout}");
}
