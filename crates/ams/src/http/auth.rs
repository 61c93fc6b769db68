//! Authentication to the AMS: api key, HTTP basic, OAuth 2.0 client
//! credentials.
//!
//! Secrets are [`SecretCell`]s, read per call: a secret replaced while the
//! process runs (a `*_file` re-read on SIGHUP) is sent from the next call
//! on. A cached OAuth2 token remembers the generation of the client secret
//! it was fetched with, so a new client secret drops it and the next call
//! fetches one with the new secret.
//!
//! OAuth2 tokens are cached until shortly before `expires_in` runs out
//! (taken as at most a day: a larger value, up to `u64::MAX` seconds, is
//! clamped instead of overflowing the clock) and shared by every call of
//! the source. Fetching happens under one async lock,
//! so callers that need a token at the same time share one fetch — and share
//! its failure, instead of queueing up one timeout each. On a 401 the caller
//! drops the token it used (only that one: a newer token fetched meanwhile is
//! kept) and asks again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amsync_core::error::{excerpt, Part};
use amsync_core::secret::SecretCell;
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::body::{read_capped, read_prefix, BodyError};
use amsync_config_kit::{SecretCells, SecretCheck};

use crate::config::HttpAuth;
use crate::factory::{BuildError, HttpProblem};
use crate::source::SourceError;

/// A token without `expires_in` is used this long (and dropped sooner on a 401).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// A longer `expires_in` is taken as this: the token is fetched again at
/// least daily, and no answer can push the clock past its end.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Renew this long before the token expires at most…
const MAX_RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// …and never more than this share of its lifetime (short-lived test tokens).
const RENEWAL_MARGIN_DIVISOR: u32 = 4;
/// A token answer is small; a larger one is not a token answer.
const MAX_TOKEN_BODY: u64 = 64 * 1024;

/// The authentication of one source, ready to use.
pub enum Auth {
    None,
    ApiKey { header: HeaderName, value: SecretCell },
    Basic { username: String, password: SecretCell },
    OAuth2(Box<OAuth2>),
}

/// What a request was authenticated with, so a 401 can drop exactly that token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUse(pub u64);

impl Auth {
    /// The authentication configured at `at` (`ams.auth`, `auth.auth`),
    /// its secret resolved through `secrets` into the cell it is read from
    /// per call. Errors about the HTTP side are reported under `section`.
    pub fn build(
        cfg: Option<&HttpAuth>,
        at: &str,
        section: &'static str,
        secrets: &mut dyn SecretCells,
    ) -> Result<Auth, BuildError> {
        let Some(cfg) = cfg else { return Ok(Auth::None) };
        let problem = |problem| BuildError::Http { section, problem };
        let mut secret = |check: Option<SecretCheck>| {
            let source = cfg.secret(at).ok_or_else(|| BuildError::NoSecret(at.to_string()))?;
            secrets.cell(source, check).map_err(|e| BuildError::Secret(e.to_string()))
        };
        Ok(match cfg {
            HttpAuth::ApiKey(k) => {
                let value = secret(Some(api_key_check))?;
                let name = HeaderName::from_bytes(k.header.as_bytes())
                    .map_err(|_| problem(HttpProblem::HeaderName(k.header.clone())))?;
                if !is_header_safe(&value.current()) {
                    return Err(problem(HttpProblem::SecretNotHeaderSafe("api_key")));
                }
                Auth::ApiKey { header: name, value }
            }
            HttpAuth::Basic(b) => {
                let password = secret(None)?;
                // RFC 7617: the user-id ends at the first colon.
                if b.username.contains(':') {
                    return Err(problem(HttpProblem::BasicUsername));
                }
                Auth::Basic { username: b.username.clone(), password }
            }
            HttpAuth::Oauth2(o) => {
                let client_secret = secret(None)?;
                if !matches!(o.token_url.scheme(), "http" | "https") {
                    return Err(problem(HttpProblem::TokenUrl(o.token_url.to_string())));
                }
                Auth::OAuth2(Box::new(OAuth2 {
                    token_url: o.token_url.clone(),
                    client_id: o.client_id.clone(),
                    client_secret,
                    scope: o.scope.clone().filter(|s| !s.is_empty()),
                    cache: Mutex::new(Cache::default()),
                    attempts: AtomicU64::new(0),
                }))
            }
        })
    }

    /// Adds the credentials to a request. For OAuth2 this may fetch a token.
    pub async fn apply(
        &self,
        rb: RequestBuilder,
        client: &Client,
        timeout: Duration,
        part: Part,
    ) -> Result<(RequestBuilder, Option<TokenUse>), SourceError> {
        Ok(match self {
            Auth::None => (rb, None),
            Auth::ApiKey { header, value } => {
                // Checked when built and by the reload that replaces it
                // ([`is_header_safe`]); one that slipped through fails the
                // request instead of going out malformed.
                let mut v = HeaderValue::from_str(value.current().expose_secret()).map_err(|_| {
                    SourceError::Config { part, reason: "the api key is not a valid header value".into() }
                })?;
                v.set_sensitive(true);
                (rb.header(header.clone(), v), None)
            }
            Auth::Basic { username, password } => {
                (rb.basic_auth(username, Some(password.current().expose_secret())), None)
            }
            Auth::OAuth2(o) => {
                let (token, used) = o.token(client, timeout, part).await?;
                (rb.bearer_auth(token.expose_secret()), Some(used))
            }
        })
    }

    /// Drops the token a refused request used, so the next call fetches a new one.
    pub async fn refused(&self, used: TokenUse) {
        if let Auth::OAuth2(o) = self {
            o.drop_token(used).await;
        }
    }

    /// How many token fetches were started (for tests and diagnostics).
    pub fn token_fetches(&self) -> u64 {
        match self {
            Auth::OAuth2(o) => o.attempts.load(Ordering::SeqCst),
            _ => 0,
        }
    }
}

/// Whether an API key can be sent as a header value (no control characters).
pub fn is_header_safe(secret: &SecretString) -> bool {
    HeaderValue::from_str(secret.expose_secret()).is_ok()
}

/// What an API key's cell can take at a reload: a header value. A reload
/// that reads something else keeps the last good key.
pub fn api_key_check(value: &SecretString) -> Result<(), String> {
    if is_header_safe(value) {
        Ok(())
    } else {
        Err("not a valid HTTP header value".into())
    }
}

pub struct OAuth2 {
    token_url: Url,
    client_id: String,
    client_secret: SecretCell,
    scope: Option<String>,
    cache: Mutex<Cache>,
    /// Fetches started; read before taking the lock to learn whether someone
    /// else fetched (and maybe failed) while we waited for it.
    attempts: AtomicU64,
}

#[derive(Default)]
struct Cache {
    token: Option<Cached>,
    /// The failure of the last fetch and the client secret's generation it
    /// was made with, shared with the callers that waited for it.
    last_failure: Option<(SourceError, u64)>,
}

struct Cached {
    value: SecretString,
    id: u64,
    fresh_until: Instant,
    /// The client secret's generation the token was fetched with.
    secret_generation: u64,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl OAuth2 {
    async fn token(
        &self,
        client: &Client,
        timeout: Duration,
        part: Part,
    ) -> Result<(SecretString, TokenUse), SourceError> {
        let seen = self.attempts.load(Ordering::SeqCst);
        let mut cache = self.cache.lock().await;
        let (secret, generation) = self.client_secret.snapshot();
        if let Some(t) = &cache.token {
            if t.secret_generation != generation {
                tracing::debug!("the OAuth2 client secret was replaced; fetching a token with the new one");
            } else if Instant::now() < t.fresh_until {
                return Ok((t.value.clone(), TokenUse(t.id)));
            }
        }
        if self.attempts.load(Ordering::SeqCst) != seen {
            if let Some((failure, _)) = cache.last_failure.as_ref().filter(|(_, g)| *g == generation) {
                return Err(with_part(failure.clone(), part));
            }
        }
        let id = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fetch(client, timeout, part, &secret).await {
            Ok((value, lifetime)) => {
                let margin = MAX_RENEWAL_MARGIN.min(lifetime / RENEWAL_MARGIN_DIVISOR);
                // The lifetime is clamped when read; checked all the same,
                // since an overflowing clock panics the calling task.
                let fresh_until =
                    Instant::now().checked_add(lifetime.saturating_sub(margin)).unwrap_or_else(Instant::now);
                tracing::debug!(lifetime_s = lifetime.as_secs_f64(), "fetched an OAuth2 token");
                cache.token = Some(Cached { value: value.clone(), id, fresh_until, secret_generation: generation });
                cache.last_failure = None;
                Ok((value, TokenUse(id)))
            }
            Err(e) => {
                cache.token = None;
                cache.last_failure = Some((e.clone(), generation));
                Err(e)
            }
        }
    }

    async fn drop_token(&self, used: TokenUse) {
        let mut cache = self.cache.lock().await;
        if cache.token.as_ref().is_some_and(|t| t.id == used.0) {
            tracing::debug!("the AMS refused our OAuth2 token; dropping it");
            cache.token = None;
        }
    }

    async fn fetch(
        &self,
        client: &Client,
        timeout: Duration,
        part: Part,
        client_secret: &SecretString,
    ) -> Result<(SecretString, Duration), SourceError> {
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        // RFC 6749 §2.3.1: client_secret_basic, id and secret form-encoded first.
        let id: String = url::form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String = url::form_urlencoded::byte_serialize(client_secret.expose_secret().as_bytes()).collect();
        let request = client
            .post(self.token_url.clone())
            .basic_auth(id, Some(secret))
            .header(ACCEPT, "application/json")
            .form(&form)
            .timeout(timeout);
        let transient = |reason: String, status: Option<u16>| SourceError::Transient {
            part,
            reason,
            status,
            retry_after: None,
            excerpt: None,
        };
        let mut res = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => {
                return Err(transient(format!("the OAuth2 token endpoint did not answer within {timeout:?}"), None))
            }
            Ok(Err(e)) => return Err(transient(format!("the OAuth2 token endpoint: {}", super::describe(&e)), None)),
            Ok(Ok(res)) => res,
        };
        let status = res.status().as_u16();
        if !res.status().is_success() {
            let body = read_prefix(&mut res, 4096).await;
            let excerpt = (!body.is_empty()).then(|| excerpt(&body));
            return Err(match status {
                408 | 429 | 500..=599 => SourceError::Transient {
                    part,
                    reason: format!("the OAuth2 token endpoint answered HTTP {status}"),
                    status: Some(status),
                    retry_after: super::retry_after_of(&res),
                    excerpt,
                },
                400 | 401 | 403 => SourceError::Unauthorized { part, status, excerpt, detail: None },
                _ => SourceError::Config { part, reason: format!("the OAuth2 token endpoint answered HTTP {status}") },
            });
        }
        // The body holds the token: it never goes into an error or a log.
        let unusable = |why: &str| SourceError::Config {
            part,
            reason: format!("the OAuth2 token endpoint's answer is unusable: {why}"),
        };
        let body = match tokio::time::timeout(timeout, read_capped(&mut res, MAX_TOKEN_BODY)).await {
            Err(_) => {
                return Err(transient(format!("the OAuth2 token endpoint did not answer within {timeout:?}"), None))
            }
            Ok(Err(BodyError::Read(e))) => {
                return Err(transient(format!("the OAuth2 token endpoint: {}", super::describe(&e)), None))
            }
            Ok(Err(BodyError::TooLarge { .. })) => return Err(unusable("larger than 64 KiB")),
            Ok(Ok(body)) => body,
        };
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| unusable("not JSON with an access_token string"))?;
        if answer.access_token.is_empty() {
            return Err(unusable("empty access_token"));
        }
        let lifetime = token_lifetime(answer.expires_in.as_ref()).ok_or_else(|| unusable("bad expires_in"))?;
        Ok((SecretString::from(answer.access_token), lifetime))
    }
}

/// How long a token is used, from the answer's `expires_in` (seconds, a
/// number or a string of digits), at most [`MAX_TOKEN_LIFETIME`]; `None`
/// when it is not a count of seconds.
fn token_lifetime(expires_in: Option<&serde_json::Value>) -> Option<Duration> {
    let seconds = match expires_in {
        None | Some(serde_json::Value::Null) => return Some(DEFAULT_TOKEN_LIFETIME),
        Some(serde_json::Value::Number(n)) => n.as_u64()?,
        // Some servers send it as a string; more digits than a u64 holds
        // is still "a very long time".
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().unwrap_or(u64::MAX)
        }
        Some(_) => return None,
    };
    Some(Duration::from_secs(seconds).min(MAX_TOKEN_LIFETIME))
}

/// The same failure, reported for another call.
fn with_part(mut e: SourceError, new: Part) -> SourceError {
    match &mut e {
        SourceError::Transient { part, .. }
        | SourceError::Unauthorized { part, .. }
        | SourceError::Permanent { part, .. }
        | SourceError::Config { part, .. } => *part = new,
        SourceError::Data { error, .. } => error.part = new,
    }
    e
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_token_lifetime_is_clamped_to_a_day_and_never_overflows_the_clock() {
        let day = MAX_TOKEN_LIFETIME;
        assert_eq!(token_lifetime(None), Some(DEFAULT_TOKEN_LIFETIME));
        assert_eq!(token_lifetime(Some(&json!(null))), Some(DEFAULT_TOKEN_LIFETIME));
        assert_eq!(token_lifetime(Some(&json!(3600))), Some(Duration::from_secs(3600)));
        assert_eq!(token_lifetime(Some(&json!(" 120 "))), Some(Duration::from_secs(120)));
        for huge in [json!(u64::MAX), json!(u64::MAX.to_string()), json!("99999999999999999999999999"), json!(86_401)] {
            let lifetime = token_lifetime(Some(&huge)).unwrap();
            assert_eq!(lifetime, day, "{huge}");
            assert!(Instant::now().checked_add(lifetime).is_some());
        }
        for bad in [json!(-1), json!(1.5), json!("soon"), json!(""), json!("-5"), json!([1])] {
            assert_eq!(token_lifetime(Some(&bad)), None, "{bad}");
        }
    }
}
