//! `http-json` and `http-xml`: the contract's methods over the shared HTTP
//! base (`crate::http`) and a codec ([`crate::codec`]).
//!
//! A source only knows paths and what each status means for its method; how
//! to call, limit and classify lives in the base, how to read in the codec.

use std::sync::Arc;

use amsync_config_kit::SecretCells;
use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::watermark::since_param;
use amsync_core::{MemberKey, Membership, RawPayload};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;

use crate::codec::{Codec, HttpEncoding};
use crate::config::AmsConfig;
use crate::factory::BuildError;
use crate::http::auth::Auth;
use crate::http::{classify, path, Answer, HttpBase, HttpSettings, Renewal, Request};
use crate::source::{AmsSource, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError};

/// An HTTP source of either encoding. Cloning is cheap and shares the
/// client, limits and token.
///
/// It does not observe its own calls: the factory ([`crate::build`])
/// wraps every source it builds in [`crate::Observed`], which does it for
/// every kind alike.
#[derive(Clone)]
pub struct HttpSource {
    base: Arc<HttpBase>,
    codec: Codec,
}

impl HttpSource {
    /// The `http-json` or `http-xml` source of `cfg` (by `cfg.kind`), its
    /// secret resolved through `secrets`. Installs the crypto provider.
    pub fn new(cfg: &AmsConfig, secrets: &mut dyn SecretCells) -> Result<HttpSource, BuildError> {
        let encoding = HttpEncoding::of_kind(cfg.kind).ok_or_else(|| BuildError::not_available(cfg.kind))?;
        let base_url = cfg.base_url.clone().ok_or(BuildError::Required("ams.base_url"))?;
        let settings = HttpSettings {
            base_url,
            timeout: cfg.timeout,
            max_concurrency: cfg.max_concurrency as usize,
            max_rate: cfg.max_rate,
            max_body: cfg.max_body,
            http_version: cfg.http_version,
        };
        let auth = Auth::build(cfg.auth.as_ref(), "ams.auth", "ams", secrets)?;
        HttpSource::on(&settings, auth, encoding, "ams")
    }

    /// A source on a base of its own, built from `settings` and `auth`;
    /// errors are reported under `section` (`ams`, `auth`).
    pub(crate) fn on(
        settings: &HttpSettings,
        auth: Auth,
        encoding: HttpEncoding,
        section: &'static str,
    ) -> Result<HttpSource, BuildError> {
        let base = HttpBase::new(settings, auth).map_err(|problem| BuildError::Http { section, problem })?;
        Ok(HttpSource { codec: Codec::new(encoding, base.max_body()), base: Arc::new(base) })
    }

    /// A source of another encoding sharing this one's client, limits and
    /// token (the credential service of the same service).
    pub(crate) fn with_encoding(&self, encoding: HttpEncoding) -> HttpSource {
        HttpSource { codec: Codec::new(encoding, self.base.max_body()), base: self.base.clone() }
    }

    pub fn encoding(&self) -> HttpEncoding {
        self.codec.encoding()
    }

    /// OAuth2 token fetches started so far (0 for other auth kinds).
    pub fn token_fetches(&self) -> u64 {
        self.base.token_fetches()
    }

    fn get<'a>(&self, part: Part, record: &'a str, path: String, query: Vec<(&'static str, String)>) -> Request<'a> {
        Request {
            part,
            record,
            method: Method::GET,
            path,
            query,
            body: None,
            accept: self.codec.media_type(),
            renewal: Renewal::On401,
            headers: Vec::new(),
            read_failures: false,
        }
    }

    fn raw(&self, body: Vec<u8>) -> RawPayload {
        RawPayload { format: self.codec.encoding().format(), body }
    }

    /// `members/{key}{suffix}`, or a data error for a key no URL can carry.
    fn member_path(&self, part: Part, key: &MemberKey, suffix: &str) -> Result<String, SourceError> {
        let segment = path::segment(key.as_str()).map_err(|e| SourceError::Data {
            error: DataError::new(key.as_str(), part, "/key", e.to_string()),
            excerpt: None,
        })?;
        Ok(format!("members/{segment}{suffix}"))
    }

    async fn changed_page(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        let part = Part::ChangedMembers;
        let record = page_record(cursor);
        let answer =
            self.base.call(&self.get(part, &record, "members/changed".into(), listing_query(since, cursor))).await?;
        ok_or_failure(part, &answer)?;
        self.codec.changed_members(&answer.body, &record).map_err(|e| SourceError::data(e, &answer.body))
    }

    async fn details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        let part = Part::Details;
        let answer =
            self.base.call(&self.get(part, key.as_str(), self.member_path(part, key, "")?, Vec::new())).await?;
        let value = match answer.status {
            s if s.is_success() => DetailsAnswer::Found(
                self.codec.member_details(&answer.body, key).map_err(|e| SourceError::data(e, &answer.body))?,
            ),
            StatusCode::NOT_FOUND => DetailsAnswer::Gone { status: 404, merged_into: None },
            StatusCode::GONE => DetailsAnswer::Gone { status: 410, merged_into: self.merge_target(key, &answer.body) },
            _ => return Err(classify::failure(part, &answer)),
        };
        Ok(Fetched { value, raw: self.raw(answer.body) })
    }

    /// The 410 status alone says the record is gone; a body that does not
    /// name a usable merge target only costs the merge refresh (the target
    /// changed too, so it is listed by GetChangedMembers anyway).
    fn merge_target(&self, key: &MemberKey, body: &[u8]) -> Option<MemberKey> {
        match self.codec.gone(body, key) {
            Ok(Some(target)) if &target == key => {
                tracing::warn!(key = key.as_str(), "the AMS says the member was merged into itself; ignored");
                None
            }
            Ok(target) => target,
            Err(error) => {
                tracing::warn!(key = key.as_str(), error = %amsync_core::escaped(&error), "the 410 body names no usable merge target");
                None
            }
        }
    }

    async fn communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        let part = Part::Communities;
        let path = self.member_path(part, key, "/communities")?;
        let answer = self.base.call(&self.get(part, key.as_str(), path, Vec::new())).await?;
        ok_or_failure(part, &answer)?;
        let value = self.codec.memberships(&answer.body, key).map_err(|e| SourceError::data(e, &answer.body))?;
        Ok(Fetched { value, raw: self.raw(answer.body) })
    }

    async fn groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        let part = Part::SecurityGroups;
        let path = self.member_path(part, key, "/security-groups")?;
        let answer = self.base.call(&self.get(part, key.as_str(), path, Vec::new())).await?;
        ok_or_failure(part, &answer)?;
        let value = self.codec.groups(&answer.body, key).map_err(|e| SourceError::data(e, &answer.body))?;
        Ok(Fetched { value, raw: self.raw(answer.body) })
    }

    async fn events_page(&self, since: Option<DateTime<Utc>>, cursor: Option<&str>) -> Result<EventsPage, SourceError> {
        let part = Part::ChangedEvents;
        let record = page_record(cursor);
        let answer =
            self.base.call(&self.get(part, &record, "events/changed".into(), listing_query(since, cursor))).await?;
        ok_or_failure(part, &answer)?;
        self.codec.changed_events(&answer.body, &record).map_err(|e| SourceError::data(e, &answer.body))
    }

    async fn probe(&self) -> Result<(), SourceError> {
        let part = Part::Health;
        let answer = self.base.call(&self.get(part, "health", "health".into(), Vec::new())).await?;
        match answer.status {
            s if s.is_success() => Ok(()),
            // The contract makes /health optional: probe with a listing of nothing.
            StatusCode::NOT_FOUND => self.changed_page(Some(Utc::now()), None).await.map(drop),
            _ => Err(classify::failure(part, &answer)),
        }
    }

    /// AuthenticateCredentials and ResolveToken: a key, or `None` on 401.
    async fn check(&self, part: Part, path: &str, body: Vec<u8>) -> Result<Option<MemberKey>, SourceError> {
        let request = Request {
            part,
            record: part.as_str(),
            method: Method::POST,
            path: path.to_string(),
            query: Vec::new(),
            body: Some((body, self.codec.content_type())),
            accept: self.codec.media_type(),
            renewal: Renewal::OnBearerChallenge,
            headers: Vec::new(),
            read_failures: false,
        };
        let answer = self.base.call(&request).await?;
        match answer.status {
            s if s.is_success() => {
                self.codec.key_answer(&answer.body, part).map(Some).map_err(|e| SourceError::data(e, &answer.body))
            }
            StatusCode::UNAUTHORIZED => Ok(None),
            _ => Err(classify::failure(part, &answer)),
        }
    }
}

fn ok_or_failure(part: Part, answer: &Answer) -> Result<(), SourceError> {
    if answer.status.is_success() {
        Ok(())
    } else {
        Err(classify::failure(part, answer))
    }
}

fn listing_query(since: Option<DateTime<Utc>>, cursor: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(since) = since {
        query.push(("since", since_param(since)));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor.to_string()));
    }
    query
}

/// How a listing page is named in data errors (no key can name it).
fn page_record(cursor: Option<&str>) -> String {
    match cursor {
        None => "first page".to_string(),
        Some(c) => {
            let short: String = c.chars().take(32).collect();
            let more = if short.len() < c.len() { "…" } else { "" };
            format!("page at cursor {short}{more}")
        }
    }
}

#[async_trait::async_trait]
impl AmsSource for HttpSource {
    fn kind(&self) -> &'static str {
        self.codec.encoding().kind().as_str()
    }

    async fn health(&self) -> Result<(), SourceError> {
        self.probe().await
    }

    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        self.changed_page(since, cursor).await
    }

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        self.details(key).await
    }

    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        self.communities(key).await
    }

    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        self.groups(key).await
    }

    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError> {
        self.events_page(since, cursor).await
    }
}

#[async_trait::async_trait]
impl CredentialService for HttpSource {
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError> {
        let body = self.codec.credentials_request(username, password);
        self.check(Part::Credentials, "auth/credentials", body).await
    }

    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError> {
        let body = self.codec.token_request(token);
        self.check(Part::ResolveToken, "auth/resolve-token", body).await
    }
}
