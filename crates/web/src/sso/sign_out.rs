//! `POST /api/v1/members/{key}/sign-out` (admin): "sign out everywhere":
//! every session and mobile token of the member is revoked.

use axum::extract::{Path, State};
use axum::Json;

use crate::api::member_key;
use crate::auth::Admin;
use crate::error::ApiError;
use crate::state::AppState;

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
