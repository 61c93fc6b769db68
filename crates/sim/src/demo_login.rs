//! A sample association login page, so `amsync demo` shows the whole
//! session-variable sign-on round trip in a browser.
//!
//! `GET /demo/login?ReturnUrl=…` shows a form to pick any simulated member
//! (no password: it is a demo); `POST /demo/login` makes a token for that
//! member and sends the browser back to the `ReturnUrl` amsync gave, with
//! the token appended as `token` — exactly what an association's real login
//! page does. The token is a pre-shared-key token (`v1.<kid>.…`, made with
//! `amsync_sso::psk::mint`) or, for `resolve = web-service`, a token the
//! simulator's ResolveToken resolves.
//!
//! It is served on a listener of its own ([`start`]), beside the sim.

use std::net::SocketAddr;
use std::time::Duration;

use amsync_sso::{Claims, PskKey};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Sim;

/// How the demo page makes tokens.
#[derive(Clone)]
pub enum DemoTokens {
    /// Pre-shared-key tokens for `audience` (amsync's `web.public_url`).
    Psk { key: PskKey, audience: String },
    /// Tokens the simulator's ResolveToken knows.
    ResolveService,
}

/// The demo login page's settings.
#[derive(Clone)]
pub struct DemoLogin {
    pub sim: Sim,
    pub tokens: DemoTokens,
    /// The query parameter carrying amsync's callback (`sso.return_url_param`).
    pub return_url_param: String,
    /// The query parameter the token is appended as (`sso.token.name`).
    pub token_param: String,
}

impl DemoLogin {
    pub fn new(sim: Sim, tokens: DemoTokens) -> DemoLogin {
        DemoLogin { sim, tokens, return_url_param: "ReturnUrl".into(), token_param: "token".into() }
    }
}

/// The page's routes (`/demo/login`).
pub fn router(demo: DemoLogin) -> Router {
    Router::new().route("/demo/login", get(page).post(sign_in)).with_state(demo)
}

/// Serves the page on `listener` until `stop` is cancelled.
pub async fn start(demo: DemoLogin, listener: TcpListener, stop: CancellationToken) -> std::io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let serve = axum::serve(listener, router(demo)).with_graceful_shutdown(async move { stop.cancelled().await });
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "the demo login page stopped");
        }
    });
    Ok(addr)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

async fn page(State(demo): State<DemoLogin>, Query(q): Query<std::collections::HashMap<String, String>>) -> Response {
    let back = q.get(&demo.return_url_param).cloned().unwrap_or_default();
    // The first twenty members are offered; any other key may be typed.
    let options: String = (0..20)
        .filter_map(|i| demo.sim.truth(&crate::member_key(i)).ok())
        .filter(|t| !t.deleted)
        .map(|t| {
            let name = [t.details.first_name.as_deref(), t.details.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            format!("<option value=\"{0}\">{0} — {1}</option>", escape(&t.key), escape(&name))
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>Association sign-in (demo)</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem}}\
         select,input{{width:100%;padding:.5rem;box-sizing:border-box}}button{{margin-top:1rem;padding:.5rem 1.2rem}}</style>\
         </head><body><h1>Example Association</h1><p>This is the simulated AMS's sample login page. \
         Pick a member (or type a key) and sign in; you go back to the community with a token.</p>\
         <form method=\"post\" action=\"/demo/login\"><input type=\"hidden\" name=\"back\" value=\"{}\">\
         <label for=\"member\">Member</label><input id=\"member\" name=\"member\" list=\"members\" value=\"M000001\">\
         <datalist id=\"members\">{options}</datalist>\
         <button id=\"sign-in\" type=\"submit\">Sign in</button></form></body></html>",
        escape(&back)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct SignInForm {
    member: String,
    back: String,
}

async fn sign_in(State(demo): State<DemoLogin>, Form(f): Form<SignInForm>) -> Response {
    let member = f.member.trim();
    let Ok(mut back) = url::Url::parse(&f.back) else {
        return (StatusCode::BAD_REQUEST, "the page was opened without a valid return URL").into_response();
    };
    if !matches!(back.scheme(), "http" | "https") {
        return (StatusCode::BAD_REQUEST, "the return URL is not http(s)").into_response();
    }
    let token = match &demo.tokens {
        DemoTokens::Psk { key, audience } => {
            if demo.sim.truth(member).is_err() {
                return (StatusCode::NOT_FOUND, "no such member in the simulated AMS").into_response();
            }
            amsync_sso::psk::mint(key, &Claims::new(member, audience, chrono::Utc::now(), Duration::from_secs(120)))
        }
        DemoTokens::ResolveService => match demo.sim.issue_token(member) {
            Ok(t) => t,
            Err(_) => return (StatusCode::NOT_FOUND, "no such member in the simulated AMS").into_response(),
        },
    };
    back.query_pairs_mut().append_pair(&demo.token_param, &token);
    Redirect::to(back.as_str()).into_response()
}
