//! `GET`/`POST /admin/login`: the admin token, typed into a form (never in
//! a URL), is traded for a dashboard session; `POST /admin/logout` ends it.
//!
//! Before any session exists, the form is protected by a double-submit
//! token: a random value both in a `SameSite=Strict` cookie and in the
//! form, which must match. Wrong tokens are throttled per client address
//! (429 with `Retry-After` past ten within 15 minutes). The session keeps
//! which admin token opened it and ends when a reload stops accepting that
//! token ([`session`]). Outcomes are counted
//! in `amsync_logins_total{kind="admin_token"}`; the token itself is never
//! logged or recorded.

use std::time::{Duration, Instant};

use amsync_store::ADMIN_TOKEN_ACTOR;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use minijinja::context;
use serde::Deserialize;

use super::session::{self, random_id, same_secret, LOGIN_COOKIE};
use super::{render, Dashboard, PageError};
use crate::audit::{ActorSlot, AuditNote};
use crate::sso::client::ClientAddr;
use crate::state::AppState;

/// How long the sign-in form stays valid.
const FORM_LIFETIME: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// A dashboard path to go to after signing in.
    next: Option<String>,
}

/// Where to go after signing in: a dashboard path, else the overview.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_dashboard_path(n) => n.to_string(),
        _ => "/admin".to_string(),
    }
}

/// Whether `n`, sent back as it is in `Location`, takes a browser to a
/// dashboard page: `/admin` or below, with no backslash (read as `/`), no
/// control character or white space (a browser drops tabs; a newline cannot
/// go in a header at all) and no dot segment, raw or encoded
/// (`/admin/../api/…` leaves the dashboard).
fn is_dashboard_path(n: &str) -> bool {
    let path = n.split(['?', '#']).next().unwrap_or(n);
    let dot_segment = |s: &str| matches!(s.to_ascii_lowercase().replace("%2e", ".").as_str(), "." | "..");
    (path == "/admin" || path.starts_with("/admin/"))
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace())
        && !path.split('/').any(dot_segment)
}

fn form_page(status: StatusCode, next: &str, error: Option<&str>, sessions: &session::AdminSessions) -> Response {
    let csrf = random_id();
    let ctx = context! { title => "Sign in", next => next, csrf => csrf, error => error };
    let mut resp = match render::render("login.html", ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => return PageError::from(e).into_response(),
    };
    resp.headers_mut().append(header::SET_COOKIE, sessions.set_cookie(LOGIN_COOKIE, &csrf, Some(FORM_LIFETIME)));
    resp
}

/// The sign-in form (the admin token is typed in, never put in a URL).
#[utoipa::path(get, path = "/admin/login", operation_id = "dashboard_login_form", tag = "dashboard", params(LoginQuery), security(()),
    responses((status = 200, description = "The form", content_type = "text/html"),
        (status = 303, description = "Already signed in: to `next`")))]
pub async fn form(
    Extension(sessions): Extension<std::sync::Arc<session::AdminSessions>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    if sessions.find(&headers).is_some() {
        return Redirect::to(&next).into_response();
    }
    form_page(StatusCode::OK, &next, None, &sessions)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    token: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
}

// The token is a secret: no Debug that could print it.
impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").field("next", &self.next).finish_non_exhaustive()
    }
}

/// Trades the admin token for a dashboard session cookie.
#[utoipa::path(post, path = "/admin/login", operation_id = "dashboard_sign_in", tag = "dashboard", security(()),
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Signed in: the session cookie is set; to `next`"),
        (status = 401, description = "Not the admin token", content_type = "text/html"),
        (status = 403, description = "The form's CSRF token does not match its cookie", content_type = "text/html"),
        (status = 429, description = "Too many wrong tokens from this address: try again after `Retry-After` seconds", content_type = "text/html")))]
pub async fn submit(
    State(state): State<AppState>,
    Extension(sessions): Extension<std::sync::Arc<session::AdminSessions>>,
    Extension(actor): Extension<ActorSlot>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = safe_next(f.next.as_deref());
    if let Err(wait) = sessions.throttle.check(None, client, Instant::now()) {
        crate::metrics::login_outcome("admin_token", "throttled");
        tracing::warn!(client = %client, "dashboard sign-in throttled: too many wrong admin tokens");
        let secs = crate::sso::refusal::retry_after_secs(wait);
        let msg = format!("Too many wrong tokens from your address. Try again in {secs} s.");
        let mut resp = form_page(StatusCode::TOO_MANY_REQUESTS, &next, Some(&msg), &sessions);
        resp.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        return resp;
    }
    let cookie = sessions.cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if !same_secret(cookie, &f.csrf) {
        crate::metrics::login_outcome("admin_token", "bad_form");
        tracing::warn!("dashboard sign-in refused: the form's token does not match its cookie");
        let msg = "The sign-in form expired or did not come from this page. Please try again.";
        return form_page(StatusCode::FORBIDDEN, &next, Some(msg), &sessions);
    }
    let Some(opened_by) = state.tokens.admin_generation(f.token.trim()) else {
        sessions.throttle.failed(None, client, Instant::now());
        crate::metrics::login_outcome("admin_token", "refused");
        tracing::warn!("dashboard sign-in refused: wrong admin token");
        return form_page(StatusCode::UNAUTHORIZED, &next, Some("That is not the admin token."), &sessions);
    };
    sessions.throttle.succeeded(None, client);
    crate::metrics::login_outcome("admin_token", "ok");
    let (_, set_cookie) = sessions.start(ADMIN_TOKEN_ACTOR, opened_by);
    actor.fill(ADMIN_TOKEN_ACTOR);
    tracing::info!("signed in to the dashboard with the admin token");
    let mut resp = Redirect::to(&next).into_response();
    resp.headers_mut().append(header::SET_COOKIE, set_cookie);
    resp.headers_mut().append(header::SET_COOKIE, sessions.clear_cookie(LOGIN_COOKIE));
    let note = AuditNote {
        action: Some("dashboard: sign in".into()),
        target: Some("dashboard".into()),
        detail: Some("signed in with the admin token".into()),
    };
    note.attach(resp)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the dashboard session.
#[utoipa::path(post, path = "/admin/logout", operation_id = "dashboard_sign_out", tag = "dashboard",
    request_body(content = CsrfForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Done: to the page that shows it (or to the sign-in form)"), (status = 400, description = "A bad value"), (status = 403, description = "Missing or wrong CSRF token")))]
pub async fn logout(
    d: Dashboard,
    Extension(sessions): Extension<std::sync::Arc<session::AdminSessions>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    d.check_csrf(&f.csrf)?;
    sessions.end(&headers);
    let mut resp = Redirect::to("/admin/login").into_response();
    resp.headers_mut().append(header::SET_COOKIE, sessions.clear_cookie(session::COOKIE));
    let note = AuditNote { action: Some("dashboard: sign out".into()), target: Some("dashboard".into()), detail: None };
    Ok(note.attach(resp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dashboard_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/admin/members/M1?x=1")), "/admin/members/M1?x=1");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("//evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("/api/v1/sync/status")), "/admin");
        assert_eq!(safe_next(Some("/admin\\@evil")), "/admin");
        assert_eq!(safe_next(None), "/admin");
        assert_eq!(safe_next(Some("/admin?done=paused")), "/admin?done=paused");
        assert_eq!(safe_next(Some("/admin/members?q=../x")), "/admin/members?q=../x", "dots in the query are data");
        // Dot segments, raw or encoded, mixed slashes, and characters a
        // browser drops or a header cannot hold (issue 13).
        for trick in [
            "/admin/../api/v1/sync/status",
            "/admin/%2e%2e/api/v1/sync/status",
            "/admin/.%2E/api",
            "/admin/..//evil.example",
            "/admin/./x",
            "/admin/..\\/evil.example",
            "/admin\t/x",
            "/admin\n",
            "/admin/x\r\nSet-Cookie:a=b",
            "/administrator",
        ] {
            assert_eq!(safe_next(Some(trick)), "/admin", "{trick:?}");
        }
    }
}
