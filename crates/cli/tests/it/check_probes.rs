//! `amsync check` probes the services sign-in relies on, beside the
//! source's methods: the credential service (a sign-in of a username that
//! cannot exist, which must be refused) against the simulator, and the
//! OpenID Connect provider's discovery document against the real provider
//! of the sign-on tests. A failed probe makes the exit code 1 and names
//! itself. Each run is a child `amsync check`, as an operator runs it.

use std::path::Path;

use amsync_sim::{FaultKind, Faults, Method, SimAuth, SimConfig, SimHandle, TargetedFault};
use url::Url;

use crate::helpers::{init_tracing, token_env};
use crate::sso::oidc::start_provider;

const KEY_VAR: &str = "AMSYNC_TEST_CHECK_KEY";
const KEY: &str = "check-probe-api-key";
const OIDC_SECRET_VAR: &str = "AMSYNC_TEST_CHECK_OIDC_SECRET";

/// A simulator that wants [`KEY`] in `X-Api-Key`.
async fn sim() -> SimHandle {
    let auth = SimAuth::ApiKey { header: "X-Api-Key".into(), value: KEY.into() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    amsync_sim::start(SimConfig { members: 20, auth, ..SimConfig::default() }, listener).await.unwrap()
}

/// A config reading the simulator at `sim` (its own credential service),
/// with `extra` appended.
fn write_config(dir: &Path, sim: &SimHandle, extra: &str) {
    let file = format!(
        "[database]\nurl = \"sqlite://{}\"\n[ams]\nkind = \"http-json\"\nbase_url = \"{}/\"\nauth = {{ kind = \"api_key\", header = \"X-Api-Key\", value_env = \"{KEY_VAR}\" }}\n[web]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:9/\"\n{extra}",
        dir.join("amsync.db").display(),
        sim.base_url(),
    );
    std::fs::write(dir.join("amsync.toml"), file).unwrap();
}

/// Runs `amsync check` in `dir`: its exit code and standard output.
async fn check(dir: &Path) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_amsync"))
        .args(["check", "--config", "amsync.toml"])
        .current_dir(dir)
        .envs(token_env())
        .env(KEY_VAR, KEY)
        .env(OIDC_SECRET_VAR, "amsync-test-secret")
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), format!("{stdout}\n--- stderr\n{}", String::from_utf8_lossy(&out.stderr)))
}

/// The table's line for `method`.
fn line<'a>(output: &'a str, method: &str) -> &'a str {
    output.lines().find(|l| l.split_whitespace().nth(1) == Some(method)).unwrap_or_else(|| panic!("{method}: {output}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_service_is_asked_to_refuse_a_username_that_cannot_exist() {
    init_tracing();
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, "");
    let (code, output) = check(dir.path()).await;
    assert_eq!(code, Some(0), "{output}");
    let probe = line(&output, "AuthenticateCredentials");
    assert!(probe.starts_with("ok") && probe.contains("refused") && probe.contains(" ms "), "{probe}");
    assert!(output.contains("credential service http-json"), "{output}");
    assert!(!output.contains(KEY), "the API key is never printed: {output}");
    assert_eq!(sim.sim().stats().credentials, 1, "one AuthenticateCredentials call");
    assert!(output.contains("All checks passed."), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oidc_providers_discovery_document_and_keys_are_read_and_its_issuer_checked() {
    init_tracing();
    let provider = start_provider(&Url::parse("http://127.0.0.1:9/").unwrap()).await;
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let oidc = |issuer: &str| {
        format!("[sso]\nmode = \"oidc\"\n[sso.oidc]\nissuer = \"{issuer}\"\nclient_id = \"amsync\"\nclient_secret_env = \"{OIDC_SECRET_VAR}\"\n")
    };
    let issuer = provider.issuer.as_str().trim_end_matches('/');
    write_config(dir.path(), &sim, &oidc(issuer));
    let (code, output) = check(dir.path()).await;
    assert_eq!(code, Some(0), "{output}");
    let probe = line(&output, "OIDC");
    assert!(probe.starts_with("ok") && probe.contains("discovery"), "{probe}");
    assert!(probe.contains(&format!("issuer {issuer} matches")), "{probe}");
    assert!(probe.contains("jwks_uri http://127.0.0.1:") && probe.contains("key(s)"), "{probe}");
    assert!(!output.contains("amsync-test-secret"), "the client secret is never printed: {output}");

    // The same document reached under another name for the host: the
    // issuer it names is not the configured one.
    let port = provider.issuer.port().unwrap();
    write_config(dir.path(), &sim, &oidc(&format!("http://localhost:{port}")));
    let (code, output) = check(dir.path()).await;
    assert_eq!(code, Some(1), "{output}");
    let probe = line(&output, "OIDC");
    assert!(probe.starts_with("FAIL") && probe.contains("unexpected issuer"), "{probe}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_probe_fails_the_check_naming_it() {
    init_tracing();
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &sim, "");
    let fault = TargetedFault { key: None, method: Some(Method::Credentials), fault: FaultKind::Error, count: None };
    sim.set_faults(Faults { targeted: vec![fault], ..Faults::default() });
    let (code, output) = check(dir.path()).await;
    assert_eq!(code, Some(1), "{output}");
    let probe = line(&output, "AuthenticateCredentials");
    assert!(probe.starts_with("FAIL"), "{probe}");
    assert!(line(&output, "GetChangedMembers").starts_with("ok"), "the source itself is healthy: {output}");
    assert!(output.contains("1 check(s) failed"), "{output}");

    // A separate credential service that cannot be reached.
    sim.set_faults(Faults::default());
    let closed = crate::child::free_port();
    write_config(
        dir.path(),
        &sim,
        &format!("[auth]\nkind = \"http-json\"\nbase_url = \"http://127.0.0.1:{closed}/\"\n"),
    );
    let (code, output) = check(dir.path()).await;
    assert_eq!(code, Some(1), "{output}");
    assert!(line(&output, "AuthenticateCredentials").starts_with("FAIL"), "{output}");
}
