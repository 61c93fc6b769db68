//! Mobile sign-in: `POST /api/v1/auth/token` trades credentials
//! (`grant_type = "password"`, where a credential service is configured) or
//! an ID token the app got from the provider (`grant_type = "id_token"`, in
//! `oidc` mode) for an opaque bearer token; `DELETE /api/v1/auth/token`
//! revokes the token presented. Tokens are 256 random bits, stored hashed,
//! expiring after `sessions.mobile_token_lifetime`. The same login-time
//! refresh rules and throttle apply as for browsers. An ID token is
//! exchanged once (its id is recorded until it expires). A mobile token
//! never opens the admin API.

use std::time::Instant;

use amsync_core::{escaped, MemberKey};
use amsync_sso::ids::{hash_secret, looks_like_id, random_id};
use amsync_sso::Password;
use amsync_store::{MobileToken, NewMobileToken};
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::admit::admit;
use super::client::ClientAddr;
use super::refusal::Refusal;
use super::settings::SsoMode;
use crate::error::{ApiError, JsonBody};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `password` or `id_token`.
    grant_type: String,
    #[serde(default)]
    username: String,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Password>,
    /// An ID token the app got from the provider (`oidc` mode).
    id_token: Option<String>,
}

/// The bearer token of the `Authorization` header, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The live mobile token `raw` names, if any.
pub async fn find(state: &AppState, raw: &str) -> Result<Option<MobileToken>, ApiError> {
    if !looks_like_id(raw) {
        return Ok(None);
    }
    Ok(state.store.mobile_token(&hash_secret(raw), Utc::now()).await?)
}

/// `POST /api/v1/auth/token`.
#[utoipa::path(post, path = "/auth/token", operation_id = "issue_mobile_token", tag = "sign-on", security(()),
    request_body = TokenRequest,
    responses((status = 200, description = "`{\"token\", \"expires_at\"}`", content_type = "application/json"),
        (status = 400, description = "Unsupported grant or missing field", content_type = "application/json"),
        (status = 401, description = "Wrong credentials or ID token", content_type = "application/json"),
        (status = 403, description = "Unknown to the AMS, or disabled", content_type = "application/json"),
        (status = 429, description = "Too many failed sign-ins; Retry-After says when", content_type = "application/json"),
        (status = 503, description = "The AMS or provider is not answering", content_type = "application/json")))]
pub async fn issue(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(req): JsonBody<TokenRequest>,
) -> Response {
    let grant = req.grant_type.clone();
    let result = match grant.as_str() {
        "password" => {
            let username = req.username.trim().to_string();
            super::login::check(&state, client, &username, req.password).await
        }
        "id_token" => id_token(&state, client, req.id_token.as_deref()).await,
        _ => Err(Refusal::BadRequest { reason: "unsupported_grant_type" }),
    };
    let member = match result {
        Ok(m) => m,
        Err(refusal) => {
            refusal.record("mobile", "auth_token", client);
            return refusal.json();
        }
    };
    if let Err(refusal) = admit(&state, &member).await {
        refusal.record("mobile", "auth_token", client);
        return refusal.json();
    }
    match create(&state, &member, &grant).await {
        Ok((token, expires_at)) => {
            tracing::info!(member = %member, grant = %grant, "mobile token issued");
            crate::metrics::login_outcome("mobile", "ok");
            (StatusCode::OK, Json(json!({"token": token, "expires_at": expires_at}))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The `id_token` grant. The attempt is counted before the token is
/// checked (see `login::check`), and a token is exchanged once: its id
/// (`jti`, or the hash of its signed part) is recorded until its `exp` by
/// the same unique insert as a PSK token's `jti`, so a replay fails on
/// every node.
async fn id_token(state: &AppState, client: std::net::IpAddr, raw: Option<&str>) -> Result<MemberKey, Refusal> {
    let sign_on = &state.sign_on;
    let rp = match (&sign_on.oidc, sign_on.settings.mode) {
        (Some(rp), SsoMode::Oidc) => rp,
        _ => return Err(Refusal::BadRequest { reason: "unsupported_grant_type" }),
    };
    let raw = raw.filter(|t| !t.is_empty()).ok_or(Refusal::BadRequest { reason: "missing_id_token" })?;
    let attempt = sign_on.throttle.begin(None, client, Instant::now()).map_err(Refusal::Throttled)?;
    let identity = match tokio::time::timeout(sign_on.settings.service_timeout, rp.verify_mobile_id_token(raw)).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(e)) if e.is_unavailable() => {
            attempt.not_counted();
            return Err(Refusal::AmsUnavailable);
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %escaped(&e), "mobile ID token refused");
            attempt.failed();
            return Err(Refusal::TokenRefused { reason: e.code() });
        }
        Err(_) => {
            attempt.not_counted();
            return Err(Refusal::AmsUnavailable);
        }
    };
    match state.store.use_token_id(&identity.token_id, identity.expires_at).await {
        Ok(true) => {
            attempt.succeeded();
            Ok(identity.member)
        }
        Ok(false) => {
            attempt.failed();
            Err(Refusal::TokenRefused { reason: "replayed" })
        }
        Err(e) => {
            attempt.not_counted();
            Err(Refusal::internal(e))
        }
    }
}

async fn create(
    state: &AppState,
    member: &MemberKey,
    grant: &str,
) -> Result<(String, chrono::DateTime<Utc>), ApiError> {
    let token = random_id();
    let now = Utc::now();
    let lifetime = state.sign_on.settings.sessions.mobile_token_lifetime;
    let expires_at = now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::days(30));
    let row = NewMobileToken {
        hash: hash_secret(&token),
        member: member.clone(),
        grant: grant.to_string(),
        created_at: now,
        expires_at,
    };
    state.store.create_mobile_token(&row).await?;
    Ok((token, expires_at))
}

/// `DELETE /api/v1/auth/token` with the token as `Authorization: Bearer`.
#[utoipa::path(delete, path = "/auth/token", operation_id = "revoke_mobile_token", tag = "sign-on", security(()),
    responses((status = 204, description = "Revoked (or already gone)"), (status = 401, description = "No bearer token")))]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    let raw = bearer(&headers).ok_or(ApiError::Unauthenticated)?;
    if !looks_like_id(raw) {
        return Err(ApiError::Unauthenticated);
    }
    if state.store.revoke_mobile_token(&hash_secret(raw)).await? {
        tracing::info!("mobile token revoked");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// For extractors: the live mobile token of a request, if it carries one.
pub async fn from_parts(state: &AppState, parts: &Parts) -> Result<Option<MobileToken>, ApiError> {
    match bearer(&parts.headers) {
        Some(raw) => find(state, raw).await,
        None => Ok(None),
    }
}
