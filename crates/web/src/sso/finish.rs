//! The common end of every browser sign-in: the login-time refresh rules,
//! a fresh session, and a 303 to the final URL (never carrying the token).
//!
//! The usual case — a member known and enabled — is one write to the store
//! ([`AuthStore::sign_in`]: the token's `jti`, the session, the login
//! refresh, in one transaction). Anyone else goes through
//! [`admit::not_admitted_yet`] (a serial refresh, or a refusal) first.
//!
//! [`AuthStore::sign_in`]: amsync_store::AuthStore::sign_in

use amsync_core::MemberKey;
use amsync_sso::ids::hash_secret;
use amsync_store::{SignIn, SignInOutcome};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::admit;
use super::refusal::Refusal;
use super::round_trip::RoundTrip;
use super::session;
use crate::state::AppState;

/// Signs `member` in: the rules, its session, and a redirect to
/// `return_url`. `previous` is the session id the browser held before
/// (deleted); `token_id` the single-use token's `jti` and expiry.
pub async fn signed_in(
    state: &AppState,
    member: &MemberKey,
    method: &'static str,
    previous: Option<&str>,
    return_url: &str,
    token_id: Option<(String, DateTime<Utc>)>,
) -> Result<Response, Refusal> {
    let push = state.sign_on.settings.push_source;
    let (id, session) = session::new_session(state, member, method);
    let replaces = previous.map(hash_secret);
    let sign_in = SignIn { session: session.clone(), token_id, replaces: replaces.clone(), login_refresh: !push };
    let outcome = state.store.sign_in(&sign_in).await.map_err(Refusal::internal)?;
    if outcome == SignInOutcome::SignedIn {
        if !push {
            state.engine.wake_workers();
        }
    } else {
        admit::not_admitted_yet(state, member, outcome).await?;
        if let Some(old) = &replaces {
            state.store.delete_session(old).await.map_err(Refusal::internal)?;
        }
        state.store.create_session(&session).await.map_err(Refusal::internal)?;
    }
    tracing::info!(member = %member, method, refreshed_first = outcome != SignInOutcome::SignedIn, "signed in");
    crate::metrics::login_outcome(method, "ok");
    let mut resp = Redirect::to(return_url).into_response();
    let headers = resp.headers_mut();
    headers.append(header::SET_COOKIE, session::cookie(state, &id));
    headers.append(header::SET_COOKIE, RoundTrip::clear_cookie(&state.sign_on.settings));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(resp)
}
