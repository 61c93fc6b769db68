//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

/// The process answers.
async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The database answers and its schema is current.
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
