//! Browser sessions: made at sign-in, found from the cookie, ended at
//! sign-out.
//!
//! A session id is 256 random bits; the cookie carries it, the store keeps
//! its SHA-256. A new id is made at every sign-in (an id planted before
//! sign-in is never promoted), and an old session the browser still held
//! is deleted then. Each session has its own CSRF token, required in every
//! state-changing form and, for cookie-authenticated API calls, in the
//! `X-CSRF-Token` header.

use amsync_core::MemberKey;
use amsync_sso::ids::{ct_eq, hash_secret, looks_like_id, random_id};
use amsync_store::{NewSession, Session};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method};
use chrono::Utc;

use super::cookies;
use crate::error::ApiError;
use crate::state::AppState;

/// The header that carries the CSRF token on cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session id the browser sent, if it has the right shape.
pub fn cookie_session_id<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    let name = cookies::name(cookies::SESSION, state.sign_on.settings.secure_cookies());
    cookies::get(headers, &name).filter(|id| looks_like_id(id))
}

/// The live session behind a session id (the store applies lifetime and
/// idle timeout, and touches it).
pub async fn find(state: &AppState, id: &str) -> Result<Option<Session>, ApiError> {
    if !looks_like_id(id) {
        return Ok(None);
    }
    let idle = state.sign_on.settings.sessions.idle_timeout;
    Ok(state.store.session(&hash_secret(id), Utc::now(), idle).await?)
}

/// A new session for `member` (not stored yet): its id, for the cookie,
/// and the row to store (which holds only the id's hash).
pub fn new_session(state: &AppState, member: &MemberKey, method: &str) -> (String, NewSession) {
    let id = random_id();
    let now = Utc::now();
    let lifetime = state.sign_on.settings.sessions.lifetime;
    let session = NewSession {
        id_hash: hash_secret(&id),
        member: member.clone(),
        csrf: random_id(),
        method: method.to_string(),
        created_at: now,
        expires_at: now + chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::hours(12)),
    };
    (id, session)
}

/// The `Set-Cookie` value carrying session id `id`.
pub fn cookie(state: &AppState, id: &str) -> HeaderValue {
    let settings = &state.sign_on.settings;
    let secure = settings.secure_cookies();
    cookies::set(&cookies::name(cookies::SESSION, secure), id, Some(settings.sessions.lifetime), secure)
}

/// The `Set-Cookie` value that ends the session cookie.
pub fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = state.sign_on.settings.secure_cookies();
    cookies::clear(&cookies::name(cookies::SESSION, secure), secure)
}

/// Whether `presented` is the session's CSRF token (constant-time).
pub fn csrf_ok(session: &Session, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| ct_eq(p, &session.csrf))
}

/// Whether a method changes state (and so needs the CSRF token).
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The request's session, if the cookie names a live one.
pub struct MaybeSession(pub Option<Session>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match cookie_session_id(state, &parts.headers) {
            Some(id) => Ok(MaybeSession(find(state, id).await?)),
            None => Ok(MaybeSession(None)),
        }
    }
}
