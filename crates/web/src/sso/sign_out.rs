//! `POST /api/v1/members/{key}/sign-out` (admin): "sign out everywhere":
//! every session and mobile token of the member is revoked.

use axum::extract::{Path, State};
use axum::Json;

use crate::api::member_key;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(post, path = "/members/{key}/sign-out", operation_id = "sign_out_everywhere", tag = "sign-on",
    params(("key" = String, Path, description = "The member key")),
    responses((status = 200, description = "`{\"sessions\": n, \"tokens\": m}` revoked", content_type = "application/json"),
        (status = 400, description = "A bad key"), (status = 401, description = "No or unknown token or session"), (status = 403, description = "The token may not do that, or the CSRF header is missing")))]
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    _admin: Admin,
    Path(key): Path<String>,
) -> Result<Json<amsync_store::RevokedAuth>, ApiError> {
    let key = member_key(&key)?;
    let revoked = state.store.revoke_member_auth(&key).await?;
    tracing::info!(member = %key, sessions = revoked.sessions, tokens = revoked.tokens, "signed out everywhere by an admin");
    Ok(Json(revoked))
}
