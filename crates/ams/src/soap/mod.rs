//! `soap`: the SOAP 1.1 RefreshService dialect that AMS vendors expose for
//! community platforms, behind [`AmsSource`] and [`CredentialService`].
//!
//! Every call is a POST of an envelope (`envelope`) to `ams.soap.endpoint`
//! with `SOAPAction: "{action_prefix}{Operation}"`, through the shared
//! HTTP base (client, `ams.auth` if any, `ams.timeout`, the concurrency and
//! rate limits, `ams.max_body`); the service's own `securityKey` goes in
//! the body. Answers are read ignoring namespaces, their `…Result`
//! holding the contract's XML elements (docs/sources/soap.md has the
//! mapping):
//!
//! | method | operation (default) | parameters | result |
//! |---|---|---|---|
//! | GetChangedMembers | `GetChangedMembers` | `updatedSince` (omitted: full listing) | `ChangedMember` (`MemberKey`, `LastUpdated`) |
//! | GetMemberDetails | `GetMemberDetails` | `memberKey` | the children of `<Member>`; nothing = gone (404); `<Gone MergedInto=…/>` = gone (410) |
//! | GetMemberCommunities | `GetMemberCommunityGroups` | `memberKey` | `Membership` |
//! | GetMemberSecurityGroups | `GetMemberSecurityGroups` | `memberKey` | `Group` |
//! | GetChangedEvents | `GetEvents` | `updatedSince` | `Event` |
//! | AuthenticateCredentials | `AuthenticateUser` | `username`, `password` | the member key (text or `<MemberKey>`); nothing = refused |
//! | ResolveToken | `ResolveToken` | `token` | as AuthenticateUser |
//!
//! SOAP has no paging: each listing is one answer, and GetChangedMembers
//! is read as a stream with its own cap and timeout (`listing`). Faults are
//! classified in `fault`. A raw answer is the envelope as received, tagged
//! `application/soap+xml`.

mod envelope;
mod fault;
mod listing;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use amsync_config_kit::SecretCells;
use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::secret::SecretCell;
use amsync_core::watermark::since_param;
use amsync_core::{MemberKey, Membership, PayloadFormat, RawPayload};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};

use crate::codec::xml::{self, Element, XmlLimits};
use crate::config::{AmsConfig, HttpAuth, SoapOperations, SoapSourceConfig};
use crate::factory::BuildError;
use crate::http::auth::Auth;
use crate::http::{classify, transport, Answer as HttpAnswer, HttpBase, HttpSettings, Renewal, Request};
use crate::source::{
    checked_details, checked_groups, checked_memberships, AmsSource, ChangedPage, CredentialService, DetailsAnswer,
    EventsPage, Fetched, SourceError,
};
use envelope::{read, Answer};
pub use envelope::{CONTENT_TYPE, ENVELOPE_NS};
use fault::{Meaning, Phrases};

/// The media type raw SOAP answers are stored with.
pub const FORMAT: &str = "application/soap+xml";

/// The kind's name (`ams.kind`).
pub const KIND: &str = "soap";

/// A SOAP source. Cloning is cheap and shares the client, limits and key.
///
/// It does not observe its own calls: the factory wraps it in
/// [`crate::Observed`].
#[derive(Clone)]
pub struct SoapSource {
    base: Arc<HttpBase>,
    dialect: Arc<Dialect>,
}

/// What the configuration says about the service's dialect.
struct Dialect {
    namespace: String,
    action_prefix: String,
    ops: SoapOperations,
    /// `None` when no key is configured (an empty `securityKey` is sent).
    key: Option<SecretCell>,
    listing_cap: u64,
    listing_timeout: Duration,
    phrases: Phrases,
    limits: XmlLimits,
}

impl SoapSource {
    /// The source of `[ams]` with `[ams.soap]`, its secrets resolved through `secrets`.
    pub fn new(ams: &AmsConfig, secrets: &mut dyn SecretCells) -> Result<SoapSource, BuildError> {
        let soap = ams.soap.as_ref().ok_or(BuildError::Required("ams.soap"))?;
        let settings = HttpSettings {
            base_url: soap.endpoint.clone(),
            timeout: ams.timeout,
            max_concurrency: ams.max_concurrency as usize,
            max_rate: ams.max_rate,
            max_body: ams.max_body,
            http_version: ams.http_version,
        };
        let auth = Auth::build(ams.auth.as_ref(), "ams.auth", "ams", secrets)?;
        SoapSource::on(&settings, auth, soap, "ams", secrets)
    }

    /// The credential service of `[ams.soap]` when the source is another
    /// kind: a base of its own with `settings`, authenticated with
    /// `auth.auth` only (the source's credentials are not sent to another
    /// service).
    pub(crate) fn credential_service(
        settings: &HttpSettings,
        soap: &SoapSourceConfig,
        auth: Option<&HttpAuth>,
        secrets: &mut dyn SecretCells,
    ) -> Result<SoapSource, BuildError> {
        let auth = Auth::build(auth, "auth.auth", "auth", secrets)?;
        SoapSource::on(settings, auth, soap, "auth", secrets)
    }

    fn on(
        settings: &HttpSettings,
        auth: Auth,
        soap: &SoapSourceConfig,
        section: &'static str,
        secrets: &mut dyn SecretCells,
    ) -> Result<SoapSource, BuildError> {
        let key = match soap.security_key() {
            Some(source) => Some(secrets.cell(source, None).map_err(|e| BuildError::Secret(e.to_string()))?),
            None => None,
        };
        let base = HttpBase::new(settings, auth).map_err(|problem| BuildError::Http { section, problem })?;
        let dialect = Dialect {
            namespace: soap.request_namespace.clone(),
            action_prefix: soap.action_prefix().to_string(),
            ops: soap.operations.clone(),
            key,
            listing_cap: soap.max_listing_bytes,
            listing_timeout: soap.listing_timeout,
            phrases: Phrases::new(&soap.faults),
            limits: XmlLimits { max_bytes: settings.max_body, ..XmlLimits::default() },
        };
        Ok(SoapSource { base: Arc::new(base), dialect: Arc::new(dialect) })
    }

    fn request<'a>(
        &self,
        part: Part,
        record: &'a str,
        operation: &str,
        params: &[(&str, Option<&str>)],
    ) -> Request<'a> {
        let key = self.dialect.key.as_ref().map(|k| k.current());
        let key = key.as_ref().map(|k| k.expose_secret()).unwrap_or("");
        let body = envelope::request(operation, &self.dialect.namespace, key, params);
        Request {
            part,
            record,
            method: Method::POST,
            path: String::new(),
            query: Vec::new(),
            body: Some((body, CONTENT_TYPE)),
            accept: "text/xml",
            // The security key is in the body; a 401 can only be about `ams.auth`.
            renewal: Renewal::On401,
            headers: vec![("SOAPAction", format!("\"{}{operation}\"", self.dialect.action_prefix))],
            read_failures: true,
        }
    }

    fn raw(body: Vec<u8>) -> RawPayload {
        RawPayload { format: PayloadFormat::parse(FORMAT).expect("a valid media type"), body }
    }

    /// Calls `operation` and reads its answer: the result element (or
    /// nothing), or a fault; any other failure is classified as HTTP's.
    async fn call(
        &self,
        part: Part,
        record: &str,
        operation: &str,
        params: &[(&str, Option<&str>)],
    ) -> Result<(Answer, HttpAnswer), SourceError> {
        let answer = self.base.call(&self.request(part, record, operation, params)).await?;
        let looks_soap = answer.status.is_success() || answer.status == StatusCode::INTERNAL_SERVER_ERROR;
        if !looks_soap {
            return Err(classify::failure(part, &answer));
        }
        match read(&answer.body, operation, part, record, &self.dialect.limits) {
            Ok(read) => Ok((read, answer)),
            // A 500 that is not a SOAP fault (a proxy's error page) is the server failing.
            Err(_) if !answer.status.is_success() => Err(classify::failure(part, &answer)),
            Err(e) => Err(SourceError::data(e, &answer.body)),
        }
    }

    /// A result the caller needs, or the failure its fault stands for.
    fn result(
        &self,
        read: Answer,
        operation: &str,
        part: Part,
        status: StatusCode,
    ) -> Result<Option<Element>, SourceError> {
        match read {
            Answer::Result(r) => Ok(r),
            Answer::Fault(f) => Err(self.dialect.phrases.failure(&f, operation, part, status.as_u16())),
        }
    }

    async fn changed_page(&self, since: Option<DateTime<Utc>>) -> Result<ChangedPage, SourceError> {
        let part = Part::ChangedMembers;
        let operation = &self.dialect.ops.get_changed_members;
        let since = since.map(since_param);
        let record = "listing";
        let request = self.request(part, record, operation, &[("updatedSince", since.as_deref())]);
        let timeout = self.dialect.listing_timeout;
        let listed = tokio::time::timeout(timeout, async {
            let opened = self.base.open(&request).await?;
            let status = opened.response.status();
            if !(status.is_success() || status == StatusCode::INTERNAL_SERVER_ERROR) {
                let retry_after = crate::http::retry_after_of(&opened.response);
                let mut response = opened.response;
                let body = crate::http::body::read_prefix(&mut response, 4096).await;
                return Err(classify::failure(part, &HttpAnswer { status, body, retry_after }));
            }
            let listed = listing::read(opened.response, operation, record, self.dialect.listing_cap).await;
            Ok::<_, SourceError>((status, listed))
        })
        .await
        .unwrap_or_else(|_| {
            Err(SourceError::Transient {
                part,
                reason: format!("{operation}: the listing was not read within ams.soap.listing_timeout ({timeout:?})"),
                status: None,
                retry_after: None,
                excerpt: None,
            })
        })?;
        let (status, listed) = listed;
        match listed {
            Ok(listing::Listed::Page(page)) => Ok(page),
            Ok(listing::Listed::Fault(f)) => Err(self.dialect.phrases.failure(&f, operation, part, status.as_u16())),
            Err(listing::Stop::Read(e)) => Err(transport(part, &e)),
            Err(listing::Stop::TooLarge(n)) => Err(SourceError::Data {
                error: DataError::new(
                    record,
                    part,
                    "/",
                    format!(
                        "the {operation} answer is larger than ams.soap.max_listing_bytes ({} bytes; {n} bytes seen); reading stopped there",
                        self.dialect.listing_cap
                    ),
                ),
                excerpt: None,
            }),
            Err(listing::Stop::Data(e)) if !status.is_success() => Err(SourceError::Transient {
                part,
                reason: format!("{operation}: the AMS answered HTTP {status} without a SOAP fault ({})", e.message),
                status: Some(status.as_u16()),
                retry_after: None,
                excerpt: None,
            }),
            Err(listing::Stop::Data(e)) => Err(SourceError::Data { error: e, excerpt: None }),
        }
    }

    async fn details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        let part = Part::Details;
        let operation = &self.dialect.ops.get_member_details;
        let (read, answer) = self.call(part, key.as_str(), operation, &[("memberKey", Some(key.as_str()))]).await?;
        let value = match read {
            Answer::Fault(f) if self.dialect.phrases.meaning(&f) == Meaning::NotFound => {
                DetailsAnswer::Gone { status: 404, merged_into: None }
            }
            read => match self.result(read, operation, part, answer.status)? {
                None => DetailsAnswer::Gone { status: 404, merged_into: None },
                Some(result) => match single_child(&result, "Gone") {
                    Some(gone) => DetailsAnswer::Gone { status: 410, merged_into: self.merge_target(key, gone) },
                    None => {
                        let member = single_child(&result, "Member").unwrap_or(&result);
                        let details = xml::member(member, key)
                            .and_then(|d| checked_details(d, key))
                            .map_err(|e| SourceError::data(e, &answer.body))?;
                        DetailsAnswer::Found(details)
                    }
                },
            },
        };
        Ok(Fetched { value, raw: Self::raw(answer.body) })
    }

    /// As for HTTP's 410: a merge target that cannot be used only costs the merge refresh.
    fn merge_target(&self, key: &MemberKey, gone: &Element) -> Option<MemberKey> {
        match xml::merged_into(gone, key) {
            Ok(Some(target)) if &target == key => {
                tracing::warn!(key = key.as_str(), "the AMS says the member was merged into itself; ignored");
                None
            }
            Ok(target) => target,
            Err(error) => {
                tracing::warn!(key = key.as_str(), error = %amsync_core::escaped(&error), "the <Gone> answer names no usable merge target");
                None
            }
        }
    }

    /// A per-member list: the result's children (or those of its one
    /// wrapper element named `wrapper`), read by `read`.
    async fn member_list<T>(
        &self,
        part: Part,
        key: &MemberKey,
        operation: &str,
        wrapper: &str,
        read_list: impl Fn(&Element, &MemberKey) -> Result<Vec<T>, DataError>,
    ) -> Result<Fetched<Vec<T>>, SourceError> {
        let (read, answer) = self.call(part, key.as_str(), operation, &[("memberKey", Some(key.as_str()))]).await?;
        let value = match self.result(read, operation, part, answer.status)? {
            None => Vec::new(),
            Some(result) => {
                let list = single_child(&result, wrapper).unwrap_or(&result);
                read_list(list, key).map_err(|e| SourceError::data(e, &answer.body))?
            }
        };
        Ok(Fetched { value, raw: Self::raw(answer.body) })
    }

    async fn events(&self, since: Option<DateTime<Utc>>) -> Result<EventsPage, SourceError> {
        let part = Part::ChangedEvents;
        let operation = &self.dialect.ops.get_changed_events;
        let since = since.map(since_param);
        let record = "listing";
        let (read, answer) = self.call(part, record, operation, &[("updatedSince", since.as_deref())]).await?;
        match self.result(read, operation, part, answer.status)? {
            None => Ok(EventsPage::default()),
            Some(result) => xml::events_in(&result, record).map_err(|e| SourceError::data(e, &answer.body)),
        }
    }

    /// AuthenticateUser and ResolveToken: the key, or `None` when the
    /// result is empty or the fault says not found.
    async fn key_check(
        &self,
        part: Part,
        operation: &str,
        params: &[(&str, Option<&str>)],
    ) -> Result<Option<MemberKey>, SourceError> {
        let (read, answer) = self.call(part, part.as_str(), operation, params).await?;
        let result = match read {
            Answer::Fault(f) if self.dialect.phrases.meaning(&f) == Meaning::NotFound => return Ok(None),
            read => self.result(read, operation, part, answer.status)?,
        };
        let Some(result) = result else { return Ok(None) };
        let holder = single_child(&result, "MemberKey").unwrap_or(&result);
        xml::key_text(holder, part).map_err(|e| SourceError::data(e, &answer.body))
    }
}

/// The element's one child, when it has exactly one and it has that name.
fn single_child<'a>(el: &'a Element, name: &str) -> Option<&'a Element> {
    match el.children.as_slice() {
        [only] if only.name == name => Some(only),
        _ => None,
    }
}

/// A listing has one page: a cursor is one this source never handed out.
fn no_cursor(part: Part, cursor: Option<&str>) -> Result<(), SourceError> {
    match cursor {
        None => Ok(()),
        Some(c) => Err(SourceError::Permanent {
            part,
            status: 400,
            excerpt: None,
            detail: Some(format!("a SOAP listing has no pages, so no cursor ({:?}) can be followed", c)),
        }),
    }
}

#[async_trait::async_trait]
impl AmsSource for SoapSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    /// The dialect has no health operation: GetChangedMembers since now.
    async fn health(&self) -> Result<(), SourceError> {
        let part = Part::Health;
        let operation = &self.dialect.ops.get_changed_members;
        let since = since_param(Utc::now());
        let (read, answer) = self.call(part, "health", operation, &[("updatedSince", Some(since.as_str()))]).await?;
        self.result(read, operation, part, answer.status).map(drop)
    }

    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        no_cursor(Part::ChangedMembers, cursor)?;
        self.changed_page(since).await
    }

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        self.details(key).await
    }

    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        let op = self.dialect.ops.get_member_communities.clone();
        self.member_list(Part::Communities, key, &op, "Memberships", |el, k| {
            xml::memberships_in(el, k).and_then(|l| checked_memberships(l, k))
        })
        .await
    }

    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        let op = self.dialect.ops.get_member_security_groups.clone();
        self.member_list(Part::SecurityGroups, key, &op, "SecurityGroups", |el, k| {
            xml::groups_in(el, k).and_then(|l| checked_groups(l, k))
        })
        .await
    }

    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError> {
        no_cursor(Part::ChangedEvents, cursor)?;
        self.events(since).await
    }
}

#[async_trait::async_trait]
impl CredentialService for SoapSource {
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError> {
        let operation = self.dialect.ops.authenticate_credentials.clone();
        let params = [("username", Some(username)), ("password", Some(password.expose_secret()))];
        self.key_check(Part::Credentials, &operation, &params).await
    }

    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError> {
        let operation = self.dialect.ops.resolve_token.clone();
        self.key_check(Part::ResolveToken, &operation, &[("token", Some(token))]).await
    }
}
