//! The dashboard over plain HTTP: signing in, every page with real data,
//! a field-level change made in the AMS, the buttons, CSRF, and the audit
//! log of what admins did.

use std::time::Duration;

use amsync_sim::{ChangeRequest, FaultKind, Faults, Method, TargetedFault};
use amsync_store::{QueueStore, SyncStateStore};
use reqwest::header::LOCATION;
use reqwest::StatusCode;
use serde_json::json;

use crate::admin_client::{no_redirects, AdminClient};
use crate::helpers::{key, AppOptions, TestApp, ADMIN_TOKEN};

/// Waits until `check` holds (the workers run in the background).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "not within 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_trades_the_token_for_a_session_that_every_page_needs() {
    let app = TestApp::spawn_with(AppOptions { members: 5, ..AppOptions::default() }).await;
    let http = no_redirects();
    for path in ["/admin", "/admin/queue?state=dead", "/admin/members/M000001"] {
        let r = http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path}");
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with("/admin/login?next=%2Fadmin"), "{path} -> {to}");
    }
    // The form posts the token in the body; it never travels in a URL.
    let form = http.get(format!("{}/admin/login", app.base)).send().await.unwrap();
    let html = form.text().await.unwrap();
    assert!(html.contains("method=\"post\" action=\"/admin/login\"") && html.contains("type=\"password\""));

    assert_eq!(AdminClient::sign_in_with(&app, "not-the-token").await.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(AdminClient::sign_in_with(&app, crate::helpers::SITE_TOKEN).await.err(), Some(StatusCode::UNAUTHORIZED));
    // A form whose double-submit token does not match its cookie is refused.
    let r = http
        .post(format!("{}/admin/login", app.base))
        .header("cookie", "amsync_admin_login=aaaa")
        .form(&[("token", ADMIN_TOKEN), ("csrf", "bbbb")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(crate::admin_client::set_cookie(&r, "amsync_admin").is_none());

    let admin = AdminClient::sign_in(&app).await;
    let r = admin.get("/admin").await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    // Signing out needs the CSRF token, then the cookie opens nothing.
    assert_eq!(admin.post_raw("/admin/logout", &[("csrf", "wrong")]).await.status(), StatusCode::FORBIDDEN);
    let r = admin.post_form("/admin/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(admin.get("/admin").await.status(), StatusCode::SEE_OTHER);
    app.stop().await;
}

/// Guessing the admin token is throttled per address: ten wrong tokens, then
/// 429 with `Retry-After` (even for the right token, from that address);
/// after the wait the right token signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_admin_tokens_are_throttled() {
    let app = TestApp::spawn_with(AppOptions { members: 10, ..AppOptions::default() }).await;
    for i in 0..10 {
        let wrong = format!("guess-{i}");
        assert_eq!(AdminClient::sign_in_with(&app, &wrong).await.err(), Some(StatusCode::UNAUTHORIZED), "guess {i}");
    }
    assert_eq!(AdminClient::sign_in_with(&app, "guess-10").await.err(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(AdminClient::sign_in_with(&app, ADMIN_TOKEN).await.err(), Some(StatusCode::TOO_MANY_REQUESTS));
    // The 429 says how long to wait.
    let http = no_redirects();
    let form = http.get(format!("{}/admin/login", app.base)).send().await.unwrap();
    let (cookie, _) = crate::admin_client::set_cookie(&form, "amsync_admin_login").unwrap();
    let csrf = crate::admin_client::html_value(&form.text().await.unwrap(), "csrf").unwrap();
    let r = http
        .post(format!("{}/admin/login", app.base))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[("token", ADMIN_TOKEN), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert!(r.text().await.unwrap().contains("Too many wrong tokens"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    AdminClient::sign_in(&app).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_the_sync_details() {
    let app = TestApp::spawn_with(AppOptions { members: 40, ..AppOptions::default() }).await;
    let (_, full) = app.full_refresh().await;
    app.engine.probe_ams().await;
    let admin = AdminClient::sign_in(&app).await;

    let (status, html) = admin.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for needle in
        ["Periodic refresh", "Events sync", "reachable", "Refresh Queue", "data-chart=\"throughput\"", "Recent runs"]
    {
        assert!(html.contains(needle), "the overview shows {needle}");
    }
    assert!(html.contains(&format!("/admin/runs/{}", full.id)), "the overview lists the full refresh");

    for state in ["queued", "running", "retrying", "dead"] {
        let (status, html) = admin.get_html(&format!("/admin/queue?state={state}")).await;
        assert_eq!(status, StatusCode::OK, "{state}: {html}");
        assert!(html.contains(&format!("No {state} entries.")), "{state}: the queue is empty after the refresh");
    }
    assert_eq!(admin.get("/admin/queue?state=bogus").await.status(), StatusCode::BAD_REQUEST);

    let (status, html) = admin.get_html("/admin/runs?kind=full&outcome=succeeded").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("href=\"/admin/runs/{}\"", full.id)));
    let (_, html) = admin.get_html("/admin/runs?kind=periodic").await;
    assert!(html.contains("No runs match."), "no periodic run yet");
    assert_eq!(admin.get("/admin/runs?kind=nonsense").await.status(), StatusCode::BAD_REQUEST);
    let (status, html) = admin.get_html(&format!("/admin/runs/{}", full.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("succeeded") && html.contains("data-live-run"), "{html}");
    assert_eq!(admin.get("/admin/runs/999999").await.status(), StatusCode::NOT_FOUND);

    let truth = app.sim.truths().into_iter().next().unwrap();
    let last = truth.details.last_name.clone().unwrap();
    let (status, html) = admin.get_html(&format!("/admin/members?q={}", last.to_lowercase())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/admin/members/{}", truth.key)), "the search finds {}", truth.key);
    let (status, html) = admin.get_html(&format!("/admin/members/{}", truth.key)).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for needle in ["Details", "Memberships", "Security groups", "Access summary", "History", "created"] {
        assert!(html.contains(needle), "the member page shows {needle}");
    }
    assert!(html.contains("IsMember") || html.contains("not IsMember"), "it says why IsMember holds or not");
    assert_eq!(admin.get("/admin/members/NOBODY").await.status(), StatusCode::NOT_FOUND);

    for asset in ["app.css", "app.js", "favicon.svg"] {
        let r = admin.get(&format!("/admin/assets/{asset}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
    }
    assert_eq!(admin.get("/admin/assets/../../etc/passwd").await.status(), StatusCode::NOT_FOUND);
    let (status, _) = admin.get_html("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_member_page_shows_a_change_made_in_the_ams_field_by_field() {
    let app = TestApp::spawn_with(AppOptions { members: 5, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let k = "M000003";
    let before = app.sim.sim().truth(k).unwrap().details.last_name.unwrap();
    let change = ChangeRequest {
        details: Some(json!({"last_name": "Lovelace-Byron"}).as_object().unwrap().clone()),
        ..ChangeRequest::default()
    };
    app.sim.sim().change(k, &change).unwrap();
    app.refresh_keys(&[k]).await;
    let admin = AdminClient::sign_in(&app).await;
    let (status, html) = admin.get_html(&format!("/admin/members/{k}")).await;
    assert_eq!(status, StatusCode::OK);
    // minijinja escapes `/` as an entity.
    let html = html.replace("&#x2f;", "/");
    let row = format!(
        "<tr><td><code>/last_name</code></td><td class=\"before\">{before}</td><td aria-hidden=\"true\">→</td><td class=\"after\">Lovelace-Byron</td></tr>"
    );
    assert!(html.contains(&row), "the history shows {row}:\n{html}");
    assert!(html.contains("by <strong>manual</strong>"), "with its trigger");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_buttons_change_state_check_csrf_and_are_audited() {
    let app = TestApp::spawn_with(AppOptions { members: 10, max_attempts: 2, ..AppOptions::default() }).await;
    app.full_refresh().await;
    let admin = AdminClient::sign_in(&app).await;

    // Without the CSRF token nothing happens.
    for (path, fields) in [
        ("/admin/pause", vec![]),
        ("/admin/refresh", vec![("what", "all")]),
        ("/admin/queue/requeue", vec![("all_dead", "1")]),
    ] {
        let r = admin.post_raw(path, &fields).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert!(!app.store.source_state().await.unwrap().paused);

    // Pause and resume.
    let r = admin.post_form("/admin/pause", &[]).await;
    assert_eq!((r.status(), r.headers()[LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/admin?done=paused"));
    assert!(app.store.source_state().await.unwrap().paused);
    let (_, html) = admin.get_html("/admin?done=paused").await;
    assert!(html.contains("The sync is paused") && html.contains("id=\"resume\""));
    admin.post_form("/admin/resume", &[]).await;
    assert!(!app.store.source_state().await.unwrap().paused);

    // A member whose details never parse becomes a dead letter with the excerpt.
    let k = "M000004";
    app.set_faults(Faults {
        targeted: vec![TargetedFault {
            key: Some(k.into()),
            method: Some(Method::Details),
            fault: FaultKind::Malformed,
            count: None,
        }],
        ..Faults::default()
    });
    app.refresh_keys(&[k]).await;
    let (_, html) = admin.get_html("/admin/queue?state=dead").await;
    assert!(html.contains(&format!("data-key=\"{k}\"")), "{k} is a dead letter: {html}");
    assert!(html.contains("AMS response excerpt"), "with the AMS's answer");
    app.clear_faults();
    let r = admin.post_form("/admin/queue/requeue", &[("keys", k)]).await;
    assert_eq!(r.headers()[LOCATION], "/admin/queue?state=queued&done=requeued&n=1");
    eventually("the requeued member refreshes", || async {
        app.store.queue_counts().await.unwrap().dead == 0 && !app.store.is_pending(&key(k)).await.unwrap()
    })
    .await;

    // Refresh one member: the redirect leads to the run's progress.
    let r = admin.post_form("/admin/refresh", &[("what", "member"), ("keys", "M000002")]).await;
    let to = r.headers()[LOCATION].to_str().unwrap().to_string();
    let run: i64 = to.strip_prefix("/admin/runs/").unwrap().parse().unwrap();
    app.wait_run(run).await;
    let r = admin.post_form("/admin/refresh", &[("what", "keys"), ("keys", "M000001, M000002\nM000003")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "keys are split on commas and lines");
    let r = admin.post_form("/admin/refresh", &[("what", "keys"), ("keys", &"x".repeat(70))]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // An API call with the bearer token, with our own request id.
    let r = app
        .client
        .post(format!("{}/api/v1/sync/pause", app.base))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-request-id", "audit-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.post("/api/v1/sync/resume", json!({})).await;
    // Reads are not audited.
    app.get("/api/v1/sync/status").await;

    let (status, body) = app.get("/api/v1/audit?limit=100").await;
    assert_eq!(status, StatusCode::OK);
    let entries = body["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for want in [
        "dashboard: sign in",
        "dashboard: pause",
        "dashboard: resume",
        "dashboard: requeue",
        "dashboard: refresh",
        "POST /api/v1/sync/pause",
        "POST /api/v1/sync/resume",
    ] {
        assert!(actions.contains(&want), "{want} is in the audit log: {actions:?}");
    }
    assert!(!actions.iter().any(|a| a.starts_with("GET")), "reads are not recorded: {actions:?}");
    let pause = entries.iter().find(|e| e["action"] == "POST /api/v1/sync/pause").unwrap();
    assert_eq!(pause["actor"], "admin token");
    assert_eq!(pause["request_id"], "audit-req-1");
    assert_eq!(pause["status"], 200);
    let requeue = entries.iter().find(|e| e["action"] == "dashboard: requeue").unwrap();
    assert_eq!((requeue["target"].as_str(), requeue["detail"].as_str()), (Some(k), Some("1 entries requeued")));
    assert!(entries.iter().all(|e| e["request_id"].as_str().is_some_and(|id| !id.is_empty())));
    // Refused forms (no CSRF) were recorded as refused, not as done.
    assert!(entries.iter().any(|e| e["action"] == "POST /admin/pause" && e["status"] == 403));
    let text = body.to_string();
    assert!(!text.contains(ADMIN_TOKEN), "no secret in the audit log");
    assert!(!text.contains(&admin.csrf), "no CSRF token in the audit log");
    // The page shows them too.
    let (_, html) = admin.get_html("/admin/audit").await;
    assert!(html.contains("dashboard: requeue") && html.contains("audit-req-1"));
    let (_, filtered) = app.get("/api/v1/audit?actor=nobody").await;
    assert_eq!(filtered["entries"], json!([]));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_takes_the_dashboard_session_and_its_csrf_header() {
    let app = TestApp::spawn_with(AppOptions { members: 3, ..AppOptions::default() }).await;
    let admin = AdminClient::sign_in(&app).await;
    let r = admin.get("/api/v1/sync/status").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = admin.get("/api/v1/members?limit=1").await;
    assert_eq!(r.status(), StatusCode::OK, "readers too");
    let url = format!("{}/api/v1/sync/pause", app.base);
    let r = admin.http.post(&url).header("cookie", &admin.cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a cookie call that changes state needs X-CSRF-Token");
    assert!(!app.store.source_state().await.unwrap().paused);
    let r = admin.http.post(&url).header("cookie", &admin.cookie).header("x-csrf-token", &admin.csrf).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::OK);
    assert!(app.store.source_state().await.unwrap().paused);
    let r = admin.http.post(&url).header("cookie", "amsync_admin=".to_string() + &"0".repeat(64)).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::UNAUTHORIZED, "an unknown session is no session");
    let (_, body) = app.get("/api/v1/audit").await;
    let e = &body["entries"][0];
    assert_eq!((e["action"].as_str(), e["actor"].as_str()), (Some("POST /api/v1/sync/pause"), Some("admin token")));
    app.stop().await;
}

/// A child `serve` whose admin tokens come from files, for rotating them
/// by SIGHUP; members sign in with their AMS credentials (the default
/// mode), and everything else is the default.
fn rotation_config(dir: &std::path::Path, ams: &str) -> String {
    format!(
        "[database]\nurl = \"sqlite://{}\"\n[ams]\nbase_url = \"{ams}\"\n\
         [web]\nadmin_token_file = \"{}\"\nnext_admin_token_file = \"{}\"\n",
        dir.join("amsync.db").display(),
        dir.join("admin").display(),
        dir.join("next").display(),
    )
}

/// A member's sign-in with a password at `/login`: its session cookie.
async fn member_session(base: &str, member: &str) -> String {
    let http = no_redirects();
    let form = http.get(format!("{base}/login?ReturnUrl=%2F")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let (csrf_cookie, _) = crate::admin_client::set_cookie(&form, "amsync_login_csrf").expect("the form's cookie");
    let csrf = crate::admin_client::html_value(&form.text().await.unwrap(), "csrf").unwrap();
    let password = format!("pw-{member}");
    let done = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, csrf_cookie)
        .form(&[("csrf", csrf.as_str()), ("ReturnUrl", "/"), ("username", member), ("password", &password)])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "{member} signs in");
    crate::admin_client::set_cookie(&done, "amsync_session").expect("a session cookie").0
}

/// Rotating the admin token by SIGHUP ends the dashboard sessions opened
/// with the token that is no longer accepted, at their next request (pages
/// and API alike); a session opened with the token that stays (the `next_*`
/// one, now current) goes on, and so does a SuperAdmin member's session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_admin_token_ends_the_dashboard_sessions_it_opened() {
    let _heavy = crate::helpers::HEAVY.lock().await;
    crate::helpers::init_tracing();
    let sim = amsync_sim::start(
        amsync_sim::SimConfig { members: 10, ..amsync_sim::SimConfig::default() },
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let marker: String = (0..8).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let (old, next, newer) =
        (format!("dash-old-{marker}"), format!("dash-next-{marker}"), format!("dash-newer-{marker}"));
    std::fs::write(dir.path().join("admin"), format!("{old}\n")).unwrap();
    std::fs::write(dir.path().join("next"), format!("{next}\n")).unwrap();
    let cfg = dir.path().join("amsync.toml");
    std::fs::write(&cfg, rotation_config(dir.path(), &sim.base_url())).unwrap();
    let log = dir.path().join("serve.log");
    let serve = crate::child::Serve::start(&cfg, &[("RUST_LOG", "info")], &log).await;
    let http = no_redirects();
    let api = |path: &str| http.get(serve.url(path));

    // A member signs in and is made SuperAdmin; two dashboard sessions open,
    // one with each admin token.
    let member = member_session(&serve.base, "M000006").await;
    let made = http
        .put(serve.url("/api/v1/security-groups/SuperAdmin/members"))
        .bearer_auth(&old)
        .json(&json!({"members": ["M000006"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::OK, "{}", made.text().await.unwrap());
    let by_old = AdminClient::sign_in_at(&serve.base, &old).await.expect("the admin token signs in");
    let by_next = AdminClient::sign_in_at(&serve.base, &next).await.expect("the next_* token signs in");
    let member_reads = || api("/api/v1/queue").header(reqwest::header::COOKIE, &member).send();
    assert_eq!(member_reads().await.unwrap().status(), StatusCode::OK, "the SuperAdmin's session opens the API");

    // The rotation's second step: the next token becomes the token, a newer one is next.
    std::fs::write(dir.path().join("admin"), format!("{next}\n")).unwrap();
    std::fs::write(dir.path().join("next"), format!("{newer}\n")).unwrap();
    serve.signal(libc::SIGHUP);
    eventually("the reload accepts the newer token", || async {
        api("/api/v1/sync/status").bearer_auth(&newer).send().await.unwrap().status() == StatusCode::OK
    })
    .await;
    // Refused (401, or 429 if waiting for the reload used up the address's
    // allowance of wrong tokens).
    assert_ne!(api("/api/v1/sync/status").bearer_auth(&old).send().await.unwrap().status(), StatusCode::OK);

    // The session the old token opened is over: pages send it to the sign-in
    // form, the API refuses its cookie, and a change is not made.
    let page = by_old.get("/admin/members").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(page.headers()[LOCATION].to_str().unwrap().starts_with("/admin/login"), "{:?}", page.headers());
    assert_eq!(by_old.get("/api/v1/sync/status").await.status(), StatusCode::UNAUTHORIZED);
    let pause = by_old
        .http
        .post(serve.url("/api/v1/sync/pause"))
        .header(reqwest::header::COOKIE, &by_old.cookie)
        .header("x-csrf-token", &by_old.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(pause.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(by_old.post_form("/admin/pause", &[]).await.headers()[LOCATION], "/admin/login?next=%2Fadmin");
    // The session of the token still accepted goes on, and so does the member's.
    let (status, html) = by_next.get_html("/admin").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Refresh Queue"));
    assert_eq!(by_next.get("/api/v1/sync/status").await.status(), StatusCode::OK);
    assert_eq!(
        member_reads().await.unwrap().status(),
        StatusCode::OK,
        "a SuperAdmin's session is not the admin token's"
    );
    let status: serde_json::Value =
        api("/api/v1/sync/status").bearer_auth(&newer).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["paused"], false, "the refused session paused nothing: {status}");
    serve.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("dashboard session ended: the admin token it was opened with is no longer accepted"));
    for secret in [&old, &next, &newer] {
        assert!(!text.contains(secret.as_str()), "no token in the log");
    }
}
