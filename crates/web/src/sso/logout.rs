//! `POST /logout`: ends the session (CSRF-checked), then single logout where
//! there is one: the provider's RP-initiated logout (OIDC) or the
//! association's `sso.logout_url`; otherwise the checked `ReturnUrl`, or a
//! "signed out" page.

use amsync_sso::ids::hash_secret;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::client::ClientAddr;
use super::refusal::Refusal;
use super::session::{self, MaybeSession};
use super::settings::SsoMode;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LogoutForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: Option<String>,
    #[serde(rename = "ReturnUrl", default)]
    #[schema(rename = "ReturnUrl")]
    return_url: Option<String>,
}

/// `POST /logout`.
#[utoipa::path(post, path = "/logout", operation_id = "logout", tag = "sign-on", security(()),
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Signed out", content_type = "text/html"),
        (status = 303, description = "Signed out: to the single-logout page or the return URL"),
        (status = 400, description = "The CSRF token is missing or wrong", content_type = "text/html")))]
pub async fn logout(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    MaybeSession(current): MaybeSession,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(s) = &current {
        let presented =
            form.csrf.as_deref().or_else(|| headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()));
        if !session::csrf_ok(s, presented) {
            Refusal::Csrf.log("logout", client);
            return Refusal::Csrf.page();
        }
        if let Err(e) = state.store.delete_session(&s.id_hash).await {
            return Refusal::internal(e).page();
        }
        tracing::info!(member = %s.member, "signed out");
    } else if let Some(id) = session::cookie_session_id(&state, &headers) {
        // An expired or unknown session: make sure nothing is left of it.
        let _ = state.store.delete_session(&hash_secret(id)).await;
    }
    let sign_on = &state.sign_on;
    let single_logout = match sign_on.settings.mode {
        SsoMode::Oidc => sign_on.oidc.as_ref().and_then(|rp| rp.logout_url()),
        _ => sign_on.settings.logout_url.clone(),
    };
    let clear = [(header::SET_COOKIE, session::clear_cookie(&state))];
    match (single_logout, form.return_url.filter(|r| !r.is_empty())) {
        (Some(url), _) => (clear, Redirect::to(url.as_str())).into_response(),
        (None, Some(r)) => (clear, Redirect::to(&sign_on.return_url_or_root(Some(&r)))).into_response(),
        (None, None) => (clear, super::pages::signed_out()).into_response(),
    }
}
