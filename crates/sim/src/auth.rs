//! Authentication of callers to the sim (API key, basic, OAuth 2.0 client
//! credentials) and the tokens ResolveToken knows.
//!
//! The mode can be replaced while the sim runs (`PUT /_sim/auth`), so a
//! test can rotate the credential the AMS accepts: from then on only the
//! new API key, password or client secret is accepted. OAuth 2.0 tokens
//! already issued stay good until they expire, as with most authorization
//! servers. `token_ttl_secs` may be anything up to `u64::MAX` (sent as
//! `expires_in` as is; a token whose expiry the clock cannot hold never
//! expires).

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::Rng;

use crate::config::SimAuth;

/// How long a token made with `POST /_sim/tokens` resolves.
pub const RESOLVE_TOKEN_TTL: Duration = Duration::from_secs(300);

/// A random token: 128 bits as hex.
pub fn random_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

pub struct Gatekeeper {
    mode: RwLock<Mode>,
    /// Token → its expiry (`None`: never).
    oauth_tokens: Mutex<HashMap<String, Option<Instant>>>,
}

struct Mode {
    auth: SimAuth,
    /// The exact `Authorization` header value basic mode expects.
    basic_header: Option<String>,
}

impl Mode {
    fn new(auth: SimAuth) -> Mode {
        let basic_header = match &auth {
            SimAuth::Basic { user, pass } => Some(format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))),
            _ => None,
        };
        Mode { auth, basic_header }
    }
}

/// The outcome of `POST /oauth/token`.
pub enum TokenGrant {
    Granted {
        token: String,
        expires_in: u64,
    },
    /// The sim is not in OAuth 2.0 mode.
    NotOffered,
    BadGrant,
    BadClient,
}

impl Gatekeeper {
    pub fn new(mode: SimAuth) -> Self {
        Gatekeeper { mode: RwLock::new(Mode::new(mode)), oauth_tokens: Mutex::new(HashMap::new()) }
    }

    pub fn mode(&self) -> SimAuth {
        self.read().auth.clone()
    }

    /// Replaces the mode: only the new credential is accepted from now on.
    pub fn set_mode(&self, auth: SimAuth) {
        *self.mode.write().unwrap_or_else(|e| e.into_inner()) = Mode::new(auth);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Mode> {
        self.mode.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a data or auth call carries what the configured mode requires.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let mode = self.read();
        match &mode.auth {
            SimAuth::None => true,
            SimAuth::ApiKey { header, value } => {
                headers.get(header.as_str()).is_some_and(|v| v.as_bytes() == value.as_bytes())
            }
            SimAuth::Basic { .. } => {
                let expected = mode.basic_header.as_deref().unwrap_or_default();
                headers.get(AUTHORIZATION).is_some_and(|v| basic_matches(v.as_bytes(), expected))
            }
            SimAuth::OAuth2 { .. } => {
                let Some(token) = headers
                    .get(AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                else {
                    return false;
                };
                let tokens = self.oauth_tokens.lock().unwrap_or_else(|e| e.into_inner());
                tokens.get(token.trim()).is_some_and(|expiry| expiry.is_none_or(|e| Instant::now() < e))
            }
        }
    }

    /// `POST /oauth/token` (client credentials; the client authenticates by
    /// basic auth or with `client_id`/`client_secret` in the form body).
    pub fn grant(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> TokenGrant {
        let SimAuth::OAuth2 { client_id, client_secret, token_ttl_secs } = self.mode() else {
            return TokenGrant::NotOffered;
        };
        if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
            return TokenGrant::BadGrant;
        }
        let from_header = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b.trim()).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|pair| pair.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())));
        let (id, secret) = match from_header {
            Some(pair) => pair,
            None => (
                form.get("client_id").cloned().unwrap_or_default(),
                form.get("client_secret").cloned().unwrap_or_default(),
            ),
        };
        if id != client_id || secret != client_secret {
            return TokenGrant::BadClient;
        }
        let token = random_token();
        let now = Instant::now();
        let mut tokens = self.oauth_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expiry| expiry.is_none_or(|e| e > now));
        tokens.insert(token.clone(), now.checked_add(Duration::from_secs(token_ttl_secs)));
        TokenGrant::Granted { token, expires_in: token_ttl_secs }
    }
}

/// Compares a basic `Authorization` header, accepting any case of the scheme.
fn basic_matches(got: &[u8], expected: &str) -> bool {
    let expected = expected.as_bytes();
    got.len() == expected.len() && got[..6].eq_ignore_ascii_case(&expected[..6]) && got[6..] == expected[6..]
}

/// Tokens for ResolveToken, made by the control API.
#[derive(Default)]
pub struct ResolveTokens {
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

impl ResolveTokens {
    pub fn issue(&self, key: &str) -> String {
        let token = random_token();
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, (_, expiry)| *expiry > now);
        tokens.insert(token.clone(), (key.to_string(), now + RESOLVE_TOKEN_TTL));
        token
    }

    pub fn resolve(&self, token: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(token).filter(|(_, expiry)| Instant::now() < *expiry).map(|(key, _)| key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn basic_accepts_the_right_pair_only() {
        let g = Gatekeeper::new(SimAuth::Basic { user: "u".into(), pass: "p".into() });
        let mut h = HeaderMap::new();
        assert!(!g.allows(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("basic {}", STANDARD.encode("u:p"))).unwrap());
        assert!(g.allows(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("u:x"))).unwrap());
        assert!(!g.allows(&h));
        // Rotated: the new password only.
        g.set_mode(SimAuth::Basic { user: "u".into(), pass: "x".into() });
        assert!(g.allows(&h));
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Basic {}", STANDARD.encode("u:p"))).unwrap());
        assert!(!g.allows(&h));
    }

    #[test]
    fn a_token_that_outlives_the_clock_never_expires() {
        let g = Gatekeeper::new(SimAuth::OAuth2 {
            client_id: "c".into(),
            client_secret: "s".into(),
            token_ttl_secs: u64::MAX,
        });
        let form: HashMap<String, String> =
            [("grant_type", "client_credentials"), ("client_id", "c"), ("client_secret", "s")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let TokenGrant::Granted { token, expires_in } = g.grant(&HeaderMap::new(), &form) else { panic!("granted") };
        assert_eq!(expires_in, u64::MAX);
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        assert!(g.allows(&h));
    }
}
