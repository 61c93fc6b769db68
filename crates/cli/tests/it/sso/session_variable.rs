//! Session-variable sign-on end to end over HTTP: the round trip, every
//! token refusal, login CSRF, open redirects, cookie tokens that must not
//! loop, unsolicited links, the resolve web service, and the login-time
//! refresh rules counted on the simulator.

use amsync_sso::{Claims, PskKey};
use amsync_web::sso::{SsoMode, SsoToken};
use reqwest::header::REFERRER_POLICY;
use reqwest::StatusCode;

use super::helpers::*;

#[tokio::test]
async fn the_round_trip_signs_in_and_lands_on_the_final_url_without_the_token() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut b = Browser::default();
    let login = b.get(&app.at("/login?ReturnUrl=%2Fnews%3Fpage%3D2")).await;
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let to = location(&login);
    assert!(to.starts_with(app.demo.join("/demo/login?").unwrap().as_str()), "{to}");
    let callback = param(&to, "ReturnUrl").unwrap();
    assert!(callback.starts_with(&app.at("/sso/callback?state=")), "{callback}");
    assert!(!to.contains("news"), "the final URL stays on our side");
    let done = b.get(&format!("{callback}&token={}", app.token("M000001"))).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/news?page=2");
    assert_eq!(done.headers()[REFERRER_POLICY], "no-referrer");
    assert!(b.jar.get("amsync_session").is_some());
    assert!(b.jar.get("amsync_sso_state").is_none(), "the state cookie is spent");
    let me = b.me(&app).await;
    assert_eq!(me["signed_in"], true);
    assert_eq!(me["member"]["key"], "M000001");
    assert!(me["security_groups"].as_array().unwrap().iter().any(|g| g["key"] == "Authenticated"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_sample_association_page_completes_the_round_trip() {
    for web_service in [false, true] {
        let mut opts = Options::new(SsoMode::SessionVariable);
        opts.web_service_resolve = web_service;
        let app = TestApp::spawn(opts).await;
        let mut b = Browser::default();
        let login = b.get(&app.at("/login?ReturnUrl=%2Fme")).await;
        let page_url = location(&login);
        let page = b.get(&page_url).await.text().await.unwrap();
        assert!(page.contains("Example Association") && page.contains("M000001"));
        let back = param(&page_url, "ReturnUrl").unwrap();
        let to_us = b
            .post_form(app.demo.join("/demo/login").unwrap().as_str(), &[("member", "M000014"), ("back", &back)])
            .await;
        assert_eq!(to_us.status(), StatusCode::SEE_OTHER);
        let callback = location(&to_us);
        assert!(callback.starts_with(&app.at("/sso/callback?state=")) && callback.contains("&token="), "{callback}");
        let done = b.get(&callback).await;
        assert_eq!(location(&done), "/me", "web service: {web_service}");
        assert_eq!(b.me(&app).await["member"]["key"], "M000014");
        app.shutdown().await;
    }
}

#[tokio::test]
async fn a_member_unknown_locally_is_refreshed_exactly_once_before_the_session() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.sim.sim().reset_stats();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000007", "/").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let stats = app.sim.sim().stats();
    assert_eq!((stats.details, stats.communities, stats.security_groups), (1, 1, 1), "one serial refresh");
    assert!(app.state.store.get_member(&key("M000007")).await.unwrap().is_some());
    assert!(app.state.store.list_queue(None, 10, None).await.unwrap().is_empty(), "nothing queued besides");
    app.shutdown().await;
}

#[tokio::test]
async fn a_known_member_gets_a_session_at_once_and_an_async_login_refresh() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.load("M000003").await;
    app.sim.sim().reset_stats();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000003", "/").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.sim.sim().stats().details, 0, "no AMS call before the session");
    let q = app.state.store.list_queue(None, 10, None).await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].key.as_str(), q[0].trigger), ("M000003", amsync_core::Trigger::Login));
    app.shutdown().await;
}

#[tokio::test]
async fn the_ams_down_means_try_again_and_no_session_for_someone_unknown() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.sim.sim().set_faults(amsync_sim::Faults { error_rate: 1.0, ..Default::default() });
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000009", "/").await;
    assert_eq!(done.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(done.headers().contains_key("retry-after"));
    assert!(done.text().await.unwrap().contains("try again"));
    assert!(b.jar.get("amsync_session").is_none());
    assert_eq!(b.me(&app).await["signed_in"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn a_member_the_ams_no_longer_has_is_refused() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.sim.sim().delete("M000004").unwrap();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000004", "/").await;
    assert_eq!(done.status(), StatusCode::FORBIDDEN);
    assert!(b.jar.get("amsync_session").is_none());
    app.shutdown().await;
}

/// Every way a token can be wrong, each refused without a session.
#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.load("M000001").await;
    let now = chrono::Utc::now();
    let aud = app.url.as_str().to_string();
    let claims = |iat: i64, exp: i64| Claims {
        key: "M000001".into(),
        iat: now.timestamp() + iat,
        exp: now.timestamp() + exp,
        jti: amsync_sso::ids::random_id(),
        aud: aud.clone(),
    };
    let good = amsync_sso::psk::mint(&app.psk, &claims(0, 60));
    let mut tampered = good.clone().into_bytes();
    let i = tampered.len() - 3;
    tampered[i] = if tampered[i] == b'x' { b'y' } else { b'x' };
    let other_kid = PskKey::new("k2", [7; 32]).unwrap();
    let same_kid_wrong_key = PskKey::new("k1", [7; 32]).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("expired", amsync_sso::psk::mint(&app.psk, &claims(-100, -1))),
        ("issued in the future", amsync_sso::psk::mint(&app.psk, &claims(120, 180))),
        ("too long-lived", amsync_sso::psk::mint(&app.psk, &claims(0, 301))),
        ("too old", amsync_sso::psk::mint(&app.psk, &claims(-301, 10))),
        (
            "wrong audience",
            amsync_sso::psk::mint(&app.psk, &Claims { aud: "https://evil.example".into(), ..claims(0, 60) }),
        ),
        ("unknown kid", amsync_sso::psk::mint(&other_kid, &claims(0, 60))),
        ("bad kid", good.replacen("v1.k1.", "v1.k$1.", 1)),
        ("wrong key", amsync_sso::psk::mint(&same_kid_wrong_key, &claims(0, 60))),
        ("not a token", "hello".into()),
    ];
    for (what, token) in cases {
        let mut b = Browser::default();
        let login = b.get(&app.at("/login")).await;
        let callback = param(&location(&login), "ReturnUrl").unwrap();
        let resp = b.get(&format!("{callback}&token={}", urlencode(&token))).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert!(b.jar.get("amsync_session").is_none(), "{what}");
    }
    // A good token works once; its replay is refused.
    let mut b = Browser::default();
    let login = b.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    assert_eq!(b.get(&format!("{callback}&token={good}")).await.status(), StatusCode::SEE_OTHER);
    let mut again = Browser::default();
    let login = again.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    assert_eq!(again.get(&format!("{callback}&token={good}")).await.status(), StatusCode::UNAUTHORIZED, "replayed");
    app.shutdown().await;
}

#[tokio::test]
async fn a_valid_token_with_a_foreign_state_is_refused() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    // The attacker starts a sign-in and gets a state and a token for themself…
    let mut attacker = Browser::default();
    let login = attacker.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    let link = format!("{callback}&token={}", app.token("M000013"));
    // …and makes the victim's browser follow it (the victim has its own state, or none).
    let mut victim = Browser::default();
    let resp = victim.get(&link).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(victim.jar.get("amsync_session").is_none());
    victim.get(&app.at("/login")).await;
    let resp = victim.get(&link).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(victim.jar.get("amsync_session").is_none());
    // Without any state at all, and unsolicited links not allowed: refused too.
    let resp = victim.get(&app.at(&format!("/sso/callback?token={}", app.token("M000013")))).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

/// Known open-redirect tricks, each sent as `ReturnUrl` at the start of a
/// sign-in and as an unsolicited link's `ReturnUrl`: the member always
/// lands on `/` or an allowed place, never elsewhere.
pub const TRICKS: &[&str] = &[
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%252F%252Fevil.example",
    "%2F%2Fevil.example",
    "https://evil.example",
    "HTTPS://EVIL.EXAMPLE/",
    "hTtP://evil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://127.0.0.1@evil.example",
    "https://user:pw@www.example.org/",
    "https://www.example.org.evil.example/",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%0d%0aLocation:%20https://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "\u{3000}//evil.example",
    // Dot segments that normalise into `//host`, raw and encoded.
    "/..//evil.example",
    "/.//evil.example",
    "/x/..//evil.example",
    "/./..///evil.example",
    "/%2e%2e//evil.example",
    "/%2E%2E//evil.example",
    "/.%2e//evil.example",
    "/..%2F%2Fevil.example",
    "/%252e%252e//evil.example",
    // Mixed slashes and backslashes.
    "/..\\/evil.example",
    "/\\/evil.example",
    "\\/\\evil.example",
    "/%2F\\evil.example",
    "/%5C/evil.example",
    // Tabs and newlines inside the scheme, which browsers drop.
    "ht\ttps://evil.example",
    "https\n://evil.example",
    "java\tscript:alert(1)",
    // `https:host` without slashes.
    "http:evil.example",
    "https:\\\\evil.example",
];

/// Where a `Location` takes a browser that is on `app`: it must be `app`'s
/// own origin.
fn assert_stays_on_the_site(app: &TestApp, resp: &reqwest::Response, what: &str) {
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{what}");
    let to = location(resp);
    let landing = app.url.join(&to).unwrap_or_else(|e| panic!("{what}: {to:?} does not resolve: {e}"));
    assert_eq!(landing.origin(), app.url.origin(), "{what}: {to:?}");
    assert_eq!(to, "/", "{what}");
}

#[tokio::test]
async fn open_redirect_tricks_never_leave_the_site() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable).tweak(|s| {
        s.allow_unsolicited = true;
        s.allowed_return_hosts = vec!["www.example.org".into()];
    }))
    .await;
    app.load("M000001").await;
    assert!(TRICKS.len() >= 15);
    let mut signed_in = Browser::default();
    psk_sign_in(&app, &mut signed_in, "M000001", "/").await;
    for trick in TRICKS {
        let mut b = Browser::default();
        let done = psk_sign_in(&app, &mut b, "M000001", trick).await;
        assert_stays_on_the_site(&app, &done, &format!("sign-in {trick:?}"));
        let mut b = Browser::default();
        let url = app.at(&format!("/sso/callback?ReturnUrl={}&token={}", urlencode(trick), app.token("M000001")));
        let done = b.get(&url).await;
        assert_stays_on_the_site(&app, &done, &format!("unsolicited {trick:?}"));
        // A member already signed in is sent on at once.
        let again = signed_in.get(&app.at(&format!("/login?ReturnUrl={}", urlencode(trick)))).await;
        assert_stays_on_the_site(&app, &again, &format!("signed in {trick:?}"));
        // Signing out (no session: no CSRF token needed) follows ReturnUrl too.
        let out = Browser::default().post_form(&app.at("/logout"), &[("ReturnUrl", trick)]).await;
        assert_stays_on_the_site(&app, &out, &format!("logout {trick:?}"));
    }
    assert_eq!(signed_in.me(&app).await["signed_in"], true, "the tricks did not sign the member out");
    // An allowed host passes, so the check is not simply "always /".
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000001", "https://www.example.org/news").await;
    assert_eq!(location(&done), "https://www.example.org/news");
    app.shutdown().await;
}

#[tokio::test]
async fn an_unsolicited_link_signs_in_when_allowed() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable).tweak(|s| s.allow_unsolicited = true)).await;
    let mut b = Browser::default();
    let url = app.at(&format!("/sso/callback?ReturnUrl=%2Fevents&token={}", app.token("M000002")));
    let done = b.get(&url).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/events");
    assert_eq!(b.me(&app).await["member"]["key"], "M000002");
    // A foreign state is still refused, unsolicited or not.
    let mut other = Browser::default();
    let resp = other.get(&format!("{url}&state=forged")).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    app.shutdown().await;
}

#[tokio::test]
async fn a_used_cookie_token_goes_to_the_login_page_once_never_in_a_loop() {
    let app =
        TestApp::spawn(Options::new(SsoMode::SessionVariable).tweak(|s| s.token = SsoToken::cookie("ORG_SSO"))).await;
    let token = app.token("M000005");
    let mut b = Browser::default();
    b.jar.0.insert("ORG_SSO".into(), token.clone());
    let login = b.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    // The first use signs in.
    assert_eq!(b.get(&callback).await.status(), StatusCode::SEE_OTHER);
    assert!(b.jar.get("amsync_session").is_some());
    // Later, signed out, the stale cookie is still there.
    b.jar.0.remove("amsync_session");
    let login = b.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    let first = b.get(&callback).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER, "sent back to the login page for a fresh token");
    let to = location(&first);
    assert!(to.starts_with(app.demo.join("/demo/login?").unwrap().as_str()), "{to}");
    // The association's page did not replace the cookie: no second bounce.
    let callback = param(&to, "ReturnUrl").unwrap();
    let second = b.get(&callback).await;
    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
    assert!(b.jar.get("amsync_session").is_none());
    app.shutdown().await;
}

#[tokio::test]
async fn the_resolve_web_service_turns_tokens_into_members() {
    let mut opts = Options::new(SsoMode::SessionVariable);
    opts.web_service_resolve = true;
    let app = TestApp::spawn(opts).await;
    let token = app.sim.sim().issue_token("M000006").unwrap();
    let mut b = Browser::default();
    let login = b.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    let done = b.get(&format!("{callback}&token={}", urlencode(&token))).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.me(&app).await["member"]["key"], "M000006");
    let mut c = Browser::default();
    let login = c.get(&app.at("/login")).await;
    let callback = param(&location(&login), "ReturnUrl").unwrap();
    let refused = c.get(&format!("{callback}&token=not-a-known-token")).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

#[tokio::test]
async fn with_a_push_source_an_unknown_member_is_refused_without_calling_the_ams() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable).tweak(|s| s.push_source = true)).await;
    app.sim.sim().reset_stats();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000008", "/").await;
    assert_eq!(done.status(), StatusCode::FORBIDDEN);
    assert!(done.text().await.unwrap().contains("not reached the community yet"));
    assert_eq!(app.sim.sim().stats().requests_total, 0);
    app.shutdown().await;
}

#[tokio::test]
async fn an_admin_disable_sticks_through_sign_in() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    app.load("M000010").await;
    app.store
        .write(|c| {
            Ok(c.execute(
                "UPDATE members SET status = 'disabled', disabled_reason = 'admin' WHERE key = 'M000010'",
                [],
            )?)
        })
        .await
        .unwrap();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000010", "/").await;
    assert_eq!(done.status(), StatusCode::FORBIDDEN);
    assert!(done.text().await.unwrap().contains("disabled"));
    let m = app.state.store.get_member(&key("M000010")).await.unwrap().unwrap();
    assert!(!m.record.is_active());
    app.shutdown().await;
}

#[tokio::test]
async fn a_member_still_disabled_after_the_refresh_is_refused() {
    let app = TestApp::spawn(Options::new(SsoMode::SessionVariable)).await;
    let mut details = serde_json::Map::new();
    details.insert("status".into(), serde_json::json!("disabled"));
    let req = amsync_sim::ChangeRequest { details: Some(details), ..Default::default() };
    app.sim.sim().change("M000011", &req).unwrap();
    let mut b = Browser::default();
    let done = psk_sign_in(&app, &mut b, "M000011", "/").await;
    assert_eq!(done.status(), StatusCode::FORBIDDEN);
    assert!(b.jar.get("amsync_session").is_none());
    app.shutdown().await;
}
