//! Credentials sign-on over HTTP: the form, CSRF, wrong passwords, and a
//! throttle that slows a guesser without locking the real member out.

use std::time::Duration;

use amsync_sso::ThrottleSettings;
use amsync_web::sso::SsoMode;
use reqwest::StatusCode;

use super::helpers::*;

/// `amsync_logins_total{kind="credentials",outcome}` as `/metrics` shows it
/// (process-wide: other tests sign in beside this one).
async fn logins(app: &TestApp, outcome: &str) -> f64 {
    let text = reqwest::get(app.at("/metrics")).await.unwrap().text().await.unwrap();
    let exposition = crate::prometheus_text::parse(&text).unwrap();
    exposition.sum("amsync_logins_total", &[("kind", "credentials"), ("outcome", outcome)])
}

/// The form's CSRF value from `GET /login`.
async fn form(app: &TestApp, b: &mut Browser) -> String {
    let page = b.get(&app.at("/login?ReturnUrl=%2Fwelcome")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 43].to_string()
}

#[tokio::test]
async fn the_form_signs_in_with_the_ams_credentials() {
    let app = TestApp::spawn(Options::new(SsoMode::Credentials)).await;
    app.sim.sim().reset_stats();
    let ok_before = logins(&app, "ok").await;
    let mut b = Browser::default();
    let csrf = form(&app, &mut b).await;
    let resp = b
        .post_form(
            &app.at("/login"),
            &[("csrf", &csrf), ("ReturnUrl", "/welcome"), ("username", "M000012"), ("password", "pw-M000012")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), "/welcome");
    let stats = app.sim.sim().stats();
    assert_eq!((stats.credentials, stats.details), (1, 1), "one credential check, one serial refresh");
    assert!(logins(&app, "ok").await > ok_before, "a sign-in is counted");
    let me = b.me(&app).await;
    assert_eq!(me["member"]["key"], "M000012");
    // Sign-out needs the session's CSRF token.
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let refused = b.post_form(&app.at("/logout"), &[]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(b.me(&app).await["signed_in"], true);
    let out = b.post_form(&app.at("/logout"), &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(b.me(&app).await["signed_in"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn a_post_without_the_form_csrf_value_is_refused() {
    let app = TestApp::spawn(Options::new(SsoMode::Credentials)).await;
    app.sim.sim().reset_stats();
    let mut b = Browser::default();
    let _ = form(&app, &mut b).await;
    let creds = [("username", "M000012"), ("password", "pw-M000012")];
    let resp = b.post_form(&app.at("/login"), &creds).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = b.post_form(&app.at("/login"), &[("csrf", "x".repeat(43).as_str()), creds[0], creds[1]]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // A forged cross-site post carries no login cookie at all.
    let mut attacker = Browser::default();
    let resp = attacker.post_form(&app.at("/login"), &[("csrf", "x".repeat(43).as_str()), creds[0], creds[1]]).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.sim.sim().stats().credentials, 0, "the AMS is not asked");
    app.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_the_password_never_shows() {
    let app = TestApp::spawn(Options::new(SsoMode::Credentials)).await;
    let refused_before = logins(&app, "bad_credentials").await;
    let mut b = Browser::default();
    let csrf = form(&app, &mut b).await;
    let resp =
        b.post_form(&app.at("/login"), &[("csrf", &csrf), ("username", "M000012"), ("password", "guess-123")]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(logins(&app, "bad_credentials").await > refused_before, "a refusal is counted with its reason");
    let html = resp.text().await.unwrap();
    assert!(html.contains("not right"));
    assert!(!html.contains("guess-123"));
    assert!(b.jar.get("amsync_session").is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn throttling_slows_the_guesser_but_never_locks_the_member_out() {
    let mut opts =
        Options::new(SsoMode::Credentials).tweak(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]);
    opts.throttle = ThrottleSettings {
        per_account_and_address: 3,
        per_address: 10,
        window: Duration::from_secs(60),
        base_delay: Duration::from_secs(30),
        max_entries: 1000,
    };
    let app = TestApp::spawn(opts).await;
    let mut guesser = Browser::default();
    let csrf = form(&app, &mut guesser).await;
    let attempt = |b: &mut Browser, csrf: String, from: &'static str, password: &'static str| {
        let url = app.at("/login");
        let mut req =
            b.http.post(url).form(&[("csrf", csrf.as_str()), ("username", "M000012"), ("password", password)]);
        req = req.header("cookie", b.jar.header()).header("x-forwarded-for", from);
        async move { req.send().await.unwrap() }
    };
    for _ in 0..3 {
        let r = attempt(&mut guesser, csrf.clone(), "203.0.113.66", "wrong").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    app.sim.sim().reset_stats();
    let r = attempt(&mut guesser, csrf.clone(), "203.0.113.66", "pw-M000012").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits now");
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert_eq!(app.sim.sim().stats().credentials, 0, "a throttled attempt costs the AMS nothing");
    // The member, from home, signs in at once.
    let mut member = Browser::default();
    let csrf = form(&app, &mut member).await;
    let r = attempt(&mut member, csrf, "198.51.100.20", "pw-M000012").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    app.shutdown().await;
}

/// Guesses sent at once are each counted before the AMS is asked: of 50
/// concurrent wrong passwords for one account from one address, at most the
/// throttle's allowance reach the AMS (before issue 13, all 50 did: each
/// was checked against a count that the others had not raised yet). The
/// same holds for the mobile password grant, and the member, from another
/// address, still signs in at once.
#[tokio::test]
async fn concurrent_guesses_reach_the_ams_at_most_the_allowance() {
    const ALLOWANCE: u32 = 5;
    const GUESSES: usize = 50;
    let mut opts =
        Options::new(SsoMode::Credentials).tweak(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]);
    opts.throttle = ThrottleSettings {
        per_account_and_address: ALLOWANCE,
        per_address: 20,
        window: Duration::from_secs(60),
        base_delay: Duration::from_secs(30),
        max_entries: 1000,
    };
    let app = TestApp::spawn(opts).await;
    let guesser_at = "203.0.113.66";
    let mut guesser = Browser::default();
    let csrf = form(&app, &mut guesser).await;
    // A slow AMS, so that every guess is in flight before the first answer.
    app.sim.sim().set_faults(amsync_sim::Faults { latency_ms: 300, ..amsync_sim::Faults::default() });
    app.sim.sim().reset_stats();
    let browser_guess = |i: usize| {
        let password = format!("guess-{i}");
        let form = [("csrf", csrf.as_str()), ("username", "M000012"), ("password", password.as_str())];
        let req = guesser.http.post(app.at("/login")).form(&form);
        let req = req.header("cookie", guesser.jar.header()).header("x-forwarded-for", guesser_at);
        async move { req.send().await.unwrap().status() }
    };
    let statuses = futures::future::join_all((0..GUESSES).map(browser_guess)).await;
    let credential_checks = app.sim.sim().stats().credentials;
    let refused = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert!(credential_checks <= u64::from(ALLOWANCE), "{credential_checks} of {GUESSES} guesses reached the AMS");
    assert_eq!((refused, throttled), (credential_checks as usize, GUESSES - credential_checks as usize));
    assert!(credential_checks >= 1, "the allowance is used, not refused outright");

    // The mobile password grant, for another account from the same address.
    app.sim.sim().reset_stats();
    let mobile_guess = |i: usize| {
        let body =
            serde_json::json!({"grant_type": "password", "username": "M000013", "password": format!("guess-{i}")});
        let req = app.http.post(app.at("/api/v1/auth/token")).json(&body).header("x-forwarded-for", guesser_at);
        async move { req.send().await.unwrap().status() }
    };
    let statuses = futures::future::join_all((0..GUESSES).map(mobile_guess)).await;
    let credential_checks = app.sim.sim().stats().credentials;
    assert!(
        credential_checks <= u64::from(ALLOWANCE),
        "{credential_checks} of {GUESSES} mobile guesses reached the AMS"
    );
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(throttled, GUESSES - credential_checks as usize);

    // The member, from home, signs in at once, slow AMS and all.
    let mut member = Browser::default();
    let csrf = form(&app, &mut member).await;
    let resp = member
        .http
        .post(app.at("/login"))
        .form(&[("csrf", csrf.as_str()), ("username", "M000012"), ("password", "pw-M000012")])
        .header("cookie", member.jar.header())
        .header("x-forwarded-for", "198.51.100.20")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    app.shutdown().await;
}
