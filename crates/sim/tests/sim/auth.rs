//! The authentication modes callers must pass on data and auth methods.

use amsync_sim::{SimAuth, SimConfig};
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{small, spawn};

#[tokio::test]
async fn api_key() {
    let auth = SimAuth::ApiKey { header: "X-Api-Key".into(), value: "s3cret".into() };
    let sim = spawn(SimConfig { auth, ..small(5) }).await;
    assert_eq!(sim.get("/members/M000001").await.status(), 401);
    let wrong = sim.client.get(sim.url("/members/M000001")).header("x-api-key", "nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = sim.client.get(sim.url("/members/M000001")).header("x-api-key", "s3cret").send().await.unwrap();
    assert_eq!(right.status(), 200);
    let r = sim.post("/auth/credentials", json!({"username": "M000001", "password": "pw-M000001"})).await;
    assert_eq!(r.status(), 401, "auth methods need the key too");
    assert_eq!(sim.get("/health").await.status(), 200);
    assert_eq!(sim.get("/_sim/members/M000001").await.status(), 200);
}

#[tokio::test]
async fn basic() {
    let auth = SimAuth::Basic { user: "amsync".into(), pass: "pa:ss".into() };
    let sim = spawn(SimConfig { auth, ..small(5) }).await;
    assert_eq!(sim.get("/members/changed").await.status(), 401);
    let r = sim.client.get(sim.url("/members/changed")).basic_auth("amsync", Some("pa:ss")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = sim.client.get(sim.url("/members/changed")).basic_auth("amsync", Some("pass")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().starts_with("Basic"));
}

#[tokio::test]
async fn oauth2_client_credentials_with_expiry() {
    let auth = SimAuth::OAuth2 { client_id: "cid".into(), client_secret: "csecret".into(), token_ttl_secs: 1 };
    let sim = spawn(SimConfig { auth, ..small(5) }).await;
    let token_url = sim.url("/oauth/token");

    // Client authenticates with basic auth…
    let r = sim
        .client
        .post(&token_url)
        .basic_auth("cid", Some("csecret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&scope=ams.read")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let grant: Value = r.json().await.unwrap();
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["expires_in"], 1);
    let token = grant["access_token"].as_str().unwrap().to_string();

    // …or in the form body.
    let r = sim
        .client
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=cid&client_secret=csecret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let bad_secret = base64::engine::general_purpose::STANDARD.encode("cid:wrong");
    let r = sim
        .client
        .post(&token_url)
        .header("authorization", format!("Basic {bad_secret}"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = sim
        .client
        .post(&token_url)
        .basic_auth("cid", Some("csecret"))
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    assert_eq!(sim.get("/members/M000001").await.status(), 401);
    let r = sim.client.get(sim.url("/members/M000001")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = sim.client.get(sim.url("/members/M000001")).bearer_auth("made-up").send().await.unwrap();
    assert_eq!(r.status(), 401);

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = sim.client.get(sim.url("/members/M000001")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401, "expired");
    assert_eq!(sim.json("/_sim/stats").await["oauth_token"], 4);
}

#[tokio::test]
async fn token_endpoint_is_absent_without_oauth2() {
    let sim = spawn(small(2)).await;
    let r = sim.client.post(sim.url("/oauth/token")).body("grant_type=client_credentials").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_control_api_rotates_the_accepted_credential() {
    let auth = SimAuth::ApiKey { header: "X-Api-Key".into(), value: "old-key".into() };
    let sim = spawn(SimConfig { auth, ..small(5) }).await;
    let with_key = |key: &'static str| sim.client.get(sim.url("/members/M000001")).header("x-api-key", key).send();
    assert_eq!(with_key("old-key").await.unwrap().status(), 200);
    let rotated = json!({"mode": "api_key", "header": "X-Api-Key", "value": "new-key"});
    let r = sim.client.put(sim.url("/_sim/auth")).json(&rotated).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), rotated);
    assert_eq!(sim.json("/_sim/auth").await, rotated);
    assert_eq!(with_key("old-key").await.unwrap().status(), 401, "the old key is refused at once");
    assert_eq!(with_key("new-key").await.unwrap().status(), 200);

    // OAuth 2.0: a new client secret; a token issued before stays good, as
    // with most authorization servers, and an absurd lifetime is sent as is.
    let oauth = |secret: &str| json!({"mode": "oauth2", "client_id": "cid", "client_secret": secret, "token_ttl_secs": u64::MAX});
    sim.client.put(sim.url("/_sim/auth")).json(&oauth("first")).send().await.unwrap();
    let grant = |secret: &'static str| {
        sim.client
            .post(sim.url("/oauth/token"))
            .basic_auth("cid", Some(secret))
            .body("grant_type=client_credentials")
            .send()
    };
    let first: Value = grant("first").await.unwrap().json().await.unwrap();
    assert_eq!(first["expires_in"], u64::MAX);
    sim.client.put(sim.url("/_sim/auth")).json(&oauth("second")).send().await.unwrap();
    assert_eq!(grant("first").await.unwrap().status(), 401);
    assert_eq!(grant("second").await.unwrap().status(), 200);
    let token = first["access_token"].as_str().unwrap();
    let r = sim.client.get(sim.url("/members/M000001")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let bad = sim.client.put(sim.url("/_sim/auth")).json(&json!({"mode": "nope"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}
