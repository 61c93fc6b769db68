//! Sign-on over HTTP (product.md job 8): the browser round trips, sessions,
//! mobile tokens and session introspection. The non-HTTP parts (tokens,
//! return-URL policy, throttle, OIDC) are in `amsync_sso`.
//!
//! Browser routes: `GET /login`, `POST /login`, `GET /sso/callback`,
//! `POST /logout`, `GET /me`. API routes (under `/api/v1`):
//! `POST`/`DELETE /auth/token`, `GET /session` (site token),
//! `POST /members/{key}/sign-out` (admin).
//!
//! - [`settings`]: the plain settings; [`signon`]: the assembled service;
//! - [`login`], [`callback`], [`logout`], [`me`]: the browser pages;
//! - [`finish`] and [`admit`]: the common end of a sign-in and the
//!   login-time refresh rules; [`refusal`]: why a sign-in was refused;
//! - [`session`], [`cookies`], [`round_trip`]: sessions, cookies and the
//!   SSO state cookie; [`client`]: the client address behind trusted proxies;
//! - [`mobile`], [`introspect`], [`sign_out`]: the API routes;
//! - [`prune`]: the periodic clean-up of ended sessions and tokens;
//! - [`bench`]: `amsync bench login`.
//!
//! **Invariants:** no token, password or session id is logged; every
//! refusal is logged with a reason; redirects go only where
//! `amsync_sso::ReturnUrlPolicy` allows; every state-changing browser
//! request carries a CSRF token.

pub mod admit;
pub mod bench;
pub mod callback;
pub mod client;
pub mod cookies;
pub mod finish;
pub mod introspect;
pub mod login;
pub mod logout;
pub mod me;
pub mod mobile;
pub mod pages;
pub mod principal;
pub mod prune;
pub mod refusal;
pub mod round_trip;
pub mod session;
pub mod settings;
pub mod sign_out;
pub mod signon;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use settings::{SessionSettings, SignOnSettings, SsoMode, TokenSource};
pub use signon::{SignOn, SignOnError, TokenResolver};

use crate::state::AppState;

/// Every sign-on route: the browser pages and the API routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    browser_routes().nest("/api/v1", api_routes())
}

/// The browser pages: never cached, never framed, no referrer leaks.
pub fn browser_routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::start).post(login::submit))
        .route("/sso/callback", get(callback::callback))
        .route("/logout", post(logout::logout))
        .route("/me", get(me::me))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
}

/// The API routes of sign-on, to nest under `/api/v1`.
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/auth/token", post(mobile::issue).delete(mobile::revoke))
        .route("/session", get(introspect::introspect))
        .route("/members/{key}/sign-out", post(sign_out::sign_out_everywhere))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}
