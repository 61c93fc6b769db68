//! Authentication to the AMS: api key, HTTP basic, OAuth 2.0 client
//! credentials.
//!
//! OAuth2 tokens are cached until shortly before `expires_in` runs out and
//! shared by every call of the source. Fetching happens under one async lock,
//! so callers that need a token at the same time share one fetch — and share
//! its failure, instead of queueing up one timeout each. On a 401 the caller
//! drops the token it used (only that one: a newer token fetched meanwhile is
//! kept) and asks again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use amsync_core::error::{excerpt, Part};
use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use reqwest::{Client, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use super::body::{read_capped, read_prefix, BodyError};
use crate::config::{AuthConfig, BuildError};
use crate::source::SourceError;

/// A token without `expires_in` is used this long (and dropped sooner on a 401).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Renew this long before the token expires at most…
const MAX_RENEWAL_MARGIN: Duration = Duration::from_secs(60);
/// …and never more than this share of its lifetime (short-lived test tokens).
const RENEWAL_MARGIN_DIVISOR: u32 = 4;
/// A token answer is small; a larger one is not a token answer.
const MAX_TOKEN_BODY: u64 = 64 * 1024;

/// The authentication of one source, ready to use.
pub enum Auth {
    None,
    ApiKey { header: HeaderName, value: SecretString },
    Basic { username: String, password: SecretString },
    OAuth2(Box<OAuth2>),
}

/// What a request was authenticated with, so a 401 can drop exactly that token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUse(pub u64);

impl Auth {
    pub fn build(cfg: &AuthConfig) -> Result<Auth, BuildError> {
        Ok(match cfg {
            AuthConfig::None => Auth::None,
            AuthConfig::ApiKey { header, value } => {
                let name =
                    HeaderName::from_bytes(header.as_bytes()).map_err(|_| BuildError::HeaderName(header.clone()))?;
                HeaderValue::from_str(value.expose_secret()).map_err(|_| BuildError::SecretNotHeaderSafe("api_key"))?;
                Auth::ApiKey { header: name, value: value.clone() }
            }
            AuthConfig::Basic { username, password } => {
                // RFC 7617: the user-id ends at the first colon.
                if username.contains(':') {
                    return Err(BuildError::BasicUsername);
                }
                Auth::Basic { username: username.clone(), password: password.clone() }
            }
            AuthConfig::OAuth2 { token_url, client_id, client_secret, scope } => {
                if !matches!(token_url.scheme(), "http" | "https") {
                    return Err(BuildError::TokenUrl(token_url.to_string()));
                }
                Auth::OAuth2(Box::new(OAuth2 {
                    token_url: token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    scope: scope.clone().filter(|s| !s.is_empty()),
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
                // Checked when built; a secret that stopped being header-safe
                // (it cannot, it is immutable) would fail the request instead.
                let mut v = HeaderValue::from_str(value.expose_secret()).map_err(|_| SourceError::Config {
                    part,
                    reason: "the api key is not a valid header value".into(),
                })?;
                v.set_sensitive(true);
                (rb.header(header.clone(), v), None)
            }
            Auth::Basic { username, password } => (rb.basic_auth(username, Some(password.expose_secret())), None),
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

pub struct OAuth2 {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scope: Option<String>,
    cache: Mutex<Cache>,
    /// Fetches started; read before taking the lock to learn whether someone
    /// else fetched (and maybe failed) while we waited for it.
    attempts: AtomicU64,
}

#[derive(Default)]
struct Cache {
    token: Option<Cached>,
    /// The failure of the last fetch, shared with the callers that waited for it.
    last_failure: Option<SourceError>,
}

struct Cached {
    value: SecretString,
    id: u64,
    fresh_until: Instant,
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
        if let Some(t) = &cache.token {
            if Instant::now() < t.fresh_until {
                return Ok((t.value.clone(), TokenUse(t.id)));
            }
        }
        if self.attempts.load(Ordering::SeqCst) != seen {
            if let Some(failure) = &cache.last_failure {
                return Err(with_part(failure.clone(), part));
            }
        }
        let id = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        match self.fetch(client, timeout, part).await {
            Ok((value, lifetime)) => {
                let margin = MAX_RENEWAL_MARGIN.min(lifetime / RENEWAL_MARGIN_DIVISOR);
                let fresh_until = Instant::now() + lifetime.saturating_sub(margin);
                tracing::debug!(lifetime_s = lifetime.as_secs_f64(), "fetched an OAuth2 token");
                cache.token = Some(Cached { value: value.clone(), id, fresh_until });
                cache.last_failure = None;
                Ok((value, TokenUse(id)))
            }
            Err(e) => {
                cache.token = None;
                cache.last_failure = Some(e.clone());
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
    ) -> Result<(SecretString, Duration), SourceError> {
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        // RFC 6749 §2.3.1: client_secret_basic, id and secret form-encoded first.
        let id: String = url::form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String =
            url::form_urlencoded::byte_serialize(self.client_secret.expose_secret().as_bytes()).collect();
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
                400 | 401 | 403 => SourceError::Unauthorized { part, status, excerpt },
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
        let lifetime = match answer.expires_in {
            None | Some(serde_json::Value::Null) => DEFAULT_TOKEN_LIFETIME,
            Some(serde_json::Value::Number(n)) => {
                n.as_u64().map(Duration::from_secs).ok_or_else(|| unusable("bad expires_in"))?
            }
            // Some servers send it as a string.
            Some(serde_json::Value::String(s)) => {
                s.trim().parse().map(Duration::from_secs).map_err(|_| unusable("bad expires_in"))?
            }
            Some(_) => return Err(unusable("bad expires_in")),
        };
        Ok((SecretString::from(answer.access_token), lifetime))
    }
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
