//! Sessions and mobile tokens: introspection by the site, sign-out
//! everywhere, revocation when a member is disabled, SuperAdmin sessions on
//! the admin API with the CSRF header, and mobile tokens that never open it.

use amsync_web::sso::SsoMode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::helpers::*;

async fn mobile_token(app: &TestApp, member: &str) -> String {
    let resp = app
        .http
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "username": member, "password": format!("pw-{member}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert!(body["expires_at"].is_string());
    body["token"].as_str().unwrap().to_string()
}

async fn introspect(app: &TestApp, header: &str, value: &str) -> Value {
    let resp =
        app.http.get(app.at("/api/v1/session")).bearer_auth(SITE_TOKEN).header(header, value).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_site_introspects_sessions_and_mobile_tokens() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut b = Browser::default();
    psk_sign_in(&app, &mut b, "M000001", "/").await;
    let sid = b.jar.get("amsync_session").unwrap().to_string();
    let got = introspect(&app, "x-amsync-session", &sid).await;
    assert_eq!(got["active"], true);
    assert_eq!((got["kind"].as_str(), got["member"]["key"].as_str()), (Some("session"), Some("M000001")));
    assert!(got["security_groups"].as_array().unwrap().iter().any(|g| g["key"] == "Authenticated"));
    let token = mobile_token(&app, "M000002").await;
    let got = introspect(&app, "x-amsync-bearer", &token).await;
    assert_eq!((got["kind"].as_str(), got["member"]["key"].as_str()), (Some("mobile_token"), Some("M000002")));
    assert_eq!(introspect(&app, "x-amsync-session", "nope").await["active"], false);
    // Without the site token: refused.
    let resp = app.http.get(app.at("/api/v1/session")).header("x-amsync-session", &sid).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

#[tokio::test]
async fn a_mobile_token_works_until_revoked_and_never_opens_the_admin_api() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let token = mobile_token(&app, "M000003").await;
    let me: Value = app.http.get(app.at("/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["via"].as_str(), me["member"]["key"].as_str()), (Some("mobile_token"), Some("M000003")));
    let admin = app.http.get(app.at("/api/v1/queue")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(admin.status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .http
        .post(app.at("/api/v1/auth/token"))
        .json(&json!({"grant_type": "password", "username": "M000003", "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let revoked = app.http.delete(app.at("/api/v1/auth/token")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(introspect(&app, "x-amsync-bearer", &token).await["active"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn disabling_a_member_ends_its_sessions_and_mobile_tokens() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut b = Browser::default();
    psk_sign_in(&app, &mut b, "M000004", "/").await;
    let token = mobile_token(&app, "M000004").await;
    assert_eq!(b.me(&app).await["signed_in"], true);
    // The AMS deletes the member; the next refresh disables it.
    app.sim.sim().delete("M000004").unwrap();
    app.state.engine.refresh_member_now(&key("M000004"), amsync_core::Trigger::Periodic, None).await.unwrap();
    assert_eq!(b.me(&app).await["signed_in"], false);
    assert_eq!(introspect(&app, "x-amsync-bearer", &token).await["active"], false);
    let rows = app.store.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0))?)).await;
    assert_eq!(rows.unwrap(), 0, "deleted, not merely hidden");
    app.shutdown().await;
}

#[tokio::test]
async fn an_admin_signs_a_member_out_everywhere() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let (mut b1, mut b2) = (Browser::default(), Browser::default());
    psk_sign_in(&app, &mut b1, "M000005", "/").await;
    psk_sign_in(&app, &mut b2, "M000005", "/").await;
    let token = mobile_token(&app, "M000005").await;
    let resp = app.http.post(app.at("/api/v1/members/M000005/sign-out")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"sessions": 2, "tokens": 1}));
    assert_eq!(b1.me(&app).await["signed_in"], false);
    assert_eq!(b2.me(&app).await["signed_in"], false);
    assert_eq!(introspect(&app, "x-amsync-bearer", &token).await["active"], false);
    let site = app.http.post(app.at("/api/v1/members/M000005/sign-out")).bearer_auth(SITE_TOKEN).send().await.unwrap();
    assert_eq!(site.status(), StatusCode::FORBIDDEN, "the site token may not");
    app.shutdown().await;
}

#[tokio::test]
async fn a_super_admin_session_uses_the_admin_api_with_the_csrf_header() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let (mut admin, mut member) = (Browser::default(), Browser::default());
    psk_sign_in(&app, &mut admin, "M000006", "/").await;
    psk_sign_in(&app, &mut member, "M000007", "/").await;
    app.store
        .write(|c| {
            Ok(c.execute(
                "INSERT INTO member_local_groups (member_key, group_key, added_at) VALUES ('M000006', 'SuperAdmin', 0)",
                [],
            )?)
        })
        .await
        .unwrap();
    let me = admin.me(&app).await;
    assert!(me["security_groups"].as_array().unwrap().iter().any(|g| g["key"] == "SuperAdmin"), "{me}");
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let call = |b: &Browser, csrf: Option<&str>| {
        let mut req = app.http.post(app.at("/api/v1/members/M000007/sign-out")).header("cookie", b.jar.header());
        if let Some(c) = csrf {
            req = req.header("x-csrf-token", c);
        }
        req.send()
    };
    // Reading needs no CSRF header.
    let read = app.http.get(app.at("/api/v1/queue")).header("cookie", admin.jar.header()).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(call(&admin, None).await.unwrap().status(), StatusCode::FORBIDDEN, "no CSRF header");
    assert_eq!(call(&admin, Some("wrong")).await.unwrap().status(), StatusCode::FORBIDDEN);
    let member_csrf = member.me(&app).await["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(call(&member, Some(&member_csrf)).await.unwrap().status(), StatusCode::FORBIDDEN, "not a SuperAdmin");
    let ok = call(&admin, Some(&csrf)).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(member.me(&app).await["signed_in"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn sign_in_gives_a_new_session_id_and_cookies_are_strict() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut b = Browser::default();
    b.jar.0.insert("amsync_session".into(), amsync_sso::ids::random_id());
    let planted = b.jar.get("amsync_session").unwrap().to_string();
    let done = psk_sign_in(&app, &mut b, "M000001", "/").await;
    let set = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("amsync_session="))
        .unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "http public URL: no Secure flag");
    assert_ne!(b.jar.get("amsync_session").unwrap(), planted);
    app.shutdown().await;
}

#[tokio::test]
async fn signed_out_me_is_public() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut b = Browser::default();
    let me = b.me(&app).await;
    assert_eq!(
        me,
        json!({"signed_in": false, "member": null, "security_groups": [{"key": "Public", "name": "Public", "source": "builtin"}]})
    );
    app.shutdown().await;
}
