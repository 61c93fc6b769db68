//! Authentication of callers to the sim (API key, basic, OAuth 2.0 client
//! credentials) and the tokens ResolveToken knows.

use std::collections::HashMap;
use std::sync::Mutex;
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
    mode: SimAuth,
    /// The exact `Authorization` header value basic mode expects.
    basic_header: Option<String>,
    oauth_tokens: Mutex<HashMap<String, Instant>>,
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
        let basic_header = match &mode {
            SimAuth::Basic { user, pass } => Some(format!("Basic {}", STANDARD.encode(format!("{user}:{pass}")))),
            _ => None,
        };
        Gatekeeper { mode, basic_header, oauth_tokens: Mutex::new(HashMap::new()) }
    }

    pub fn mode(&self) -> &SimAuth {
        &self.mode
    }

    /// Whether a data or auth call carries what the configured mode requires.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        match &self.mode {
            SimAuth::None => true,
            SimAuth::ApiKey { header, value } => {
                headers.get(header.as_str()).is_some_and(|v| v.as_bytes() == value.as_bytes())
            }
            SimAuth::Basic { .. } => {
                let expected = self.basic_header.as_deref().unwrap_or_default();
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
                tokens.get(token.trim()).is_some_and(|expiry| Instant::now() < *expiry)
            }
        }
    }

    /// `POST /oauth/token` (client credentials; the client authenticates by
    /// basic auth or with `client_id`/`client_secret` in the form body).
    pub fn grant(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> TokenGrant {
        let SimAuth::OAuth2 { client_id, client_secret, token_ttl_secs } = &self.mode else {
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
        if &id != client_id || &secret != client_secret {
            return TokenGrant::BadClient;
        }
        let token = random_token();
        let now = Instant::now();
        let mut tokens = self.oauth_tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), now + Duration::from_secs(*token_ttl_secs));
        TokenGrant::Granted { token, expires_in: *token_ttl_secs }
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
    }
}
