//! The HTTP surface of amsync (axum): health and readiness, and the API of
//! product.md ("HTTP surface").
//!
//! - [`auth`]: who is calling. Handlers take an access value ([`auth::Admin`],
//!   [`auth::Reader`]) that only the extractor can make, so a route that
//!   forgets its check does not compile.
//! - [`error`]: one error type, mapped to `{"error": {"code", "message"}}`
//!   and a status in one place.
//! - [`api`]: one module per resource.
//! - [`access_cache`]: the access policy, built once per access version.
//! - [`admin`]: the sync details dashboard (`/admin`), server-rendered.
//! - [`audit`]: every state-changing admin call is recorded in the audit log.
//! - [`metrics`]: the Prometheus recorder and `/metrics`.
//! - [`openapi`]: `/api/v1/openapi.json`, generated from the routes.
//! - [`sso`]: sign-on: browser round trips, sessions, mobile tokens,
//!   session introspection.
//!
//! **Architecture invariant:** handlers hold no business rules: they parse,
//! call the store or the engine, and shape the answer with the domain core.

pub mod access_cache;
pub mod admin;
pub mod api;
pub mod audit;
pub mod auth;
pub mod error;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod sso;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use axum::{Extension, Router};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, Readiness, WebSettings};

const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// Every route with its OpenAPI documentation.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::routes())
        .routes(routes!(metrics::scrape))
        .merge(admin::routes())
        .merge(sso::browser_routes())
        .nest("/api/v1", api::routes().merge(sso::api_routes()).routes(routes!(openapi::serve)))
}

/// The OpenAPI document of every route [`router`] serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = routes().into_openapi();
    openapi::document_wrong_token_throttle(&mut doc);
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc
}

/// An unknown path: our error shape rather than an empty body.
async fn no_route() -> error::ApiError {
    error::ApiError::NotFound("no such route".into())
}

/// The whole router with its layers.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body;
    metrics::install();
    let s = &state.settings;
    let sessions = Arc::new(admin::session::AdminSessions::new(
        s.admin_session_lifetime,
        s.admin_session_idle,
        s.secure_cookies,
        state.tokens.clone(),
    ));
    let (routes, _) = routes().split_for_parts();
    routes
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(Extension(sessions))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &http::Request<axum::body::Body>| {
                    // The path only: query strings may carry tokens.
                    // Both come from the client: escaped, so that they cannot
                    // forge a log line.
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let (path, id) = (amsync_core::escaped(req.uri().path()), amsync_core::escaped(id));
                    tracing::info_span!("http", method = %req.method(), path = %path, request_id = %id)
                })
                // One line per answer (status, latency), in the request's span.
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
}

/// Serves `router(state)` on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
}
