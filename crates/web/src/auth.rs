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
//!
//! A dashboard session remembers the [`TokenGeneration`] of the admin token
//! that opened it, never the token: when a reload stops accepting that
//! token, the session ends at its next request. Wrong bearer tokens are
//! throttled per client address ([`WrongTokenThrottle`]); correct ones are
//! never slowed.

use std::sync::{Arc, RwLock};

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

/// Which admin token value opened a dashboard session. Each distinct value
/// gets a number when it is first accepted and keeps it for as long as it
/// stays accepted, as the current or the `next_*` token, across reloads; a
/// value accepted again after it was dropped gets a new number. A session
/// remembers the number, never the token, and ends once its number is no
/// longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenGeneration(u64);

/// The accepted set with the generation of each admin value.
struct Accepted {
    set: Arc<TokenSet>,
    /// One per `set.admin` value, in the same order.
    admin_generations: Vec<TokenGeneration>,
    /// The number the next new admin value gets.
    next_generation: u64,
}

impl Accepted {
    /// Before the first set: nothing accepted.
    fn nothing() -> Accepted {
        Accepted { set: Arc::default(), admin_generations: Vec::new(), next_generation: 1 }
    }

    /// `set` as the successor of `self`: an admin value that was accepted
    /// before keeps its generation, a new one gets a fresh number.
    fn succeeded_by(&self, set: TokenSet) -> Accepted {
        let mut next_generation = self.next_generation;
        let admin_generations = set
            .admin
            .iter()
            .map(|value| match position(value.expose_secret(), &self.set.admin) {
                Some(i) => self.admin_generations[i],
                None => {
                    let fresh = TokenGeneration(next_generation);
                    next_generation += 1;
                    fresh
                }
            })
            .collect();
        Accepted { set: Arc::new(set), admin_generations, next_generation }
    }
}

/// The accepted bearer tokens, replaced whole when secrets are reloaded
/// (SIGHUP): a request reads the current set with one lock-free-in-practice
/// read and an `Arc` clone, and a rotation never shows it half a set.
///
/// It also keeps the throttle of wrong bearer tokens ([`WrongTokenThrottle`]):
/// the tokens and the guesses at them live and die together.
pub struct Tokens {
    current: RwLock<Arc<Accepted>>,
    /// Wrong bearer tokens at the API, per client address.
    pub wrong: WrongTokenThrottle,
}

impl Tokens {
    pub fn new(admin: Vec<SecretString>, site: Vec<SecretString>) -> Tokens {
        Tokens::from(TokenSet { admin, site })
    }

    fn accepted(&self) -> Arc<Accepted> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The tokens accepted now.
    pub fn current(&self) -> Arc<TokenSet> {
        Arc::clone(&self.accepted().set)
    }

    /// Accepts `set` from now on (the old tokens are refused at once).
    pub fn replace(&self, set: TokenSet) {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        *current = Arc::new(current.succeeded_by(set));
    }

    /// The generation of the admin token `presented`, if it is accepted now.
    pub fn admin_generation(&self, presented: &str) -> Option<TokenGeneration> {
        let accepted = self.accepted();
        position(presented, &accepted.set.admin).map(|i| accepted.admin_generations[i])
    }

    /// Whether the admin token of `generation` is still accepted.
    pub fn admin_generation_accepted(&self, generation: TokenGeneration) -> bool {
        self.accepted().admin_generations.contains(&generation)
    }
}

impl From<TokenSet> for Tokens {
    fn from(set: TokenSet) -> Tokens {
        Tokens { current: RwLock::new(Arc::new(Accepted::nothing().succeeded_by(set))), wrong: Default::default() }
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

/// The index of the first accepted value equal to `presented`. Every
/// value is compared, so timing does not tell which one matched; an empty
/// value never matches.
fn position(presented: &str, accepted: &[SecretString]) -> Option<usize> {
    accepted.iter().enumerate().fold(None, |found, (i, t)| {
        let eq: bool = t.expose_secret().as_bytes().ct_eq(presented.as_bytes()).into();
        found.or((eq && !t.expose_secret().is_empty()).then_some(i))
    })
}

/// The throttle settings of guesses at the admin token, at `/admin/login`
/// and (site token too) at the API: few admins, one token each, so ten
/// wrong tokens per address within 15 minutes, then delays doubling from
/// 1 s. Memory is bounded by the throttle's `max_entries`.
pub fn token_guess_throttle_settings() -> amsync_sso::ThrottleSettings {
    amsync_sso::ThrottleSettings {
        per_account_and_address: 10,
        per_address: 10,
        ..amsync_sso::ThrottleSettings::default()
    }
}

/// Wrong bearer tokens at the API, per client address (the connection's
/// peer, or the client a trusted proxy names, as `/admin/login` reads it).
/// Only a token that is neither the admin nor the site token counts, and
/// only such a token is ever answered 429: a correct token is checked first
/// and never waits, so a guesser sharing an address (a proxy) with the
/// community site cannot lock the site out. A table of its own, apart from
/// `/admin/login`'s, so a forgotten client still sending a rotated token
/// does not keep admins from signing in to the dashboard.
#[derive(Debug)]
pub struct WrongTokenThrottle(amsync_sso::Throttle);

impl Default for WrongTokenThrottle {
    fn default() -> Self {
        WrongTokenThrottle(amsync_sso::Throttle::new(token_guess_throttle_settings()))
    }
}

impl WrongTokenThrottle {
    /// The answer to a wrong bearer token from `client`: 401, counted; or,
    /// past the address's allowance, 429 with the wait (not counted, so the
    /// wait does not grow while the client waits as told).
    pub fn refuse(&self, client: std::net::IpAddr, now: std::time::Instant) -> ApiError {
        match self.0.check(None, client, now) {
            Err(wait) => ApiError::Throttled(wait),
            Ok(()) => {
                self.0.failed(None, client, now);
                ApiError::Unauthenticated
            }
        }
    }

    /// Addresses held, for tests.
    pub fn addresses(&self) -> usize {
        self.0.len().1
    }
}

pub(crate) fn matches_any(presented: &str, accepted: &[SecretString]) -> bool {
    position(presented, accepted).is_some()
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

/// A bearer token that is neither the admin nor the site token: counted
/// against the client's address, 429 past its allowance.
fn wrong_bearer(parts: &Parts, state: &AppState) -> ApiError {
    let client = crate::sso::client::client_of(parts, state);
    let refusal = state.tokens.wrong.refuse(client, std::time::Instant::now());
    match &refusal {
        ApiError::Throttled(_) => {
            tracing::info!(path = %amsync_core::escaped(parts.uri.path()), client = %client, "API call refused: too many wrong bearer tokens from this address")
        }
        _ => {
            tracing::info!(path = %amsync_core::escaped(parts.uri.path()), client = %client, "API call refused: unknown bearer token")
        }
    }
    refusal
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
            Err(wrong_bearer(parts, state))
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
            Err(wrong_bearer(parts, state))
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

    fn secrets(values: &[&str]) -> Vec<SecretString> {
        values.iter().map(|v| SecretString::from(*v)).collect()
    }

    #[test]
    fn an_admin_value_keeps_its_generation_while_accepted_and_a_returning_one_gets_a_new_one() {
        let tokens = Tokens::new(secrets(&["a", "b"]), secrets(&["site"]));
        let (a, b) = (tokens.admin_generation("a").unwrap(), tokens.admin_generation("b").unwrap());
        assert_ne!(a, b);
        assert_eq!(tokens.admin_generation("site"), None, "the site token opens no dashboard session");
        assert_eq!(tokens.admin_generation(""), None);
        tokens.replace(TokenSet { admin: secrets(&["b", "c"]), site: vec![] });
        assert_eq!(tokens.admin_generation("b"), Some(b), "still accepted: the same generation");
        assert!(!tokens.admin_generation_accepted(a) && tokens.admin_generation_accepted(b));
        let c = tokens.admin_generation("c").unwrap();
        assert!(c != a && c != b);
        tokens.replace(TokenSet { admin: secrets(&["a"]), site: vec![] });
        let again = tokens.admin_generation("a").unwrap();
        assert!(![a, b, c].contains(&again), "a value accepted again is a new generation");
        assert!(!tokens.admin_generation_accepted(b) && !tokens.admin_generation_accepted(c));
    }

    #[test]
    fn wrong_tokens_are_counted_per_address_then_throttled() {
        let throttle = WrongTokenThrottle::default();
        let (guesser, other) = ("192.0.2.7".parse().unwrap(), "198.51.100.1".parse().unwrap());
        let now = std::time::Instant::now();
        for i in 0..10 {
            assert!(matches!(throttle.refuse(guesser, now), ApiError::Unauthenticated), "guess {i}");
        }
        match throttle.refuse(guesser, now) {
            ApiError::Throttled(wait) => assert_eq!(wait, std::time::Duration::from_secs(1)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(throttle.refuse(other, now), ApiError::Unauthenticated), "another address is not slowed");
        let later = now + std::time::Duration::from_secs(1);
        assert!(matches!(throttle.refuse(guesser, later), ApiError::Unauthenticated), "after the wait, one more");
        assert!(
            matches!(throttle.refuse(guesser, later), ApiError::Throttled(w) if w == std::time::Duration::from_secs(2))
        );
        assert_eq!(throttle.addresses(), 2);
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
