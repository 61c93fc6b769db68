//! Who is calling the API.
//!
//! The admin token opens everything; the site token (for the community
//! site's back end) may only read members, communities, events and access
//! decisions and introspect sessions. Each accepts a second value during
//! rotation, and the whole set is replaced when secrets are reloaded
//! (SIGHUP). Comparisons are constant-time.
//!
//! Without a bearer token, a dashboard session cookie (the admin token
//! traded at `/admin/login`) or a signed-in SuperAdmin's session cookie
//! opens the admin API too; their state-changing calls must carry the
//! session's CSRF token in `X-CSRF-Token`. An admitted admin is named for
//! the audit log ([`crate::audit::note_actor`]). A mobile token never opens
//! the admin API.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// One set of accepted bearer tokens.
#[derive(Default)]
pub struct TokenSet {
    /// The admin token and, during rotation, the next one.
    pub admin: Vec<SecretString>,
    /// The read-only site token and, during rotation, the next one.
    pub site: Vec<SecretString>,
}

/// The accepted bearer tokens, replaced whole when secrets are reloaded
/// (SIGHUP): a request reads the current set with one lock-free-in-practice
/// read and an `Arc` clone, and a rotation never shows it half a set.
pub struct Tokens {
    current: std::sync::RwLock<std::sync::Arc<TokenSet>>,
}

impl Tokens {
    pub fn new(admin: Vec<SecretString>, site: Vec<SecretString>) -> Tokens {
        Tokens::from(TokenSet { admin, site })
    }

    /// The tokens accepted now.
    pub fn current(&self) -> std::sync::Arc<TokenSet> {
        std::sync::Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Accepts `set` from now on (the old tokens are refused at once).
    pub fn replace(&self, set: TokenSet) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(set);
    }
}

impl From<TokenSet> for Tokens {
    fn from(set: TokenSet) -> Tokens {
        Tokens { current: std::sync::RwLock::new(std::sync::Arc::new(set)) }
    }
}

impl Default for Tokens {
    fn default() -> Tokens {
        Tokens::from(TokenSet::default())
    }
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.current();
        f.debug_struct("Tokens").field("admin", &set.admin.len()).field("site", &set.site.len()).finish()
    }
}

pub(crate) fn matches_any(presented: &str, accepted: &[SecretString]) -> bool {
    // Check every value, so timing does not tell which one matched.
    accepted.iter().fold(false, |hit, t| {
        let eq: bool = t.expose_secret().as_bytes().ct_eq(presented.as_bytes()).into();
        hit | (eq && !t.expose_secret().is_empty())
    })
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Proof that the caller is an admin, and who (as the audit log names
/// it). Only the extractor makes one.
#[derive(Debug, Clone)]
pub struct Admin(String);

impl Admin {
    /// [`amsync_store::ADMIN_TOKEN_ACTOR`], or `member KEY` for a signed-in SuperAdmin.
    pub fn actor(&self) -> &str {
        &self.0
    }
}

/// Proof that the caller may read (site token or admin).
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub is_admin: bool,
}

/// A signed-in SuperAdmin's session, checked for CSRF on state-changing
/// calls; returns the actor named in the audit log. `Err(Unauthenticated)` when there is no live session,
/// `Err(Forbidden)` when its member is not a SuperAdmin or the CSRF header
/// is missing or wrong.
async fn session_admin(parts: &Parts, state: &AppState) -> Result<String, ApiError> {
    let id = crate::sso::session::cookie_session_id(state, &parts.headers).ok_or(ApiError::Unauthenticated)?;
    let session = crate::sso::session::find(state, id).await?.ok_or(ApiError::Unauthenticated)?;
    let Some((_, groups)) = crate::sso::principal::load(state, &session.member).await? else {
        return Err(ApiError::Unauthenticated);
    };
    if !crate::sso::principal::is_super_admin(&groups) {
        tracing::info!(path = %amsync_core::escaped(parts.uri.path()), member = %session.member, "API call refused: not a SuperAdmin");
        return Err(ApiError::Forbidden);
    }
    if crate::sso::session::is_state_changing(&parts.method) {
        let presented = parts.headers.get(crate::sso::session::CSRF_HEADER).and_then(|v| v.to_str().ok());
        if !crate::sso::session::csrf_ok(&session, presented) {
            tracing::warn!(path = %amsync_core::escaped(parts.uri.path()), member = %session.member, "API call refused: missing or wrong CSRF token");
            return Err(ApiError::Forbidden);
        }
    }
    Ok(format!("member {}", session.member))
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            let actor = match crate::admin::api_session(parts) {
                Ok(actor) => actor,
                Err(ApiError::Unauthenticated) => session_admin(parts, state).await?,
                Err(e) => return Err(e),
            };
            crate::audit::note_actor(&parts.extensions, &actor);
            return Ok(Admin(actor));
        };
        let tokens = state.tokens.current();
        if matches_any(token, &tokens.admin) {
            crate::audit::note_actor(&parts.extensions, amsync_store::ADMIN_TOKEN_ACTOR);
            Ok(Admin(amsync_store::ADMIN_TOKEN_ACTOR.to_string()))
        } else if matches_any(token, &tokens.site) {
            Err(ApiError::Forbidden)
        } else {
            tracing::info!(path = %amsync_core::escaped(parts.uri.path()), "API call refused: unknown bearer token");
            Err(ApiError::Unauthenticated)
        }
    }
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = bearer(parts) else {
            match crate::admin::api_session(parts) {
                Ok(_) => {}
                Err(ApiError::Unauthenticated) => {
                    session_admin(parts, state).await?;
                }
                Err(e) => return Err(e),
            }
            return Ok(Reader { is_admin: true });
        };
        let tokens = state.tokens.current();
        if matches_any(token, &tokens.admin) {
            Ok(Reader { is_admin: true })
        } else if matches_any(token, &tokens.site) {
            Ok(Reader { is_admin: false })
        } else {
            tracing::info!(path = %amsync_core::escaped(parts.uri.path()), "API call refused: unknown bearer token");
            Err(ApiError::Unauthenticated)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_set_refuses_the_old_tokens_at_once() {
        let tokens = Tokens::new(vec![SecretString::from("old")], vec![]);
        assert!(matches_any("old", &tokens.current().admin));
        let held = tokens.current();
        tokens.replace(TokenSet { admin: vec![SecretString::from("new")], site: vec![] });
        assert!(!matches_any("old", &tokens.current().admin));
        assert!(matches_any("new", &tokens.current().admin));
        assert!(matches_any("old", &held.admin), "a request in flight keeps the set it read");
        assert!(!format!("{tokens:?}").contains("new"), "Debug shows counts, not tokens");
    }

    #[test]
    fn any_of_the_rotation_values_matches_and_empty_never_does() {
        let accepted = vec![SecretString::from("old"), SecretString::from("new")];
        assert!(matches_any("old", &accepted));
        assert!(matches_any("new", &accepted));
        assert!(!matches_any("neww", &accepted));
        assert!(!matches_any("", &[SecretString::from("")]));
    }
}
