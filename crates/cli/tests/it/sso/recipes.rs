//! The docs' recipes (docs/recipes/) for an association's login page make
//! tokens amsync accepts: the Python one (with the pinned `cryptography`)
//! and the Node one (built-in crypto) are run as they are written.

use std::path::PathBuf;
use std::time::Duration;

use amsync_web::sso::SsoMode;
use reqwest::StatusCode;
use tokio::process::Command;

use super::helpers::*;

fn recipes() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/recipes")
}

/// Runs a recipe and returns the token it printed.
async fn run(app: &TestApp, program: &str, script: &str, member: &str) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(program)
            .arg(recipes().join(script))
            .args(["--kid", app.psk.kid(), "--member", member, "--audience", app.url.as_str()])
            .env("AMSYNC_SSO_PSK", secrecy::ExposeSecret::expose_secret(&app.psk.to_base64()))
            .output(),
    )
    .await
    .expect("the recipe finished in time")
    .expect("the interpreter runs");
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn accepted(app: &TestApp, token: &str) -> bool {
    let mut b = Browser::default();
    let login = b.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    let resp = b.get(&format!("{callback}&token={}", urlencode(token))).await;
    resp.status() == StatusCode::SEE_OTHER && b.jar.get("amsync_session").is_some()
}

/// Installs the recipe's pinned `cryptography` when it is missing.
async fn python_ready() {
    let has = Command::new("python3").args(["-c", "import cryptography"]).status().await.expect("python3 runs");
    if has.success() {
        return;
    }
    let req = recipes().join("requirements.txt");
    let status = tokio::time::timeout(
        Duration::from_secs(240),
        Command::new("python3").args(["-m", "pip", "install", "--quiet", "-r"]).arg(req).status(),
    )
    .await
    .expect("pip finished in time")
    .expect("pip runs");
    assert!(status.success(), "pip install -r docs/recipes/requirements.txt failed");
}

#[tokio::test]
async fn the_python_recipe_makes_tokens_amsync_accepts() {
    python_ready().await;
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let token = run(&app, "python3", "mint_token.py", "M000015").await;
    assert!(token.starts_with("v1.k1."), "{token}");
    assert!(accepted(&app, &token).await);
    assert!(!accepted(&app, &token).await, "and only once");
    app.shutdown().await;
}

#[tokio::test]
async fn the_node_recipe_makes_tokens_amsync_accepts() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let token = run(&app, "node", "mint_token.mjs", "M000016").await;
    assert!(token.starts_with("v1.k1."), "{token}");
    assert!(accepted(&app, &token).await);
    app.shutdown().await;
}
