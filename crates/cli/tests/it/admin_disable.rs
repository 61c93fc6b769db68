//! An admin's disable (product.md job 10): it revokes the member's sign-ins
//! at once, sticks through a refresh that says active and through signing
//! in, is audited, and only an admin lifts it; the dashboard's buttons do
//! the same as the API.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin_client::AdminClient;
use crate::helpers::{AppOptions, TestApp};

const MEMBER: &str = "M000005";

async fn sign_in(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let body = json!({"grant_type": "password", "username": key, "password": format!("pw-{key}")});
    app.post_as("/api/v1/auth/token", body, None).await
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get_as("/me", Some(token)).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_disable_sticks_through_refreshes_and_sign_in() {
    let app = TestApp::spawn_with(AppOptions { members: 50, ..AppOptions::default() }).await;
    app.full_refresh().await;
    assert_eq!(app.member(MEMBER).await["status"], "active");
    let (status, token) = sign_in(&app, MEMBER).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = token["token"].as_str().unwrap().to_string();
    assert_eq!(me(&app, &token).await["signed_in"], true);

    let (status, body) = app.post(&format!("/api/v1/members/{MEMBER}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"key": MEMBER, "changed": true, "status": "disabled", "disabled_reason": "admin"}));
    assert_eq!(me(&app, &token).await["signed_in"], false, "the mobile token was revoked");
    let (status, body) = sign_in(&app, MEMBER).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "signing in does not enable: {body}");

    // The AMS still says active: a refresh, and a full refresh, leave it disabled.
    app.refresh_keys(&[MEMBER]).await;
    app.full_refresh().await;
    let doc = app.member(MEMBER).await;
    assert_eq!((doc["status"].as_str(), doc["disabled_reason"].as_str()), (Some("disabled"), Some("admin")));
    assert_eq!(doc["ams_status"], "active");
    let (_, history) = app.get(&format!("/api/v1/members/{MEMBER}/history")).await;
    assert_eq!(
        (history["changes"][0]["kind"].as_str(), history["changes"][0]["trigger"].as_str()),
        (Some("disabled"), Some("admin"))
    );
    let (_, audit) = app.get("/api/v1/audit").await;
    let entry = audit["entries"][0].clone();
    assert_eq!(
        (entry["actor"].as_str(), entry["action"].as_str(), entry["target"].as_str()),
        (Some("admin token"), Some("POST /api/v1/members/{key}/disable"), Some("member M000005")),
        "{entry}"
    );
    // Disabling twice changes nothing.
    let (_, again) = app.post(&format!("/api/v1/members/{MEMBER}/disable"), json!({})).await;
    assert_eq!(again["changed"], false);

    // Only an admin lifts it; the member follows the AMS again and may sign in.
    let (status, body) = app.post(&format!("/api/v1/members/{MEMBER}/enable"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["status"].as_str(), body["changed"].as_bool()), (Some("active"), Some(true)));
    assert_eq!(sign_in(&app, MEMBER).await.0, StatusCode::OK);

    // A member its source disabled is not an admin's to enable; unknown is 404.
    app.sim.delete("M000006").unwrap();
    app.refresh_keys(&["M000006"]).await;
    let (status, body) = app.post("/api/v1/members/M000006/enable", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("ams_not_found"), "{body}");
    assert_eq!(app.post("/api/v1/members/NOPE/disable", json!({})).await.0, StatusCode::NOT_FOUND);
    // The site token may not.
    let (status, _) =
        app.post_as(&format!("/api/v1/members/{MEMBER}/disable"), json!({}), Some(crate::helpers::SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_disables_enables_and_decides_held_changes() {
    let thresholds =
        amsync_core::safety::Thresholds { max_disables: 0, ..amsync_core::safety::Thresholds::unlimited() };
    let app = TestApp::spawn_with(AppOptions { members: 30, thresholds, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let admin = AdminClient::sign_in(&app).await;

    let (_, html) = admin.get_html(&format!("/admin/members/{MEMBER}")).await;
    assert!(html.contains("id=\"disable-member\""), "the member page offers the button");
    let resp = admin.post_raw(&format!("/admin/members/{MEMBER}/disable"), &[("csrf", "wrong")]).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN, "a form without the session's CSRF token is refused");
    let resp = admin.post_form(&format!("/admin/members/{MEMBER}/disable"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.member(MEMBER).await["disabled_reason"], "admin", "an admin's own disable is never held");
    let (_, html) = admin.get_html(&format!("/admin/members/{MEMBER}")).await;
    assert!(html.contains("id=\"enable-member\""));
    let resp = admin.post_form(&format!("/admin/members/{MEMBER}/enable"), &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.member(MEMBER).await["status"], "active");

    // A held disable shows on the overview and the held changes page, and is applied from there.
    app.sim.delete("M000007").unwrap();
    app.refresh_keys(&["M000007"]).await;
    assert_eq!(app.member("M000007").await["status"], "active", "held");
    let (_, html) = admin.get_html("/admin").await;
    let banner = html.split("data-show-when=\"approvals_pending\"").nth(1).unwrap();
    assert!(!banner.starts_with(" hidden"), "the overview says changes are held");
    let (status, html) = admin.get_html("/admin/approvals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("M000007") && html.contains("answered 404"), "{html}");
    let (_, list) = app.get("/api/v1/approvals?status=pending").await;
    let id = list["approvals"][0]["id"].as_i64().unwrap();
    let (_, html) = admin.get_html("/admin/members/M000007").await;
    assert!(html.contains(&format!("approval #{id}")), "the member page says a disable is held");
    let resp = admin.post_form(&format!("/admin/approvals/{id}"), &[("decision", "apply")]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.member("M000007").await["status"], "disabled");
    let (_, audit) = app.get("/api/v1/audit").await;
    assert_eq!(audit["entries"][0]["action"], "dashboard: apply approval", "{audit}");
    let (_, html) = admin.get_html("/admin/approvals?status=applied").await;
    assert!(html.contains("applied"));
    app.stop().await;
}
