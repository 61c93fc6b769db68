//! The read-only site token: it may read members, communities, events,
//! access decisions and the change feed, and nothing else. Every API route
//! is walked with it, with no token and with the admin token. Wrong bearer
//! tokens are throttled per address; correct ones never wait.

use std::time::{Duration, Instant};

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
        // Refused; past the address's allowance of wrong tokens, with 429.
        let (status, body) = call(&app, method, path, Some("not-a-token")).await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{method} {path} with a wrong token: {status} {body}"
        );

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

/// A wrong bearer token at `path`, from this test's address (127.0.0.1).
async fn wrong_token(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap()
}

/// Guessing the admin or site token at the API is throttled per address as
/// `/admin/login` is: ten wrong tokens within 15 minutes, then 429 with
/// `Retry-After` for every further wrong one, at any route, with a wait that
/// doubles. A correct token from the same address is answered at once and
/// does not reset the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bearer_tokens_are_throttled_per_address_and_correct_ones_never_wait() {
    let app = TestApp::spawn_with(AppOptions { members: 3, ..AppOptions::default() }).await;
    for i in 0..10 {
        let r = wrong_token(&app, "/api/v1/sync/status", &format!("guess-{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    for path in ["/api/v1/sync/status", "/api/v1/members?limit=1", "/api/v1/changes"] {
        let r = wrong_token(&app, path, "guess-10").await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "{path}: Retry-After {wait}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "throttled", "{body}");
    }
    // Correct tokens from the same address: answered at once, as before.
    let started = Instant::now();
    assert_eq!(app.get("/api/v1/sync/status").await.0, StatusCode::OK);
    assert_eq!(app.get_as("/api/v1/members?limit=1", Some(SITE_TOKEN)).await.0, StatusCode::OK);
    let (status, body) = app.get_as("/api/v1/sync/status", Some(SITE_TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a right token where it may not go is not a guess: {body}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // No token at all is not a guess either.
    assert_eq!(app.get_as("/api/v1/sync/status", None).await.0, StatusCode::UNAUTHORIZED);
    // Right tokens did not reset the count: the next wrong one still waits.
    assert_eq!(wrong_token(&app, "/api/v1/queue", "guess-11").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // After the wait one more wrong token is judged, then the wait doubles.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(wrong_token(&app, "/api/v1/queue", "guess-12").await.status(), StatusCode::UNAUTHORIZED);
    let r = wrong_token(&app, "/api/v1/queue", "guess-13").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "2");
    app.stop().await;
}
