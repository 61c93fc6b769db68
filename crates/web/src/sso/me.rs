//! `GET /me`: the signed-in principal (from the session cookie, or a mobile
//! token) and its effective groups; Public when signed out. JSON, or a
//! small page for a browser that asks for HTML.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::session::MaybeSession;
use super::{mobile, pages, principal};
use crate::error::ApiError;
use crate::state::AppState;

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// `GET /me`.
#[utoipa::path(get, path = "/me", operation_id = "me", tag = "sign-on", security(()),
    responses((status = 200, description = "`{\"signed_in\", \"member\", \"security_groups\", \"csrf_token\"}` (Public when signed out); HTML when asked for", content_type = "application/json")))]
pub async fn me(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (member, csrf, via, expires_at) = match &session {
        Some(s) => (Some(s.member.clone()), Some(s.csrf.clone()), "session", Some(s.expires_at)),
        None => match mobile::bearer(&headers) {
            Some(raw) => match mobile::find(&state, raw).await? {
                Some(t) => (Some(t.member), None, "mobile_token", Some(t.expires_at)),
                None => (None, None, "none", None),
            },
            None => (None, None, "none", None),
        },
    };
    let loaded = match &member {
        Some(key) => principal::load(&state, key).await?,
        None => None,
    };
    let html = wants_html(&headers);
    let Some((m, groups)) = loaded else {
        if let (Some(s), Some(key)) = (&session, &member) {
            // The member is gone or disabled: the session is void.
            tracing::info!(member = %key, "session of a member not active; ended");
            state.store.delete_session(&s.id_hash).await?;
        }
        let groups = principal::public_groups();
        if html {
            return Ok(pages::me(None, &keys(&groups), None).into_response());
        }
        return Ok(Json(json!({"signed_in": false, "member": null, "security_groups": groups})).into_response());
    };
    if html {
        let name = [m.record.details.first_name.clone(), m.record.details.last_name.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let key = m.record.details.key.to_string();
        return Ok(pages::me(Some((&key, &name)), &keys(&groups), csrf.as_deref()).into_response());
    }
    let mut body = json!({
        "signed_in": true,
        "via": via,
        "member": principal::member_json(&m),
        "security_groups": groups,
        "expires_at": expires_at,
    });
    if let Some(c) = csrf {
        body["csrf_token"] = Value::String(c);
    }
    Ok(Json(body).into_response())
}

fn keys(groups: &[Value]) -> Vec<String> {
    groups.iter().filter_map(|g| g["key"].as_str().map(str::to_string)).collect()
}
