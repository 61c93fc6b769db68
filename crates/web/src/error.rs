//! One error type for every route, mapped to a status and the JSON body
//! `{"error": {"code": "...", "message": "..."}}` in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("this token may not do that")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    /// Too many wrong bearer tokens from the caller's address; the wait.
    #[error("too many wrong tokens from your address; try again in {} s", crate::sso::refusal::retry_after_secs(*.0))]
    Throttled(std::time::Duration),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Throttled(_) => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            // The detail goes to the log, not to the caller.
            tracing::error!(error = %amsync_core::escaped(detail), "request failed");
        }
        let mut resp = (status, Json(json!({"error": {"code": code, "message": self.to_string()}}))).into_response();
        if matches!(self, ApiError::Unauthenticated) {
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Throttled(wait) = self {
            let secs = crate::sso::refusal::retry_after_secs(wait);
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        resp
    }
}

impl From<amsync_store::StoreError> for ApiError {
    fn from(e: amsync_store::StoreError) -> Self {
        match e {
            amsync_store::StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            amsync_store::StoreError::Invalid(m) => ApiError::BadRequest(m),
            amsync_store::StoreError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<amsync_sync::SyncError> for ApiError {
    fn from(e: amsync_sync::SyncError) -> Self {
        match e {
            amsync_sync::SyncError::Store(s) => s.into(),
            amsync_sync::SyncError::Paused(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// JSON bodies whose rejection is reported in our error shape.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(body_error(rejection.status(), rejection.body_text())),
        }
    }
}

/// A request body refused before its content was looked at: too large
/// (`web.limits.max_body`) or unreadable.
fn body_error(status: axum::http::StatusCode, text: String) -> ApiError {
    if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!("the request body is larger than web.limits.max_body allows ({text})"))
    } else {
        ApiError::BadRequest(text)
    }
}

/// A JSON body that may be absent (empty): `None` then. Errors name the
/// field (`reason: invalid type: …`), as [`JsonBody`]'s do.
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> axum::extract::FromRequest<S> for OptionalJsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_error(rejection.status(), rejection.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(None));
        }
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(|v| OptionalJsonBody(Some(v)))
            .map_err(|e| ApiError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    }
}

/// Query strings whose rejection is reported in our error shape.
pub struct QueryParams<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(QueryParams(v)),
            Err(rejection) => Err(ApiError::BadRequest(rejection.body_text())),
        }
    }
}
