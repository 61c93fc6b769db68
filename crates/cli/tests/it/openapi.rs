//! `/api/v1/openapi.json`: a valid OpenAPI 3 document that lists every
//! route the router serves, and only those.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{AppOptions, TestApp, ADMIN_TOKEN};

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// Every route of product.md's "HTTP surface" (the dashboard's beyond
/// `/admin` and `/admin/members/{key}` are "…" there). Those the router
/// serves must be documented; the others belong to later work.
const PRODUCT_ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/sync/status"),
    ("get", "/api/v1/sync/runs"),
    ("get", "/api/v1/sync/runs/{id}"),
    ("post", "/api/v1/sync/pause"),
    ("post", "/api/v1/sync/resume"),
    ("get", "/api/v1/queue"),
    ("post", "/api/v1/queue/requeue"),
    ("post", "/api/v1/refresh"),
    ("get", "/api/v1/approvals"),
    ("post", "/api/v1/approvals/{id}"),
    ("get", "/api/v1/members"),
    ("get", "/api/v1/changes"),
    ("get", "/api/v1/members/{key}"),
    ("get", "/api/v1/members/{key}/history"),
    ("get", "/api/v1/communities"),
    ("get", "/api/v1/communities/{key}/members"),
    ("get", "/api/v1/community-rules"),
    ("put", "/api/v1/community-rules"),
    ("get", "/api/v1/security-groups"),
    ("put", "/api/v1/security-groups"),
    ("delete", "/api/v1/security-groups/{key}"),
    ("put", "/api/v1/security-groups/{key}/members"),
    ("put", "/api/v1/communities/{key}/access"),
    ("put", "/api/v1/content/{id}"),
    ("get", "/api/v1/access"),
    ("get", "/api/v1/session"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/audit"),
    ("post", "/api/v1/auth/token"),
    ("delete", "/api/v1/auth/token"),
    ("post", "/api/v1/webhooks/member-changed"),
    ("post", "/api/v1/webhooks/events-changed"),
    ("post", "/api/v1/push/members"),
    ("get", "/login"),
    ("post", "/login"),
    ("get", "/sso/callback"),
    ("post", "/logout"),
    ("get", "/me"),
    ("get", "/admin"),
    ("get", "/admin/members/{key}"),
    ("get", "/admin/login"),
    ("post", "/admin/login"),
    ("get", "/api/v1/openapi.json"),
];

/// Checks the document's structure against OpenAPI 3; returns the problems.
fn problems(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let version = doc["openapi"].as_str().unwrap_or_default();
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 3 || parts[0] != "3" || !parts.iter().all(|p| p.parse::<u32>().is_ok()) {
        out.push(format!("openapi is {version:?}, not 3.x.y"));
    }
    for field in ["title", "version"] {
        if doc["info"][field].as_str().is_none_or(str::is_empty) {
            out.push(format!("info.{field} is missing"));
        }
    }
    let tags: BTreeSet<&str> =
        doc["tags"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str()).collect();
    let schemes = doc["components"]["securitySchemes"].as_object().cloned().unwrap_or_default();
    let check_security = |sec: &Value, at: &str, out: &mut Vec<String>| {
        for req in sec.as_array().into_iter().flatten() {
            for name in req.as_object().into_iter().flat_map(|o| o.keys()) {
                if !schemes.contains_key(name) {
                    out.push(format!("{at}: security scheme {name} is not defined"));
                }
            }
        }
    };
    check_security(&doc["security"], "document", &mut out);
    let mut operation_ids = BTreeSet::new();
    let Some(paths) = doc["paths"].as_object().filter(|p| !p.is_empty()) else {
        out.push("no paths".into());
        return out;
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            out.push(format!("path {path} does not start with /"));
        }
        let templated: BTreeSet<String> =
            path.split('{').skip(1).filter_map(|s| s.split_once('}')).map(|(name, _)| name.to_string()).collect();
        let ops: Vec<(&str, &Value)> = METHODS.iter().filter_map(|m| item.get(*m).map(|op| (*m, op))).collect();
        if ops.is_empty() {
            out.push(format!("{path}: no operation"));
        }
        for (method, op) in ops {
            let at = format!("{} {path}", method.to_uppercase());
            if let Some(id) = op["operationId"].as_str() {
                if !operation_ids.insert(id.to_string()) {
                    out.push(format!("{at}: operationId {id} is not unique"));
                }
            }
            match op["responses"].as_object() {
                Some(r) if !r.is_empty() => {
                    for (code, resp) in r {
                        let ok_code = code == "default"
                            || (code.len() == 3 && code.chars().all(|c| c.is_ascii_digit() || c == 'X'));
                        if !ok_code {
                            out.push(format!("{at}: response key {code}"));
                        }
                        if resp["description"].as_str().is_none() {
                            out.push(format!("{at}: response {code} has no description"));
                        }
                    }
                }
                _ => out.push(format!("{at}: no responses")),
            }
            for t in op["tags"].as_array().into_iter().flatten() {
                if !t.as_str().is_some_and(|t| tags.contains(t)) {
                    out.push(format!("{at}: tag {t} is not declared"));
                }
            }
            check_security(&op["security"], &at, &mut out);
            let mut in_path = BTreeSet::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap_or_default();
                let location = p["in"].as_str().unwrap_or_default();
                if name.is_empty() || !["query", "header", "path", "cookie"].contains(&location) {
                    out.push(format!("{at}: parameter {p}"));
                }
                if p.get("schema").is_none() && p.get("content").is_none() {
                    out.push(format!("{at}: parameter {name} has no schema"));
                }
                if location == "path" {
                    if p["required"] != true {
                        out.push(format!("{at}: path parameter {name} is not required"));
                    }
                    in_path.insert(name.to_string());
                }
            }
            if in_path != templated {
                out.push(format!("{at}: path parameters {in_path:?} but the template has {templated:?}"));
            }
            if let Some(body) = op.get("requestBody") {
                if body["content"].as_object().is_none_or(|c| c.is_empty()) {
                    out.push(format!("{at}: a request body without content"));
                }
            }
        }
    }
    // Every reference resolves.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"").skip(1).filter_map(|s| s.split('"').next()) {
        let target = r.strip_prefix("#/").map(|p| p.split('/').fold(doc, |v, k| &v[k]));
        if target.is_none_or(Value::is_null) {
            out.push(format!("$ref {r} does not resolve"));
        }
    }
    out
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

/// Whether the router serves `method path`: anything but its fallback
/// (`no such route`) and 405.
async fn served(app: &TestApp, method: &str, path: &str) -> bool {
    let concrete = path.replace("{key}", "M000001").replace("{id}", "1").replace("{file}", "app.css");
    let url = format!("{}{concrete}", app.base);
    let http = crate::admin_client::no_redirects();
    let req = match method {
        "get" => http.get(&url),
        "post" => http.post(&url).json(&serde_json::json!({})),
        "put" => http.put(&url).json(&serde_json::json!({})),
        "delete" => http.delete(&url),
        other => panic!("method {other}"),
    };
    let resp = req.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    let fallback = status == StatusCode::NOT_FOUND && body.contains("no such route");
    !fallback && status != StatusCode::METHOD_NOT_ALLOWED
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_valid_and_lists_every_route_served() {
    let app = TestApp::spawn_with(AppOptions { members: 3, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let r = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "served without a token");
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    let found = problems(&doc);
    assert!(found.is_empty(), "not a valid OpenAPI 3 document:\n{}", found.join("\n"));
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    // Every documented route is served…
    let listed = documented(&doc);
    assert!(listed.len() >= 30, "{listed:?}");
    for (method, path) in &listed {
        assert!(served(&app, method, path).await, "{method} {path} is documented but not served");
    }
    // …and every route of product.md that is served is documented.
    let mut served_product = 0;
    for (method, path) in PRODUCT_ROUTES {
        if served(&app, method, path).await {
            served_product += 1;
            assert!(
                listed.contains(&(method.to_string(), path.to_string())),
                "{method} {path} is served but not documented"
            );
        }
    }
    assert!(served_product >= 21, "{served_product} product.md routes are served");
    // An unknown route is the fallback, so the probe can tell.
    assert!(!served(&app, "get", "/api/v1/nothing-here").await);
    assert!(!served(&app, "delete", "/api/v1/sync/status").await, "a wrong method is not served");
    app.stop().await;
}

/// Routes are registered only with `utoipa_axum::routes!`, which documents
/// them: a plain axum `.route("…")` in the web crate would be served and
/// not listed.
#[test]
fn the_web_crate_registers_no_undocumented_route() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/src"));
    let mut stack = vec![root.to_path_buf()];
    let mut offenders = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or_default();
                    if code.contains(".route(\"") || code.contains(".route_service(") || code.contains(".nest_service(")
                    {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(offenders.is_empty(), "undocumented routes:\n{}", offenders.join("\n"));
}

#[test]
fn the_checker_finds_broken_documents() {
    let broken = serde_json::json!({
        "openapi": "2.0",
        "info": {"title": "x"},
        "paths": {"/a/{id}": {"get": {"responses": {}}}, "b": {"post": {"responses": {"200": {}}}}},
    });
    let found = problems(&broken);
    for want in
        ["openapi is", "info.version", "no responses", "does not start with /", "has no description", "path parameters"]
    {
        assert!(found.iter().any(|p| p.contains(want)), "{want} in {found:?}");
    }
}
