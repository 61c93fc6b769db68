//! `GET /sso/callback`: the association's login page (session-variable) or
//! the OpenID Connect provider sends the member back here.
//!
//! Session-variable: the `state` must be the one this browser's state
//! cookie holds (unless `allow_unsolicited` and no state at all); the token
//! comes from the query string or a domain cookie, and is resolved by the
//! pre-shared key (with the single-use `jti` recorded in the store) or by
//! ResolveToken. A refused *cookie* token sends the member to the login
//! page once, to get a fresh one, and never again in the same round trip.
//!
//! OIDC: the `state` must match; the code is traded (with the PKCE
//! verifier) and the ID token validated against the nonce.
//!
//! Every callback is counted against the client's address before anything
//! is checked (a throttle `Attempt`), and taken back unless it is refused
//! for something the caller controls (`Refusal::counts_as_failure`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use amsync_core::{escaped, MemberKey};
use amsync_sso::ids::ct_eq;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};

use super::client::ClientAddr;
use super::refusal::Refusal;
use super::round_trip::{login_page_url, RoundTrip};
use super::settings::{SsoMode, TokenSource};
use super::signon::TokenResolver;
use super::{cookies, finish, session};
use crate::state::AppState;

/// `GET /sso/callback`.
#[utoipa::path(get, path = "/sso/callback", operation_id = "sso_callback", tag = "sign-on", security(()),
    params(("state" = Option<String>, Query, description = "The round trip's state"),
        ("token" = Option<String>, Query, description = "The session-variable token (`sso.token.name`)"),
        ("code" = Option<String>, Query, description = "The OpenID Connect authorization code"),
        ("ReturnUrl" = Option<String>, Query, description = "Unsolicited links only: where to go")),
    responses((status = 303, description = "Signed in: to the final URL without the token (Referrer-Policy: no-referrer); or once back to the login page for a fresh cookie token"),
        (status = 400, description = "Foreign or missing state (login CSRF), or an incomplete answer", content_type = "text/html"),
        (status = 401, description = "The token or code was refused", content_type = "text/html"),
        (status = 403, description = "Unknown to the AMS, or disabled", content_type = "text/html"),
        (status = 429, description = "Too many failed sign-ins from this address", content_type = "text/html"),
        (status = 503, description = "The AMS or provider is not answering: try again", content_type = "text/html")))]
pub async fn callback(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let round_trip = RoundTrip::from_request(&headers, &state.sign_on.settings);
    // Counted as a failure before anything is checked or awaited, taken
    // back unless the guess was wrong (see `amsync_sso::throttle`).
    let outcome = match state.sign_on.throttle.begin(None, client, Instant::now()) {
        Err(wait) => Err(Refusal::Throttled(wait).into()),
        Ok(attempt) => {
            let outcome = match state.sign_on.settings.mode {
                SsoMode::SessionVariable => {
                    session_variable(&state, client, &headers, &query, round_trip.as_ref()).await
                }
                SsoMode::Oidc => oidc(&state, &headers, &query, round_trip.as_ref()).await,
                SsoMode::Credentials => Err(Refusal::BadRequest { reason: "no_sso_mode" }.into()),
            };
            match &outcome {
                Ok(_) => attempt.succeeded(),
                Err(Outcome::Refused(refusal)) if refusal.counts_as_failure() => attempt.failed(),
                Err(_) => attempt.not_counted(),
            }
            outcome
        }
    };
    match outcome {
        Ok(resp) => resp,
        Err(Outcome::Refused(refusal)) => {
            refusal.record(state.sign_on.settings.mode.as_str(), "sso_callback", client);
            let mut resp = refusal.page();
            resp.headers_mut().append(header::SET_COOKIE, RoundTrip::clear_cookie(&state.sign_on.settings));
            resp
        }
        Err(Outcome::Bounce(resp)) => resp,
    }
}

/// A callback that did not sign in: refused, or sent back to the login page.
enum Outcome {
    Refused(Refusal),
    Bounce(Response),
}

impl From<Refusal> for Outcome {
    fn from(r: Refusal) -> Self {
        Outcome::Refused(r)
    }
}

/// Checks the round trip's state. `Ok(None)` is an unsolicited callback
/// (allowed by configuration and carrying no state at all).
fn check_state<'a>(
    state: &AppState,
    query: &HashMap<String, String>,
    round_trip: Option<&'a RoundTrip>,
) -> Result<Option<&'a RoundTrip>, Refusal> {
    match (query.get("state"), round_trip) {
        (Some(q), Some(rt)) if ct_eq(q, &rt.state) => Ok(Some(rt)),
        (None, _)
            if state.sign_on.settings.allow_unsolicited && state.sign_on.settings.mode == SsoMode::SessionVariable =>
        {
            Ok(None)
        }
        _ => Err(Refusal::StateMismatch),
    }
}

async fn session_variable(
    state: &AppState,
    client: IpAddr,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    round_trip: Option<&RoundTrip>,
) -> Result<Response, Outcome> {
    let sign_on = &state.sign_on;
    let settings = &sign_on.settings;
    let solicited = check_state(state, query, round_trip)?;
    let return_url = match solicited {
        Some(rt) => sign_on.return_url_or_root(Some(&rt.return_url)),
        None => sign_on.return_url_or_root(query.get("ReturnUrl").map(String::as_str)),
    };
    let name = settings.token.name.as_str();
    let (token, from_cookie) = match settings.token.source {
        TokenSource::Query => (query.get(name).map(String::as_str), false),
        TokenSource::Cookie => (cookies::get(headers, name), true),
    };
    let token = token.filter(|t| !t.is_empty()).ok_or(Refusal::BadRequest { reason: "missing_token" })?;
    let previous = session::cookie_session_id(state, headers);
    let signed_in = async {
        let (member, token_id) = resolve(state, token).await?;
        finish::signed_in(state, &member, "session-variable", previous, &return_url, token_id).await
    };
    match signed_in.await {
        Ok(resp) => Ok(resp),
        Err(refusal @ Refusal::TokenRefused { .. }) if from_cookie && !round_trip.is_some_and(|rt| rt.bounced) => {
            // A stale domain cookie: once to the login page for a fresh one.
            refusal.log("sso_callback", client);
            let mut rt = RoundTrip::new(return_url.clone());
            rt.bounced = true;
            let url = login_page_url(settings, &rt.state).ok_or(Refusal::internal("sso.login_url is not set"))?;
            Err(Outcome::Bounce(
                ([(header::SET_COOKIE, rt.cookie(settings))], Redirect::to(url.as_str())).into_response(),
            ))
        }
        Err(refusal) => Err(refusal.into()),
    }
}

/// Resolves a session-variable token to a member key, and for a PSK token
/// its `jti` and expiry (recorded with the sign-in, so a replay fails).
async fn resolve(state: &AppState, token: &str) -> Result<(MemberKey, Option<(String, DateTime<Utc>)>), Refusal> {
    let sign_on = &state.sign_on;
    match sign_on.resolver.as_ref() {
        Some(TokenResolver::Psk(verifier)) => {
            let verified =
                verifier.verify(token, Utc::now()).map_err(|e| Refusal::TokenRefused { reason: e.code() })?;
            Ok((verified.member, Some((verified.jti, verified.expires_at))))
        }
        Some(TokenResolver::WebService) => {
            let service = sign_on.credentials.as_ref().ok_or(Refusal::internal("no credential service"))?;
            if token.len() > amsync_sso::psk::MAX_TOKEN_LEN {
                return Err(Refusal::TokenRefused { reason: "too_long" });
            }
            match tokio::time::timeout(sign_on.settings.service_timeout, service.resolve_token(token)).await {
                Ok(Ok(Some(member))) => Ok((member, None)),
                Ok(Ok(None)) => Err(Refusal::TokenRefused { reason: "resolve_refused" }),
                Ok(Err(e)) => {
                    tracing::warn!(error = %escaped(&e), "ResolveToken failed");
                    Err(Refusal::AmsUnavailable)
                }
                Err(_) => Err(Refusal::AmsUnavailable),
            }
        }
        None => Err(Refusal::internal("no token resolver configured")),
    }
}

async fn oidc(
    state: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    round_trip: Option<&RoundTrip>,
) -> Result<Response, Outcome> {
    let sign_on = &state.sign_on;
    let rp = sign_on.oidc.as_ref().ok_or(Refusal::internal("no OpenID Connect provider"))?;
    let rt = check_state(state, query, round_trip)?.ok_or(Refusal::StateMismatch)?;
    let pending = rt.oidc.as_ref().ok_or(Refusal::StateMismatch)?;
    if let Some(error) = query.get("error") {
        let error: String = error.chars().take(64).collect();
        tracing::info!(provider_error = %escaped(&error), "the provider ended the sign-in");
        return Err(Refusal::BadRequest { reason: "provider_error" }.into());
    }
    let code = query.get("code").filter(|c| !c.is_empty()).ok_or(Refusal::BadRequest { reason: "missing_code" })?;
    let identity = match tokio::time::timeout(sign_on.settings.service_timeout, rp.finish(code, pending)).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(e)) if e.is_unavailable() => {
            tracing::warn!(error = %escaped(&e), "the OpenID Connect provider failed");
            return Err(Refusal::AmsUnavailable.into());
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %escaped(&e), "ID token refused");
            return Err(Refusal::TokenRefused { reason: e.code() }.into());
        }
        Err(_) => return Err(Refusal::AmsUnavailable.into()),
    };
    let return_url = sign_on.return_url_or_root(Some(&rt.return_url));
    let previous = session::cookie_session_id(state, headers);
    Ok(finish::signed_in(state, &identity.member, "oidc", previous, &return_url, None).await?)
}
