//! `GET /api/v1/session`: the community site's back end (site token)
//! forwards a session id (`X-Amsync-Session`) or a mobile token
//! (`X-Amsync-Bearer`) and learns who is behind it, with effective groups.
//! An unknown, expired or revoked one is `{"active": false}`. Introspecting
//! a session counts as using it (idle timeout).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use super::{mobile, principal, session};
use crate::auth::Reader;
use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_HEADER: &str = "x-amsync-session";
pub const BEARER_HEADER: &str = "x-amsync-bearer";

/// `GET /api/v1/session`.
#[utoipa::path(get, path = "/session", operation_id = "introspect_session", tag = "sign-on",
    security(("site_token" = []), ("admin_token" = [])),
    params(("X-Amsync-Session" = Option<String>, Header, description = "A session id the site received"),
        ("X-Amsync-Bearer" = Option<String>, Header, description = "A mobile token the site received")),
    responses((status = 200, description = "`{\"active\": true, \"kind\", \"member\", \"security_groups\", \"expires_at\"}` or `{\"active\": false}`", content_type = "application/json"),
        (status = 400, description = "Neither header was sent"), (status = 401, description = "No or unknown token or session")))]
pub async fn introspect(
    State(state): State<AppState>,
    _reader: Reader,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let (kind, member, expires_at) = if let Some(id) = header(SESSION_HEADER) {
        match session::find(&state, id).await? {
            Some(s) => ("session", s.member, s.expires_at),
            None => return Ok(Json(json!({"active": false}))),
        }
    } else if let Some(raw) = header(BEARER_HEADER) {
        match mobile::find(&state, raw).await? {
            Some(t) => ("mobile_token", t.member, t.expires_at),
            None => return Ok(Json(json!({"active": false}))),
        }
    } else {
        return Err(ApiError::BadRequest(format!("send {SESSION_HEADER} or {BEARER_HEADER}")));
    };
    match principal::load(&state, &member).await? {
        Some((m, groups)) => Ok(Json(json!({
            "active": true,
            "kind": kind,
            "member": principal::member_json(&m),
            "security_groups": groups,
            "expires_at": expires_at,
        }))),
        None => Ok(Json(json!({"active": false}))),
    }
}
