//! The common end of every browser sign-in: the login-time refresh rules,
//! a fresh session, and a 303 to the final URL (never carrying the token).

use amsync_core::MemberKey;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

use super::admit::admit;
use super::refusal::Refusal;
use super::round_trip::RoundTrip;
use super::session;
use crate::state::AppState;

/// Admits `member`, starts its session and redirects to `return_url`.
/// `previous` is the session id the browser held before (deleted).
pub async fn signed_in(
    state: &AppState,
    member: &MemberKey,
    method: &str,
    previous: Option<&str>,
    return_url: &str,
) -> Result<Response, Refusal> {
    let admission = admit(state, member).await?;
    let cookie = session::start(state, member, method, previous).await.map_err(Refusal::internal)?;
    tracing::info!(member = %member, method, admission = ?admission, "signed in");
    let mut resp = Redirect::to(return_url).into_response();
    let headers = resp.headers_mut();
    headers.append(header::SET_COOKIE, cookie);
    headers.append(header::SET_COOKIE, RoundTrip::clear_cookie(&state.sign_on.settings));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(resp)
}
