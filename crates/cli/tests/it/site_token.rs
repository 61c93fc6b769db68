//! The read-only site token: it may read members, communities, events,
//! access decisions and the change feed, and nothing else. Every API route
//! is walked with it, with no token and with the admin token.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{AppOptions, TestApp, ADMIN_TOKEN, SITE_TOKEN};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The site token and the admin token.
    Reader,
    /// The admin token only.
    Admin,
}

/// Every route of `/api/v1`, with harmless parameters.
const ROUTES: &[(&str, &str, Who)] = &[
    ("GET", "/api/v1/sync/status", Who::Admin),
    ("GET", "/api/v1/sync/runs", Who::Admin),
    ("GET", "/api/v1/sync/runs/1", Who::Admin),
    ("POST", "/api/v1/sync/pause", Who::Admin),
    ("POST", "/api/v1/sync/resume", Who::Admin),
    ("GET", "/api/v1/queue", Who::Admin),
    ("POST", "/api/v1/queue/requeue", Who::Admin),
    ("POST", "/api/v1/refresh", Who::Admin),
    ("GET", "/api/v1/members", Who::Reader),
    ("GET", "/api/v1/members/M000001", Who::Reader),
    ("GET", "/api/v1/members/M000001/history", Who::Reader),
    ("GET", "/api/v1/events", Who::Reader),
    ("GET", "/api/v1/changes", Who::Reader),
    ("GET", "/api/v1/communities", Who::Reader),
    ("GET", "/api/v1/communities/CH-NYC/members?current=true", Who::Reader),
    ("GET", "/api/v1/communities/CH-NYC/access", Who::Admin),
    ("PUT", "/api/v1/communities/CH-NYC/access", Who::Admin),
    ("GET", "/api/v1/community-rules", Who::Admin),
    ("PUT", "/api/v1/community-rules", Who::Admin),
    ("GET", "/api/v1/security-groups", Who::Admin),
    ("PUT", "/api/v1/security-groups", Who::Admin),
    ("DELETE", "/api/v1/security-groups/NOPE", Who::Admin),
    ("GET", "/api/v1/security-groups/SuperAdmin/members", Who::Admin),
    ("PUT", "/api/v1/security-groups/SuperAdmin/members", Who::Admin),
    ("GET", "/api/v1/content/home", Who::Admin),
    ("PUT", "/api/v1/content/home", Who::Admin),
    ("GET", "/api/v1/access?resource=content:home", Who::Reader),
];

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.client.request(method.clone(), format!("{}{path}", app.base));
    if method != Method::GET && method != Method::DELETE {
        // An empty body: the access check comes before the body is read.
        req = req.json(&json!({}));
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// The token passed the check: what follows may refuse the harmless
/// parameters (in the API's error shape, so the route exists), never the token.
fn assert_passed(status: StatusCode, body: &Value, method: &str, path: &str, token: &str) {
    let refused_token = [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&status);
    // The fallback of an unknown path answers 404 "no such route".
    let fallback = body["error"]["message"] == "no such route";
    let routed = status.is_success() || (body["error"]["code"].is_string() && !fallback);
    assert!(!refused_token && routed, "{method} {path} with {token}: {status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_token_reads_what_the_site_needs_and_nothing_else() {
    let app = TestApp::spawn_with(AppOptions { members: 10, ..AppOptions::default() }).await;
    app.full_refresh().await;
    for &(method, path, who) in ROUTES {
        let (status, body) = call(&app, method, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} without a token: {body}");
        let (status, body) = call(&app, method, path, Some("not-a-token")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a wrong token: {body}");

        let (status, body) = call(&app, method, path, Some(SITE_TOKEN)).await;
        match who {
            Who::Reader => assert_passed(status, &body, method, path, "the site token"),
            Who::Admin => {
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} with the site token: {body}");
                assert_eq!(body["error"]["code"], "forbidden");
            }
        }
        let (status, body) = call(&app, method, path, Some(ADMIN_TOKEN)).await;
        assert_passed(status, &body, method, path, "the admin token");
    }
    app.stop().await;
}
