//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// The process answers.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "health", security(()),
    responses((status = 200, description = "`{\"status\": \"ok\"}`", content_type = "application/json")))]
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers and its schema is current.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "health", security(()),
    responses((status = 200, description = "`{\"ready\": true, \"database\": \"ok\", \"migrations\": \"current\"}`", content_type = "application/json"),
        (status = 503, description = "Not ready: the body says why", content_type = "application/json")))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let db = state.store.queue_counts().await.map(|_| ()).map_err(|e| e.to_string());
    let schema = (state.readiness)().await;
    let ready = db.is_ok() && schema.is_ok();
    let body = json!({
        "ready": ready,
        "database": db.err().unwrap_or_else(|| "ok".into()),
        "migrations": schema.err().unwrap_or_else(|| "current".into()),
    });
    (if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}
