//! The sim's HTTP surface: the contract's methods at the root, the control
//! API under `/_sim`.

mod contract;
mod control;
pub(crate) mod request_body;
mod soap;

use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::config::SimAuth;
use crate::render::{json, xml, Enc};
use crate::sim::State;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/health", get(contract::health))
        .route("/members/changed", get(contract::changed_members))
        .route("/members/{key}", get(contract::details))
        .route("/members/{key}/communities", get(contract::communities))
        .route("/members/{key}/security-groups", get(contract::security_groups))
        .route("/events/changed", get(contract::changed_events))
        .route("/auth/credentials", post(contract::credentials))
        .route("/auth/resolve-token", post(contract::resolve_token))
        .route("/oauth/token", post(contract::oauth_token))
        .route(crate::soap::PATH, post(soap::refresh_service))
        .nest("/_sim", control::router())
        .layer(axum::middleware::map_request_with_state(state.clone(), note_version))
        .with_state(state)
}

/// Counts the requests that came over HTTP/2, so a test can tell which
/// version a client really spoke.
async fn note_version(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    req: axum::extract::Request,
) -> axum::extract::Request {
    if req.version() == axum::http::Version::HTTP_2 {
        state.stats.http2_request();
    }
    req
}

/// XML when the caller accepts it (`Accept: application/xml`), else JSON.
fn encoding(headers: &HeaderMap) -> Enc {
    match headers.get(axum::http::header::ACCEPT) {
        Some(v) if contains_xml(v.as_bytes()) => Enc::Xml,
        _ => Enc::Json,
    }
}

fn contains_xml(v: &[u8]) -> bool {
    v.windows(3).any(|w| w.eq_ignore_ascii_case(b"xml"))
}

fn respond(status: StatusCode, enc: Enc, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(enc.content_type()));
    r
}

fn error_body(status: StatusCode, enc: Enc, message: &str) -> Response {
    let body = match enc {
        Enc::Json => json::error(message),
        Enc::Xml => xml::error(message),
    };
    respond(status, enc, body)
}

fn unauthorized(enc: Enc, auth: &SimAuth) -> Response {
    let mut r = error_body(StatusCode::UNAUTHORIZED, enc, "unauthorized");
    let challenge = match auth {
        SimAuth::Basic { .. } => Some("Basic realm=\"amsync-sim\""),
        SimAuth::OAuth2 { .. } => Some("Bearer"),
        _ => None,
    };
    if let Some(c) = challenge {
        r.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(c));
    }
    r
}

fn server_error(enc: Enc, status: u16, retry_after: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = error_body(status, enc, "injected fault");
    if retry_after {
        r.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}
