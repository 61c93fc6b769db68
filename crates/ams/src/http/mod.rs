//! The shared base of the HTTP sources: one client, the deployment's limits,
//! authentication, body caps and the classification of failures.
//!
//! Everything generic about calling an HTTP AMS lives here once; a source
//! kind only supplies paths and a codec. Sources built from the same config
//! may share one [`HttpBase`] (an `Arc`), and with it the connection pool,
//! the concurrency and rate limits and the OAuth2 token.
//!
//! **Invariant:** no retries here. The only repeated request is the one
//! OAuth2 renewal after a 401 with a cached token; backoff belongs to the
//! Refresh Queue.

pub mod auth;
pub mod body;
pub mod classify;
pub mod path;
pub mod retry_after;

use std::num::NonZeroU32;
use std::time::{Duration, Instant, SystemTime};

use amsync_core::error::{excerpt, DataError, Part};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Client, Method, Response, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

use crate::config::HttpVersion;
use crate::factory::{HttpProblem, USER_AGENT};
use crate::source::SourceError;
use auth::Auth;
use body::{read_capped, read_prefix, BodyError};

/// The start of an error answer kept for its excerpt; the rest is not read.
const ERROR_BODY_PREFIX: usize = 4096;

/// Installs rustls' `ring` crypto provider as the process default, once.
///
/// reqwest is built without a provider of its own (so that no second one is
/// linked in); a client cannot be built before one is installed. Calling this
/// again, or after someone else installed one, does nothing.
pub fn install_crypto_provider() {
    // An error only says a provider is already installed, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// When a 401 may be answered by renewing the OAuth2 token once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Data methods: a 401 can only be about our credentials.
    On401,
    /// AuthenticateCredentials and ResolveToken answer 401 for a wrong
    /// password or token; only a `WWW-Authenticate: Bearer` challenge
    /// (RFC 6750) says our token was the problem.
    OnBearerChallenge,
}

/// One call to make.
pub struct Request<'a> {
    pub part: Part,
    /// What a data error is about: the member key, or a page description.
    pub record: &'a str,
    pub method: Method,
    /// Relative to the base URL, already percent-encoded.
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    /// A body and its content type (POST).
    pub body: Option<(Vec<u8>, &'static str)>,
    pub accept: &'static str,
    pub renewal: Renewal,
    /// More request headers (a SOAP source's `SOAPAction`).
    pub headers: Vec<(&'static str, String)>,
    /// Whether an unsuccessful answer's body is read whole (within the
    /// cap) rather than only its start: a SOAP fault comes with HTTP 500
    /// and is read like an answer.
    pub read_failures: bool,
}

/// An HTTP answer, whatever its status.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    /// The whole body for 2xx and 410, else only its start (for an excerpt).
    pub body: Vec<u8>,
    pub retry_after: Option<Duration>,
}

/// The client, the limits and the authentication shared by the sources of
/// one config.
pub struct HttpBase {
    client: Client,
    base_url: Url,
    timeout: Duration,
    max_body: u64,
    permits: Semaphore,
    limiter: Option<DefaultDirectRateLimiter>,
    auth: Auth,
}

/// What one [`HttpBase`] is built from: `[ams]`'s values for the source,
/// or the credential service's own when it is another service.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// All contract paths are relative to it.
    pub base_url: Url,
    /// Per call, from connecting until the whole body is read.
    pub timeout: Duration,
    /// Calls in flight at once, for every source sharing this base.
    pub max_concurrency: usize,
    /// Calls per second; 0 is no limit.
    pub max_rate: u32,
    /// Largest response body read, in bytes; a larger one is a data error.
    pub max_body: u64,
    pub http_version: HttpVersion,
}

impl HttpBase {
    pub fn new(cfg: &HttpSettings, auth: Auth) -> Result<HttpBase, HttpProblem> {
        install_crypto_provider();
        if !matches!(cfg.base_url.scheme(), "http" | "https") || cfg.base_url.cannot_be_a_base() {
            return Err(HttpProblem::BaseUrl(redact(&cfg.base_url)));
        }
        if cfg.max_concurrency == 0 {
            return Err(HttpProblem::Zero("ams.max_concurrency"));
        }
        if cfg.max_body == 0 {
            return Err(HttpProblem::Zero("ams.max_body"));
        }
        if cfg.timeout.is_zero() {
            return Err(HttpProblem::Zero("ams.timeout"));
        }
        let builder = match cfg.http_version {
            HttpVersion::Auto => Client::builder(),
            HttpVersion::Http1 => Client::builder().http1_only(),
            HttpVersion::Http2 => Client::builder().http2_prior_knowledge(),
        };
        let client = builder
            .user_agent(USER_AGENT)
            // The whole exchange (headers and body) is bounded by one
            // tokio timeout in `exchange`; a reqwest timeout beside it would
            // only add a second timer per request.
            .connect_timeout(cfg.timeout)
            // A redirect would carry our api key header to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(cfg.max_concurrency)
            .build()
            .map_err(|e| HttpProblem::Client(describe(&e)))?;
        // Burst of one: the rate holds over any window, not just on average.
        let limiter = NonZeroU32::new(cfg.max_rate)
            .map(|rate| RateLimiter::direct(Quota::per_second(rate).allow_burst(NonZeroU32::MIN)));
        Ok(HttpBase {
            client,
            base_url: cfg.base_url.clone(),
            timeout: cfg.timeout,
            max_body: cfg.max_body,
            permits: Semaphore::new(cfg.max_concurrency),
            limiter,
            auth,
        })
    }

    pub fn max_body(&self) -> u64 {
        self.max_body
    }

    /// OAuth2 token fetches started so far (0 for other kinds).
    pub fn token_fetches(&self) -> u64 {
        self.auth.token_fetches()
    }

    /// Makes the call within the limits. Any HTTP status is an `Ok(Answer)`;
    /// the caller decides what a status means for its method. Errors are
    /// transport failures, a body over the cap, or authentication failures.
    pub async fn call(&self, req: &Request<'_>) -> Result<Answer, SourceError> {
        let mut renewed = false;
        loop {
            let rb = self.request(req);
            let (rb, token) = self.auth.apply(rb, &self.client, self.timeout, req.part).await?;
            let answer = {
                // Closed never happens: the semaphore lives as long as self.
                let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
                if let Some(limiter) = &self.limiter {
                    limiter.until_ready().await;
                }
                self.exchange(req, rb).await?
            };
            if answer.answer.status == StatusCode::UNAUTHORIZED && !renewed {
                if let Some(token) = token {
                    if req.renewal == Renewal::On401 || answer.challenge {
                        self.auth.refused(token).await;
                        renewed = true;
                        continue;
                    }
                }
            }
            return Ok(answer.answer);
        }
    }

    fn request(&self, req: &Request<'_>) -> reqwest::RequestBuilder {
        let query: Vec<(&str, &str)> = req.query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = path::join(&self.base_url, &req.path, &query);
        let mut rb = self.client.request(req.method.clone(), url).header(ACCEPT, req.accept);
        if let Some((body, content_type)) = &req.body {
            rb = rb.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        for (name, value) in &req.headers {
            rb = rb.header(*name, value);
        }
        rb
    }

    /// Sends the call within the limits and hands back the response with
    /// its body unread, still holding its place in the concurrency limit:
    /// for an answer read as a stream (a SOAP full listing). The caller
    /// bounds the whole exchange with its own timeout; no OAuth2 renewal.
    pub async fn open(&self, req: &Request<'_>) -> Result<Opened<'_>, SourceError> {
        let rb = self.request(req);
        let (rb, _token) = self.auth.apply(rb, &self.client, self.timeout, req.part).await?;
        let permit = self.permits.acquire().await.expect("the semaphore is never closed");
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
        let response = rb.send().await.map_err(|e| transport(req.part, &e))?;
        Ok(Opened { response, _permit: permit })
    }

    /// One request and its body, bounded by the timeout as a whole.
    async fn exchange(&self, req: &Request<'_>, rb: reqwest::RequestBuilder) -> Result<Exchanged, SourceError> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, async {
            let mut res = rb.send().await.map_err(|e| transport(req.part, &e))?;
            let status = res.status();
            let challenge = res
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer")));
            let retry_after = retry_after_of(&res);
            let body = if status.is_success() || status == StatusCode::GONE || req.read_failures {
                self.read_body(req, &mut res).await?
            } else {
                read_prefix(&mut res, ERROR_BODY_PREFIX).await
            };
            Ok(Exchanged { answer: Answer { status, body, retry_after }, challenge })
        })
        .await
        .unwrap_or_else(|_| {
            Err(SourceError::Transient {
                part: req.part,
                reason: format!("the AMS did not answer within {:?}", self.timeout),
                status: None,
                retry_after: None,
                excerpt: None,
            })
        });
        let latency = started.elapsed();
        match &result {
            Ok(x) => tracing::debug!(
                method = req.part.as_str(),
                key = req.record,
                path = %req.path,
                status = x.answer.status.as_u16(),
                latency_ms = latency.as_millis() as u64,
                bytes = x.answer.body.len(),
                "AMS call answered"
            ),
            Err(e) => tracing::debug!(
                method = req.part.as_str(),
                key = req.record,
                path = %req.path,
                latency_ms = latency.as_millis() as u64,
                error = %amsync_core::escaped(e),
                "AMS call failed"
            ),
        }
        result
    }

    async fn read_body(&self, req: &Request<'_>, res: &mut Response) -> Result<Vec<u8>, SourceError> {
        match read_capped(res, self.max_body).await {
            Ok(body) => Ok(body),
            Err(BodyError::Read(e)) => Err(transport(req.part, &e)),
            Err(BodyError::TooLarge { limit, declared, prefix }) => {
                let message = match declared {
                    Some(n) => format!(
                        "the {} answer declares {n} bytes, over ams.max_body ({limit} bytes); it was not read",
                        req.part
                    ),
                    None => format!(
                        "the {} answer is larger than ams.max_body ({limit} bytes); reading stopped there",
                        req.part
                    ),
                };
                let error = DataError::new(req.record, req.part, "/", message);
                let excerpt = (!prefix.is_empty()).then(|| excerpt(&prefix));
                Err(SourceError::Data { error, excerpt })
            }
        }
    }
}

/// A response whose body is still to be read, and its place in the limit.
pub struct Opened<'a> {
    pub response: Response,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

/// An answer and whether it carried a `WWW-Authenticate: Bearer` challenge.
struct Exchanged {
    answer: Answer,
    challenge: bool,
}

/// A transport failure: timeout, connection, broken body. All transient.
pub(crate) fn transport(part: Part, e: &reqwest::Error) -> SourceError {
    let reason = if e.is_timeout() {
        "the AMS did not answer in time".to_string()
    } else if e.is_connect() {
        format!("could not connect to the AMS: {}", describe(e))
    } else {
        format!("the call to the AMS failed: {}", describe(e))
    };
    SourceError::Transient { part, reason, status: None, retry_after: None, excerpt: None }
}

/// An error's message and causes, without the URL (it may carry a query
/// with a function key).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    if let Some(url) = e.url() {
        // reqwest names the URL in its message; keep only scheme, host and path.
        out = out.replace(url.as_str(), &redact(url));
    }
    out
}

/// A URL without user info, query or fragment, for messages.
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

pub(crate) fn retry_after_of(res: &Response) -> Option<Duration> {
    res.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| retry_after::parse(v, SystemTime::now()))
}
