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
pub mod refusal;
pub mod round_trip;
pub mod session;
pub mod settings;
pub mod sign_out;
pub mod signon;

use axum::http::{header, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use settings::{SessionSettings, SignOnSettings, SsoMode, SsoToken, TokenSource};
pub use signon::{SignOn, SignOnError, TokenResolver};

use crate::state::AppState;

/// The browser pages: never cached, never framed, no referrer leaks.
pub fn browser_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login::start, login::submit))
        .routes(routes!(callback::callback))
        .routes(routes!(logout::logout))
        .routes(routes!(me::me))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
}

/// The API routes of sign-on, to nest under `/api/v1`.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mobile::issue, mobile::revoke))
        .routes(routes!(introspect::introspect))
        .routes(routes!(sign_out::sign_out_everywhere))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}
