//! Observability: `/metrics` is valid Prometheus text whose counters move
//! with work; its label values come from fixed sets, whatever callers
//! send; the example alert rules use only metrics amsync serves; `/readyz`
//! follows the schema and the database; request ids come back.

use std::collections::BTreeSet;

use amsync_core::Trigger;
use amsync_store::RunStore;
use amsync_sync::PollMode;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_client::AdminClient;
use crate::helpers::{AppOptions, TestApp};
use crate::prometheus_text::{self, Exposition};

pub(crate) async fn scrape(app: &TestApp) -> Exposition {
    let r = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = r.text().await.unwrap();
    prometheus_text::parse(&text).unwrap_or_else(|e| panic!("/metrics is not Prometheus text: {e}\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_and_move_with_work() {
    let app = TestApp::spawn_with(AppOptions { members: 20, ..AppOptions::default() }).await;
    let before = scrape(&app).await;
    let (_, run) = app.full_refresh().await;
    assert_eq!(run.counts.created, 20);
    app.get("/api/v1/sync/status").await;
    let after = scrape(&app).await;

    // Counters are process-wide (other tests run beside this one): they grow
    // by at least this test's work.
    let grew = |name: &str, labels: &[(&str, &str)]| after.sum(name, labels) - before.sum(name, labels);
    assert!(grew("amsync_refreshes_total", &[("trigger", "full"), ("outcome", "created")]) >= 20.0);
    assert!(grew("amsync_ams_calls_total", &[("method", "details"), ("outcome", "ok")]) >= 20.0);
    assert!(grew("amsync_ams_call_seconds_count", &[("method", "details")]) >= 20.0);
    assert!(grew("amsync_polls_total", &[("outcome", "ok")]) >= 1.0);
    assert!(grew("amsync_http_requests_total", &[("route", "/api/v1/sync/status"), ("status", "200")]) >= 1.0);
    assert_eq!(after.types.get("amsync_ams_call_seconds").map(String::as_str), Some("histogram"));
    assert_eq!(after.types.get("amsync_refreshes_total").map(String::as_str), Some("counter"));
    // Database-held state, read at scrape time.
    for state in ["queued", "running", "retrying", "dead"] {
        assert!(after.samples.iter().any(|s| s.name == "amsync_queue_entries" && s.labels["state"] == state));
    }
    assert!(after.has("amsync_watermark_age_seconds"), "the full refresh set the members watermark");
    assert!(after.has("amsync_source_paused") && after.has("amsync_members"));
    // Route labels are patterns, never member keys.
    app.get("/api/v1/members/M000001").await;
    let again = scrape(&app).await;
    assert!(again.sum("amsync_http_requests_total", &[("route", "/api/v1/members/{key}")]) >= 1.0);
    assert!(!again.samples.iter().any(|s| s.labels.get("route").is_some_and(|r| r.contains("M000001"))));
    app.stop().await;
}

/// Unauthenticated callers choose the method and the path of a request:
/// 50 made-up methods and 50 unknown paths add no label value to
/// `/metrics` (each would be a series kept for the life of the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_add_no_label_values() {
    let app = TestApp::spawn_with(AppOptions { members: 1, ..AppOptions::default() }).await;
    let marker: String = (0..6).map(|_| format!("{:02X}", rand::random::<u8>())).collect();
    let before = scrape(&app).await;
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("X{marker}{i}").as_bytes()).unwrap();
        for path in ["/api/v1/sync/status", "/admin", "/nowhere"] {
            let r = app.client.request(method.clone(), format!("{}{path}", app.base)).send().await.unwrap();
            assert!(r.status().is_client_error(), "{method} {path}: {}", r.status());
        }
        let r = app.client.get(format!("{}/{marker}/{i}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app.client.get(format!("{}/api/v1/{marker}{i}?q={marker}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let after = scrape(&app).await;
    let made_up: Vec<String> = after
        .samples
        .iter()
        .flat_map(|s| s.labels.iter().map(move |(k, v)| (s, k, v)))
        .filter(|(_, _, v)| v.contains(&marker))
        .map(|(s, k, v)| format!("{}{{{k}={v:?}}}", s.name))
        .collect();
    assert!(made_up.is_empty(), "label values made up by callers: {made_up:?}");
    let requests = after.samples.iter().filter(|s| s.name == "amsync_http_requests_total");
    let methods: BTreeSet<&str> = requests.clone().map(|s| s.labels["method"].as_str()).collect();
    assert!(methods.iter().all(|m| amsync_web::metrics::METHOD_LABELS.contains(m)), "{methods:?}");
    let statuses: BTreeSet<&str> = requests.map(|s| s.labels["status"].as_str()).collect();
    assert!(statuses.iter().all(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())), "{statuses:?}");
    let grew = |labels: &[(&str, &str)]| {
        after.sum("amsync_http_requests_total", labels) - before.sum("amsync_http_requests_total", labels)
    };
    assert!(grew(&[("method", "other")]) >= 150.0, "made-up methods count as other");
    assert!(grew(&[("route", "unmatched")]) >= 150.0, "unknown paths count as unmatched");
    app.stop().await;
}

/// Where the values of every metric label come from, one line per label
/// written in the code: (file under `crates/`, label, the expression that
/// gives its value, why its values are a fixed set). A string literal needs
/// no line. A label fed from anything else (AMS data, member keys, token
/// claims, query parameters, headers) would grow `/metrics` without limit:
/// map it to a fixed set first, then add its line here.
const LABEL_SOURCES: &[(&str, &str, &str, &str)] = &[
    ("ams/src/observe.rs", "method", "method.as_str()", "`Part`: the contract's methods"),
    ("ams/src/observe.rs", "outcome", "label", "`ok` or `FailureKind::as_str()`"),
    ("web/src/metrics.rs", "kind", "kind", "`login_outcome`'s `&'static str`: `admin_token` or a sign-on mode"),
    ("web/src/metrics.rs", "outcome", "outcome", "`login_outcome`'s `&'static str`: `ok` or a refusal's code"),
    ("web/src/metrics.rs", "method", "method_label(&method)", "the nine methods HTTP defines, or `other`"),
    ("web/src/metrics.rs", "route", "route.clone()", "`route_label`: a route template of the router, or `unmatched`"),
    ("web/src/metrics.rs", "route", "route", "`route_label`: a route template of the router, or `unmatched`"),
    ("web/src/metrics.rs", "status", "status", "a status code's three digits"),
    ("web/src/metrics.rs", "state", "s", "the four queue states, listed beside it"),
    ("web/src/metrics.rs", "watermark", "name", "`WATERMARK_MEMBERS` and `WATERMARK_EVENTS`"),
    ("web/src/metrics.rs", "version", "env!(\"CARGO_PKG_VERSION\")", "fixed at build time"),
    ("cli/src/retention.rs", "kind", "kind", "the pruned tables, listed beside it"),
    ("sync/src/worker/mod.rs", "outcome", "label", "a refresh's outcomes, literals beside it"),
    ("sync/src/worker/mod.rs", "trigger", "claim.trigger.as_str()", "`Trigger`, an enum"),
    ("sync/src/recovery.rs", "kind", "run.kind.as_str()", "`Trigger`, an enum"),
    ("sync/src/supervise.rs", "task", "task.as_str()", "`TaskName`, an enum of the supervised tasks"),
    ("web/src/metrics.rs", "task", "task.as_str()", "`TaskName`, an enum of the supervised tasks"),
];

/// The text between `open` (just after an opening parenthesis) and its
/// closing parenthesis, minding strings.
fn macro_body(text: &str) -> Option<&str> {
    let (mut depth, mut in_string, mut escaped) = (1usize, false, false);
    for (i, c) in text.char_indices() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') => in_string = false,
            (true, _) => {}
            (false, '"') => in_string = true,
            (false, '(' | '[' | '{') => depth += 1,
            (false, ')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[..i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits a macro's arguments at the commas outside parentheses and strings.
fn arguments(body: &str) -> Vec<String> {
    let (mut out, mut current) = (Vec::new(), String::new());
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for c in body.chars() {
        match (in_string, c) {
            (true, _) if escaped => escaped = false,
            (true, '\\') => escaped = true,
            (true, '"') => in_string = false,
            (false, '"') => in_string = true,
            (false, '(' | '[' | '{') => depth += 1,
            (false, ')' | ']' | '}') => depth -= 1,
            (false, ',') if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().map(|a| a.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|a| !a.is_empty()).collect()
}

/// Every metric label written in the workspace's sources takes its values
/// from a fixed set: a string literal, or an expression listed in
/// [`LABEL_SOURCES`] with the reason its values are bounded.
#[test]
fn every_metric_label_comes_from_a_fixed_set() {
    let crates = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut stack: Vec<std::path::PathBuf> =
        std::fs::read_dir(crates).unwrap().map(|e| e.unwrap().path().join("src")).filter(|p| p.is_dir()).collect();
    let (mut macros, mut unknown, mut used) = (0, Vec::new(), BTreeSet::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let file = path.strip_prefix(crates).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap();
            for kind in ["counter!(", "gauge!(", "histogram!("] {
                for (at, _) in text.match_indices(kind) {
                    if text[..at].ends_with("describe_") {
                        continue;
                    }
                    macros += 1;
                    let body =
                        macro_body(&text[at + kind.len()..]).unwrap_or_else(|| panic!("{file}: {kind} unclosed"));
                    for label in arguments(body).iter().skip(1) {
                        let Some((name, value)) = label.split_once("=>") else {
                            unknown.push(format!("{file}: labels not written as \"name\" => value: {label}"));
                            continue;
                        };
                        let (name, value) = (name.trim().trim_matches('"'), value.trim());
                        let literal = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
                        match LABEL_SOURCES.iter().position(|(f, l, v, _)| *f == file && *l == name && *v == value) {
                            Some(i) => {
                                used.insert(i);
                            }
                            None if literal => {}
                            None => unknown.push(format!("{file}: label {name} => {value}")),
                        }
                    }
                }
            }
        }
    }
    assert!(macros >= 20, "{macros} metric updates found: is the scan looking in the right place?");
    assert!(unknown.is_empty(), "labels whose values are not known to be a fixed set:\n{}", unknown.join("\n"));
    let stale: Vec<_> = (0..LABEL_SOURCES.len()).filter(|i| !used.contains(i)).map(|i| LABEL_SOURCES[i]).collect();
    assert!(stale.is_empty(), "LABEL_SOURCES lines that match no code: {stale:?}");
}

/// Metric names in a PromQL expression (ours all start with `amsync_`).
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("amsync_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        out.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_alert_rules_use_only_metrics_amsync_serves() {
    let app = TestApp::spawn_with(AppOptions { members: 5, ..AppOptions::default() }).await;
    // Work that makes every metric appear at least once.
    app.poll(PollMode::Changed).await;
    app.engine.probe_ams().await;
    app.engine.pause("admin").await.unwrap();
    app.engine.resume().await.unwrap();
    AdminClient::sign_in(&app).await;
    let served: BTreeSet<String> = scrape(&app).await.families().into_iter().collect();

    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/alerts.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("docs/alerts.yml is YAML");
    let groups = doc["groups"].as_sequence().expect("a list of groups");
    let mut rules = 0;
    for group in groups {
        assert!(group["name"].as_str().is_some(), "each group is named");
        for rule in group["rules"].as_sequence().expect("each group has rules") {
            rules += 1;
            let name = rule["alert"].as_str().expect("each rule is an alert with a name");
            let expr = rule["expr"].as_str().unwrap_or_else(|| panic!("{name}: an expr"));
            assert!(rule["labels"]["severity"].as_str().is_some(), "{name}: a severity");
            assert!(rule["annotations"]["summary"].as_str().is_some(), "{name}: a summary");
            if let Some(f) = rule["for"].as_str() {
                assert!(f.ends_with('m') || f.ends_with('h') || f.ends_with('s'), "{name}: for = {f}");
            }
            let used = metric_names(expr);
            assert!(!used.is_empty(), "{name}: its expr uses an amsync metric");
            for metric in used {
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| metric.strip_suffix(s).filter(|b| served.contains(*b)))
                    .unwrap_or(&metric);
                assert!(served.contains(family), "{name}: {metric} is not served; served: {served:?}");
            }
            assert_eq!(expr.matches('(').count(), expr.matches(')').count(), "{name}: balanced parentheses");
        }
    }
    assert!(rules >= 8, "{rules} rules");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_schema_and_the_database() {
    let app = TestApp::spawn_with(AppOptions { members: 1, ..AppOptions::default() }).await;
    let readyz = || async {
        let r = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"ready": true, "database": "ok", "migrations": "current"}));

    // A newer binary migrated the database (a rolling upgrade): not ready.
    app.store
        .write(|c| Ok(c.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)", [])?))
        .await
        .unwrap();
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["ready"], false);
    assert!(body["migrations"].as_str().unwrap().contains("999"), "{body}");
    // A known migration missing: pending.
    app.store.write(|c| Ok(c.execute("DELETE FROM schema_migrations WHERE version IN (999, 4)", [])?)).await.unwrap();
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["migrations"].as_str().unwrap().contains("pending: [4]"), "{body}");
    app.store.write(|c| Ok(c.execute("INSERT INTO schema_migrations VALUES (4, 'audit', 0)", [])?)).await.unwrap();
    assert_eq!(readyz().await.0, StatusCode::OK);

    // The database does not answer the readiness query.
    app.store.write(|c| Ok(c.execute_batch("DROP TABLE refresh_queue")?)).await.unwrap();
    let (status, body) = readyz().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(body["database"], "ok", "{body}");
    // Liveness does not depend on it.
    let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_made_or_kept_and_returned() {
    let app = TestApp::spawn_with(AppOptions { members: 1, ..AppOptions::default() }).await;
    let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let r = app.client.get(format!("{}/api/v1/sync/status", app.base)).header("x-request-id", "mine-42").send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "errors carry it too");
    assert_eq!(r.headers()["x-request-id"], "mine-42");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_status_api_reports_ams_reachability_and_quarantine() {
    let app = TestApp::spawn_with(AppOptions { members: 2, ..AppOptions::default() }).await;
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(s["ams"], serde_json::Value::Null, "nothing probed yet");
    assert_eq!(s["quarantined"], false);
    app.engine.probe_ams().await;
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(s["ams"]["reachable"], true, "{s}");
    assert!(s["ams"]["latency_ms"].as_u64().is_some());
    app.set_faults(amsync_sim::Faults { error_rate: 1.0, ..Default::default() });
    app.engine.probe_ams().await;
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(s["ams"]["reachable"], false);
    assert!(s["ams"]["error"].as_str().unwrap().contains("health"), "{s}");
    assert!(s["ams"]["last_ok_at"].as_str().is_some(), "the last good answer is kept");
    app.clear_faults();
    app.engine.pause("quarantine: 45 of 50 AMS calls failed").await.unwrap();
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!((s["paused"].as_bool(), s["quarantined"].as_bool()), (Some(true), Some(true)));
    let admin = AdminClient::sign_in(&app).await;
    let (_, html) = admin.get_html("/admin").await;
    let banner = html.split("data-show-when=\"quarantined\"").nth(1).unwrap();
    assert!(!banner.starts_with(" hidden"), "the quarantine banner shows");
    app.engine.resume().await.unwrap();
    // A periodic run appears in the periodic slot of the status.
    let run = app.store.start_run(Trigger::Periodic, chrono::Utc::now(), None, json!({})).await.unwrap();
    let (_, s) = app.get("/api/v1/sync/status").await;
    assert_eq!(s["periodic_refresh"]["last_run"]["id"], run);
    app.stop().await;
}
