//! The sync details dashboard at `/admin` (product.md job 9): server-rendered
//! HTML from embedded templates, a little CSS and JavaScript served by
//! amsync itself (no CDN: it works offline), usable on a phone.
//!
//! - [`session`]: dashboard sessions, made by trading the admin token at
//!   `/admin/login` ([`login`]); every form carries the session's CSRF token;
//! - [`overview`], [`queue`], [`runs`], [`members`], [`audit_page`]: the
//!   pages, each reading through the store and the engine like the API;
//! - [`actions`]: the buttons (refresh, requeue, pause, resume), each a
//!   CSRF-checked form that redirects back and is recorded in the audit log;
//! - [`render`], [`assets`], [`chart`]: templates, static files, the SVG chart.
//!
//! Live updates: the pages' script polls the JSON API with the session
//! cookie (`/api/v1/sync/status`, `/api/v1/sync/runs/{id}`) and updates the
//! figures in place; nothing reloads the page.
//!
//! - [`approvals`]: the held changes (thresholds) with apply/reject buttons,
//!   and an admin's disable/enable buttons of the member page.
//!
//! The quarantine banner shows when the source's pause reason is the
//! quarantine's (`SyncStatus::quarantined`); a banner links to the held
//! changes while approvals wait. Signed-in SuperAdmins (sign-on) open the
//! dashboard through [`Dashboard`]'s extractor, the one place that admits.

pub mod actions;
pub mod approvals;
pub mod assets;
pub mod audit_page;
pub mod chart;
pub mod login;
pub mod members;
pub mod overview;
pub mod queue;
pub mod render;
pub mod runs;
pub mod session;

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{context, Value};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::state::AppState;
use session::{AdminSession, AdminSessions};

/// The dashboard's pages in the navigation bar: (id, label, path).
pub const NAV: &[(&str, &str, &str)] = &[
    ("overview", "Overview", "/admin"),
    ("queue", "Queue", "/admin/queue"),
    ("runs", "Runs", "/admin/runs"),
    ("members", "Members", "/admin/members"),
    ("approvals", "Held changes", "/admin/approvals"),
    ("audit", "Audit log", "/admin/audit"),
];

/// What the pages may load: only amsync itself.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(overview::page))
        .routes(routes!(login::form, login::submit))
        .routes(routes!(login::logout))
        .routes(routes!(queue::page))
        .routes(routes!(actions::requeue))
        .routes(routes!(runs::list))
        .routes(routes!(runs::one))
        .routes(routes!(members::search))
        .routes(routes!(members::one))
        .routes(routes!(actions::refresh))
        .routes(routes!(actions::pause))
        .routes(routes!(actions::resume))
        .routes(routes!(approvals::page))
        .routes(routes!(approvals::decide))
        .routes(routes!(approvals::disable_member))
        .routes(routes!(approvals::enable_member))
        .routes(routes!(audit_page::page))
        .routes(routes!(assets::serve))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// The session table, shared through the router's extensions.
pub(crate) fn sessions(parts: &Parts) -> Option<&Arc<AdminSessions>> {
    parts.extensions.get::<Arc<AdminSessions>>()
}

/// The API's admission of a dashboard session (no bearer token sent): the
/// session's actor, with the CSRF header checked on state-changing calls.
pub(crate) fn api_session(parts: &Parts) -> Result<String, ApiError> {
    let session = sessions(parts).and_then(|s| s.find(&parts.headers)).ok_or(ApiError::Unauthenticated)?;
    if crate::audit::is_state_changing(&parts.method) {
        let presented = parts.headers.get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !session::same_secret(presented, &session.csrf) {
            tracing::warn!(path = %amsync_core::escaped(parts.uri.path()), "API call refused: missing or wrong CSRF token");
            return Err(ApiError::Forbidden);
        }
    }
    Ok(session.actor)
}

/// Proof of a signed-in dashboard user. Without one, pages redirect to the
/// sign-in form, which comes back here afterwards.
pub struct Dashboard {
    pub session: AdminSession,
}

impl FromRequestParts<AppState> for Dashboard {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        match sessions(parts).and_then(|s| s.find(&parts.headers)) {
            Some(session) => {
                crate::audit::note_actor(&parts.extensions, &session.actor);
                Ok(Dashboard { session })
            }
            None => {
                let back = match (&parts.method, parts.uri.path_and_query()) {
                    (&http::Method::GET, Some(pq)) => pq.as_str().to_string(),
                    _ => "/admin".to_string(),
                };
                let to = format!("/admin/login?next={}", render::encode_component(&back));
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

impl Dashboard {
    /// Refuses a form whose CSRF token is not the session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        if session::same_secret(presented, &self.session.csrf) {
            Ok(())
        } else {
            tracing::warn!("dashboard form refused: missing or wrong CSRF token");
            Err(PageError::Forbidden(
                "This form has expired or did not come from this dashboard; reload the page.".into(),
            ))
        }
    }
}

/// Why a page could not be shown; rendered as an HTML error page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::BadRequest(m) | ApiError::TooLarge(m) => PageError::BadRequest(m),
            ApiError::NotFound(m) => PageError::NotFound(m),
            ApiError::Conflict(m) => PageError::Conflict(m),
            ApiError::Unauthenticated | ApiError::Forbidden | ApiError::Throttled(_) => {
                PageError::Forbidden(e.to_string())
            }
            ApiError::Unavailable(m) | ApiError::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<amsync_store::StoreError> for PageError {
    fn from(e: amsync_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<amsync_sync::SyncError> for PageError {
    fn from(e: amsync_sync::SyncError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> Self {
        PageError::Internal(format!("template: {e:#}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Internal(detail) => {
                tracing::error!(error = %amsync_core::escaped(detail), "dashboard page failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let ctx = context! { title => "Error", status => status.as_u16(), message => self.to_string(), nav => NAV };
        match render::render("error.html", ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, self.to_string()).into_response(),
        }
    }
}

/// Renders a page of the signed-in dashboard: the layout's context (CSRF
/// token, navigation, paused state) merged with the page's.
pub async fn page(
    state: &AppState,
    d: &Dashboard,
    template: &str,
    active: &str,
    title: &str,
    ctx: Value,
) -> Result<Html<String>, PageError> {
    let source = state.store.source_state().await?;
    let full = context! {
        csrf => d.session.csrf,
        actor => d.session.actor,
        nav => NAV,
        active => active,
        title => title,
        paused => source.paused,
        pause_reason => source.reason,
        ..ctx
    };
    Ok(Html(render::render(template, full)?))
}
