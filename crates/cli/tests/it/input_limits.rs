//! Every input limit, end to end: what the AMS sends (body size, XML depth,
//! string lengths, list lengths, keys' charset and length, pages per poll)
//! and what callers send the API (body size, key lists, strings, query
//! parameters). Each refusal is a clear error that names the record and the
//! field, and none is a crash: the member is left as it was, the poll
//! reports and the next request is served.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use amsync_ams::HttpEncoding;
use amsync_sim::ChangeRequest;
use amsync_sync::PollMode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{AppOptions, TestApp};

/// A change that breaks one limit, and what the refusal must name.
struct Case {
    key: &'static str,
    change: Value,
    part: &'static str,
    field: &'static str,
    says: &'static str,
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

fn cases() -> Vec<Case> {
    let phones: Vec<Value> = (0..5).map(|i| json!({"type": "Work", "number": format!("+1 202 555 010{i}")})).collect();
    let social: Vec<Value> =
        (0..101).map(|i| json!({"network": "web", "url": format!("https://e.example/{i}")})).collect();
    let memberships: Vec<Value> = (0..1001)
        .map(|i| {
            json!({"community": {"key": format!("C{i}"), "name": "C", "type": "Chapter",
                   "group_type": "Chapter", "group_subtype": null}, "begin": "2026-01-01", "end": null, "role": null})
        })
        .collect();
    let groups: Vec<Value> = (0..1001).map(|i| json!({"key": format!("G{i}"), "name": "G"})).collect();
    vec![
        Case {
            key: "M000001",
            change: json!({"details": {"phones": phones}}),
            part: "details",
            field: "/phones/4",
            says: "at most 4",
        },
        Case {
            key: "M000002",
            change: json!({"details": {"first_name": long(300)}}),
            part: "details",
            field: "/first_name",
            says: "at most 256",
        },
        Case {
            key: "M000003",
            change: json!({"details": {"last_name": "Love\u{7}lace"}}),
            part: "details",
            field: "/last_name",
            says: "control character",
        },
        Case {
            key: "M000004",
            change: json!({"details": {"social": social}}),
            part: "details",
            field: "/social",
            says: "at most 100",
        },
        Case {
            key: "M000005",
            change: json!({"details": {"website": long(2049)}}),
            part: "details",
            field: "/website",
            says: "at most 2048",
        },
        Case {
            key: "M000006",
            change: json!({"details": {"address": {"line1": "1 Way", "country_code": "gbr"}}}),
            part: "details",
            field: "/address/country_code",
            says: "ISO 3166-1",
        },
        Case {
            key: "M000007",
            change: json!({"memberships": memberships}),
            part: "communities",
            field: "/memberships",
            says: "at most 1000",
        },
        Case {
            key: "M000008",
            change: json!({"groups": groups}),
            part: "security_groups",
            field: "/groups",
            says: "at most 1000",
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ams_data_over_a_limit_is_a_data_error_naming_the_member_and_field() {
    let app = TestApp::spawn_with(AppOptions { members: 12, max_attempts: 1, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let cases = cases();
    let mut before = HashMap::new();
    for c in &cases {
        before.insert(c.key, app.member(c.key).await);
        let change: ChangeRequest = serde_json::from_value(c.change.clone()).unwrap();
        app.sim.change(c.key, &change).unwrap();
    }
    let keys: Vec<&str> = cases.iter().map(|c| c.key).collect();
    let run = app.refresh_keys(&keys).await;
    assert_eq!(run.counts.failed, cases.len() as u64, "{run:?}");
    for c in &cases {
        let doc = app.member(c.key).await;
        let failure = &doc["last_error"]["failure"];
        let message = failure["message"].as_str().unwrap_or_default();
        assert_eq!(failure["kind"], "data", "{}: {doc}", c.key);
        assert_eq!(failure["part"], c.part, "{}: {failure}", c.key);
        assert_eq!(failure["field"], c.field, "{}: {failure}", c.key);
        assert!(message.contains(c.key) && message.contains(c.field), "names record and field: {message}");
        assert!(message.contains(c.says), "{}: {message}", c.key);
        // Nothing of the refused answer was applied.
        for field in ["first_name", "last_name", "phones", "social", "website", "address", "memberships", "ams_groups"]
        {
            assert_eq!(doc[field], before[c.key][field], "{}: {field} changed", c.key);
        }
    }
    // The dead letters say the same, for the queue page.
    let (_, dead) = app.get("/api/v1/queue?state=dead").await;
    let entries = dead["entries"].as_array().unwrap();
    assert_eq!(entries.len(), cases.len());
    assert!(entries.iter().all(|e| e["last_error"]["kind"] == "data" && e["last_error"]["field"].is_string()));
    app.stop().await;
}

/// What the crafted AMS answers: `(status, content type, body)` by path;
/// a path not listed answers 404.
type Answers = Arc<Mutex<HashMap<String, (u16, &'static str, Vec<u8>)>>>;

/// A stand-in AMS that answers exactly what a test put in `answers`, and
/// `/members/changed?cursor=…` with one more page each time (when
/// `runaway` is set): bodies the simulator never sends.
async fn crafted_ams(answers: Answers, runaway: bool) -> String {
    use axum::extract::{Query, State};
    use axum::http::{header, StatusCode as Status};
    use axum::response::IntoResponse;

    async fn answer(
        State((answers, runaway)): State<(Answers, bool)>,
        Query(q): Query<HashMap<String, String>>,
        uri: axum::http::Uri,
    ) -> axum::response::Response {
        let path = uri.path().to_string();
        if runaway && path == "/members/changed" {
            let n: u64 = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
            let body = json!({"changed": [{"key": format!("R{n}")}], "next_cursor": (n + 1).to_string()});
            return ([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
        }
        match answers.lock().unwrap().get(&path) {
            Some((status, ctype, body)) => {
                (Status::from_u16(*status).unwrap(), [(header::CONTENT_TYPE, *ctype)], body.clone()).into_response()
            }
            None => Status::NOT_FOUND.into_response(),
        }
    }

    let app = axum::Router::new().fallback(answer).with_state((answers, runaway));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn put(answers: &Answers, path: &str, ctype: &'static str, body: impl Into<Vec<u8>>) {
    answers.lock().unwrap().insert(path.to_string(), (200, ctype, body.into()));
}

/// The refusal recorded for `key` (whose record was never stored: the
/// failure lives on its queue entry).
async fn queue_failure(app: &TestApp, key: &str) -> Value {
    let (_, q) = app.get("/api/v1/queue").await;
    let entry = q["entries"].as_array().unwrap().iter().find(|e| e["key"] == key).cloned();
    entry.unwrap_or_else(|| panic!("{key} has a queue entry: {q}"))["last_error"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_answers_bad_keys_and_runaway_paging_are_refused_by_name() {
    let answers: Answers = Arc::default();
    let url = crafted_ams(answers.clone(), false).await;
    let app = TestApp::spawn_with(AppOptions {
        members: 1,
        ams_url: Some(url),
        ams_max_body: Some(4096),
        max_attempts: 1,
        ..AppOptions::default()
    })
    .await;
    const JSON: &str = "application/json";
    // A details answer over ams.max_body.
    let big = json!({"key": "BIG", "first_name": long(10_000)}).to_string();
    put(&answers, "/members/BIG", JSON, big);
    put(&answers, "/members/BIG/communities", JSON, r#"{"memberships": []}"#);
    put(&answers, "/members/BIG/security-groups", JSON, r#"{"groups": []}"#);
    // A listing with a key too long and a key with a control character
    // among good ones.
    let listing = json!({"changed": [
        {"key": "BIG"},
        {"key": long(65)},
        {"key": "M\u{1}X"},
    ]});
    put(&answers, "/members/changed", JSON, listing.to_string());
    let (report, run) = app.poll(PollMode::Full).await;
    assert!(report.complete, "the good entries still go through: {report:?}");
    assert_eq!(run.counts.listed, 1);
    assert_eq!(run.counts.failed, 3, "two refused entries and BIG's refresh: {run:?}");
    let error = run.error.clone().unwrap_or_default();
    assert!(error.starts_with("2 listing entries refused"), "{error}");
    assert!(
        error.contains("changed entry 1") && error.contains("/changed/1/key") && error.contains("65 characters"),
        "{error}"
    );

    let failure = queue_failure(&app, "BIG").await;
    assert_eq!((failure["kind"].as_str(), failure["part"].as_str()), (Some("data"), Some("details")), "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("BIG") && message.contains("ams.max_body (4096 bytes)"), "{message}");

    // The API still answers, and the dashboard shows the run's refusal.
    let (status, runs) = app.get(&format!("/api/v1/sync/runs/{}", run.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["error"], error);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_never_ends_stops_at_max_pages_and_keeps_the_watermark() {
    let url = crafted_ams(Arc::default(), true).await;
    let app =
        TestApp::spawn_with(AppOptions { members: 1, ams_url: Some(url), max_pages: Some(5), ..AppOptions::default() })
            .await;
    let report = app.engine.poll_members(PollMode::Changed).await.unwrap();
    assert!(!report.complete);
    let error = report.error.unwrap_or_default();
    assert!(error.contains("more than 5 pages"), "{error}");
    assert_eq!(report.watermark_after, None, "the watermark stays");
    let (_, status) = app.get("/api/v1/sync/status").await;
    assert!(status.is_object(), "still serving: {status}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_nested_too_deep_is_a_data_error_naming_the_member() {
    let answers: Answers = Arc::default();
    let url = crafted_ams(answers.clone(), false).await;
    let app = TestApp::spawn_with(AppOptions {
        members: 1,
        encoding: HttpEncoding::Xml,
        ams_url: Some(url),
        max_attempts: 1,
        ..AppOptions::default()
    })
    .await;
    const XML: &str = "application/xml";
    let deep = format!("<Member><MemberKey>DEEP</MemberKey>{}x{}</Member>", "<a>".repeat(40), "</a>".repeat(40));
    put(&answers, "/members/DEEP", XML, deep);
    put(&answers, "/members/DEEP/communities", XML, "<Memberships/>");
    put(&answers, "/members/DEEP/security-groups", XML, "<SecurityGroups/>");
    let run = app.refresh_keys(&["DEEP"]).await;
    assert_eq!(run.counts.failed, 1, "{run:?}");
    let failure = queue_failure(&app, "DEEP").await;
    assert_eq!((failure["kind"].as_str(), failure["part"].as_str()), (Some("data"), Some("details")), "{failure}");
    let message = failure["message"].as_str().unwrap();
    assert!(message.contains("DEEP") && message.contains("nested more than 32 deep"), "{message}");
    assert_eq!(failure["field"], "/");
    app.stop().await;
}

/// Sends an admin request that must be refused; its status and message.
async fn refused(req: reqwest::RequestBuilder) -> (StatusCode, String) {
    let resp = req.bearer_auth(crate::helpers::ADMIN_TOKEN).send().await.unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_ne!(status, StatusCode::OK, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_else(|| panic!("the API's error shape: {body}"));
    (status, message.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_requests_over_a_limit_are_refused_naming_the_field() {
    let app = TestApp::spawn_with(AppOptions { members: 3, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let c = &app.client;
    let url = |p: &str| format!("{}{p}", app.base);
    let many: Vec<String> = (0..10_001).map(|i| format!("M{i:06}")).collect();
    // Nested 100,000 deep: refused at the first level that breaks the shape,
    // never a stack overflow.
    let deep_json = format!("{{\"keys\": {}\"M1\"{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let huge = json!({"keys": vec!["M000001"; 300_000]}).to_string();
    let checks: Vec<(reqwest::RequestBuilder, StatusCode, Vec<&str>)> = vec![
        (
            c.post(url("/api/v1/refresh")).json(&json!({"keys": many})),
            StatusCode::BAD_REQUEST,
            vec!["keys: 10001 keys, at most 10000"],
        ),
        (
            c.post(url("/api/v1/refresh")).json(&json!({"keys": ["M000001", long(65)]})),
            StatusCode::BAD_REQUEST,
            vec!["keys[1]", "65 characters"],
        ),
        (
            c.post(url("/api/v1/queue/requeue")).json(&json!({"keys": ["A\u{1}B"]})),
            StatusCode::BAD_REQUEST,
            vec!["keys[0]", "control"],
        ),
        (
            c.post(url("/api/v1/refresh")).header("content-type", "application/json").body(deep_json),
            StatusCode::BAD_REQUEST,
            vec!["keys[0]", "invalid type"],
        ),
        (
            c.put(url("/api/v1/content/banner")).json(&json!({"groups": vec!["Public"; 1001]})),
            StatusCode::BAD_REQUEST,
            vec!["content item banner: groups: 1001 groups"],
        ),
        (
            c.put(url("/api/v1/content/banner")).json(&json!({"name": long(300), "groups": ["Public"]})),
            StatusCode::BAD_REQUEST,
            vec!["content item banner: name: 300 characters"],
        ),
        (
            c.put(url("/api/v1/security-groups/SuperAdmin/members")).json(&json!({"members": [long(65)]})),
            StatusCode::BAD_REQUEST,
            vec!["members[0]"],
        ),
        (c.get(url(&format!("/api/v1/members?q={}", long(300)))), StatusCode::BAD_REQUEST, vec!["q: 300 characters"]),
        (
            c.get(url(&format!("/api/v1/members/{}", long(65)))),
            StatusCode::BAD_REQUEST,
            vec!["member key", "65 characters"],
        ),
        (c.get(url("/api/v1/members/M%01X/history")), StatusCode::BAD_REQUEST, vec!["member key", "control"]),
        (
            c.post(url("/api/v1/members/M000001/erase")).json(&json!({"reason": long(300)})),
            StatusCode::BAD_REQUEST,
            vec!["erase of member M000001: reason: 300 characters"],
        ),
        (
            c.post(url("/api/v1/members/M000001/erase")).json(&json!({"reasons": "typo"})),
            StatusCode::BAD_REQUEST,
            vec!["reasons", "unknown field"],
        ),
    ];
    for (req, want_status, words) in checks {
        let (status, message) = refused(req).await;
        assert_eq!(status, want_status, "{message}");
        for w in words {
            assert!(message.contains(w), "{w:?} not in {message:?}");
        }
    }
    // A body over web.limits.max_body: refused before it is all read, so the
    // server closes that connection; a client of its own keeps the others'.
    let own = reqwest::Client::new().post(url("/api/v1/refresh")).header("content-type", "application/json");
    let (status, message) = refused(own.body(huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{message}");
    assert!(message.contains("web.limits.max_body"), "{message}");
    // Nothing was erased by the refused calls, and the API serves on.
    app.member("M000001").await;
    app.stop().await;
}
