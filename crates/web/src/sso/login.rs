//! `GET /login` and `POST /login`.
//!
//! `GET /login?ReturnUrl=/x` starts a sign-in in the configured mode: the
//! credentials form; a redirect to the association's login page
//! (session-variable); or a redirect to the OpenID Connect provider. The
//! return URL is checked here and kept on our side.
//!
//! `POST /login` (credentials mode) checks the form's CSRF value, the
//! throttle, then asks the credential service; the password is held in a
//! zeroizing type and never logged.

use std::time::Instant;

use amsync_core::escaped;
use amsync_sso::ids::{ct_eq, looks_like_id, random_id};
use amsync_sso::Password;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::client::ClientAddr;
use super::refusal::Refusal;
use super::round_trip::{login_page_url, RoundTrip};
use super::session::{self, MaybeSession};
use super::settings::SsoMode;
use super::{cookies, finish};
use crate::state::AppState;

/// Longest username and password passed on (longer ones are refused
/// before they reach the AMS).
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// Where to go once signed in: a relative path, or an URL on an allowed host.
    #[serde(rename = "ReturnUrl")]
    #[param(rename = "ReturnUrl")]
    pub return_url: Option<String>,
}

/// `GET /login`.
#[utoipa::path(get, path = "/login", operation_id = "login_start", tag = "sign-on", security(()), params(LoginQuery),
    responses((status = 200, description = "The sign-in form (credentials mode)", content_type = "text/html"),
        (status = 303, description = "To the association's login page, the OpenID Connect provider, or (already signed in) the return URL")))]
pub async fn start(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let sign_on = &state.sign_on;
    let return_url = sign_on.return_url_or_root(q.return_url.as_deref());
    if current.is_some() {
        return Redirect::to(&return_url).into_response();
    }
    let settings = &sign_on.settings;
    match settings.mode {
        SsoMode::Credentials => {
            let secure = settings.secure_cookies();
            let name = cookies::name(cookies::LOGIN_CSRF, secure);
            let csrf = cookies::get(&headers, &name).filter(|v| looks_like_id(v)).map(str::to_string);
            let csrf = csrf.unwrap_or_else(random_id);
            let set = cookies::set(&name, &csrf, Some(settings.state_lifetime), secure);
            ([(header::SET_COOKIE, set)], super::pages::login_form(&csrf, &return_url, "", None)).into_response()
        }
        SsoMode::SessionVariable => {
            let rt = RoundTrip::new(return_url);
            match login_page_url(settings, &rt.state) {
                Some(url) => ([(header::SET_COOKIE, rt.cookie(settings))], Redirect::to(url.as_str())).into_response(),
                None => Refusal::internal("sso.login_url is not set").page(),
            }
        }
        SsoMode::Oidc => match &sign_on.oidc {
            Some(rp) => {
                let (url, pending) = rp.start();
                let rt = RoundTrip::for_oidc(return_url, pending);
                ([(header::SET_COOKIE, rt.cookie(settings))], Redirect::to(url.as_str())).into_response()
            }
            None => Refusal::internal("the OpenID Connect provider is not configured").page(),
        },
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    /// The form's CSRF value (from the page).
    #[serde(default)]
    csrf: String,
    #[serde(rename = "ReturnUrl", default)]
    #[schema(rename = "ReturnUrl")]
    return_url: Option<String>,
    #[serde(default)]
    username: String,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Password>,
}

/// `POST /login` (credentials mode).
#[utoipa::path(post, path = "/login", operation_id = "login_submit", tag = "sign-on", security(()),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: to the return URL, with the session cookie"),
        (status = 400, description = "The form's CSRF value is missing or wrong", content_type = "text/html"),
        (status = 401, description = "Wrong username or password (the form again)", content_type = "text/html"),
        (status = 403, description = "Unknown to the AMS, or disabled", content_type = "text/html"),
        (status = 404, description = "Password sign-in is not enabled"),
        (status = 429, description = "Too many failed sign-ins; Retry-After says when", content_type = "text/html"),
        (status = 503, description = "The AMS is not answering: try again", content_type = "text/html")))]
pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let settings = &state.sign_on.settings;
    let secure = settings.secure_cookies();
    let csrf_cookie = cookies::get(&headers, &cookies::name(cookies::LOGIN_CSRF, secure));
    let return_url = state.sign_on.return_url_or_root(form.return_url.as_deref());
    if settings.mode != SsoMode::Credentials || state.sign_on.credentials.is_none() {
        return (StatusCode::NOT_FOUND, "sign-in with a password is not enabled").into_response();
    }
    if !csrf_cookie.is_some_and(|c| looks_like_id(c) && ct_eq(c, &form.csrf)) {
        Refusal::Csrf.record("credentials", "login", client);
        return Refusal::Csrf.page();
    }
    let username = form.username.trim().to_string();
    match check(&state, client, &username, form.password).await {
        Ok(member) => {
            let previous = session::cookie_session_id(&state, &headers);
            match finish::signed_in(&state, &member, "credentials", previous, &return_url, None).await {
                Ok(resp) => resp,
                Err(refusal) => {
                    refusal.record("credentials", "login", client);
                    refusal.page()
                }
            }
        }
        Err(refusal) => {
            refusal.record("credentials", "login", client);
            let mut resp = match refusal {
                Refusal::BadCredentials | Refusal::Throttled(_) => {
                    let page = super::pages::login_form(&form.csrf, &return_url, &username, Some(&refusal.message()));
                    (refusal.status(), page).into_response()
                }
                _ => refusal.page(),
            };
            refusal.add_retry_after(&mut resp);
            resp
        }
    }
}

/// Throttle, then the credential service. The attempt is counted as a
/// failure before the AMS is asked (so guesses sent at once cannot all get
/// through before the first wrong one is counted) and taken back on
/// success or when the AMS does not answer. The password is dropped (and
/// zeroized) when this returns.
pub(crate) async fn check(
    state: &AppState,
    client: std::net::IpAddr,
    username: &str,
    password: Option<Password>,
) -> Result<amsync_core::MemberKey, Refusal> {
    let sign_on = &state.sign_on;
    let attempt = sign_on.throttle.begin(Some(username), client, Instant::now()).map_err(Refusal::Throttled)?;
    let Some(service) = sign_on.credentials.as_ref() else {
        attempt.not_counted();
        return Err(Refusal::BadRequest { reason: "no_credential_service" });
    };
    let password = password.filter(|p| !p.is_empty() && p.len() <= MAX_PASSWORD);
    let (Some(password), false) = (password, username.is_empty() || username.len() > MAX_USERNAME) else {
        attempt.failed();
        return Err(Refusal::BadCredentials);
    };
    let call = service.authenticate(username, password.as_secret());
    match tokio::time::timeout(sign_on.settings.service_timeout, call).await {
        Ok(Ok(Some(member))) => {
            attempt.succeeded();
            Ok(member)
        }
        Ok(Ok(None)) => {
            attempt.failed();
            Err(Refusal::BadCredentials)
        }
        Ok(Err(e)) => {
            attempt.not_counted();
            tracing::warn!(error = %escaped(&e), "the credential service failed");
            Err(Refusal::AmsUnavailable)
        }
        Err(_) => {
            attempt.not_counted();
            tracing::warn!("the credential service did not answer in time");
            Err(Refusal::AmsUnavailable)
        }
    }
}
