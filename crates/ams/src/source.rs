//! The contract's methods as a Rust trait.

use std::time::Duration;

use amsync_core::error::{excerpt, DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{Event, Failure, FailureKind, MemberDetails, MemberKey, Membership, RawPayload};

// What every kind does with what it read, before it leaves the source.
pub(crate) use checks::{checked_details, checked_event, checked_groups, checked_memberships};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// A parsed answer and the body it was parsed from (stored as the member's
/// last raw AMS payload).
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    pub value: T,
    pub raw: RawPayload,
}

/// One entry of GetChangedMembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedKey {
    pub key: MemberKey,
    pub changed_at: Option<DateTime<Utc>>,
}

/// One page of GetChangedMembers.
#[derive(Debug, Clone, Default)]
pub struct ChangedPage {
    pub as_of: Option<DateTime<Utc>>,
    pub changed: Vec<ChangedKey>,
    /// Entries that could not be read (a bad key, say), each naming the entry
    /// and field. The rest of the page is used.
    pub rejected: Vec<DataError>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of GetChangedEvents.
#[derive(Debug, Clone, Default)]
pub struct EventsPage {
    pub as_of: Option<DateTime<Utc>>,
    pub events: Vec<Event>,
    pub rejected: Vec<DataError>,
    pub next_cursor: Option<String>,
}

/// GetMemberDetails: the member, or the AMS no longer has it.
// Found is by far the common answer; boxing it would cost an allocation per refresh.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailsAnswer {
    /// Normalized and validated details.
    Found(MemberDetails),
    /// 404, or 410 with an optional merge target.
    Gone { status: u16, merged_into: Option<MemberKey> },
}

/// Why a call failed. Converted to [`Failure`] for the queue and the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// 5xx, 429, timeout or connection error.
    #[error("{part}: {reason}")]
    Transient {
        part: Part,
        reason: String,
        status: Option<u16>,
        retry_after: Option<Duration>,
        excerpt: Option<String>,
    },
    /// 401/403 (or a SOAP fault saying so): the AMS refuses our credentials.
    #[error("{part}: the AMS refused our credentials ({})", said(.status, .detail, "HTTP"))]
    Unauthorized {
        part: Part,
        status: u16,
        excerpt: Option<String>,
        /// What the AMS said, when it said more than a status (a SOAP
        /// fault's operation and faultstring).
        detail: Option<String>,
    },
    /// Another 4xx (or a 404 on a part other than details, or a SOAP fault
    /// that retrying will not change).
    #[error("{part}: {}", said(.status, .detail, "the AMS answered HTTP"))]
    Permanent { part: Part, status: u16, excerpt: Option<String>, detail: Option<String> },
    /// The body did not parse or broke the contract.
    #[error("{error}")]
    Data { error: DataError, excerpt: Option<String> },
    /// Our own configuration cannot work (a secret's variable is unset, say).
    #[error("{part}: configuration error: {reason}")]
    Config { part: Part, reason: String },
}

/// What a refusal says: the AMS's own words when it gave some, else its status.
fn said(status: &u16, detail: &Option<String>, status_words: &str) -> String {
    match detail {
        Some(d) => d.clone(),
        None => format!("{status_words} {status}"),
    }
}

impl SourceError {
    pub fn data(error: DataError, body: &[u8]) -> SourceError {
        SourceError::Data { error, excerpt: Some(excerpt(body)) }
    }

    pub fn part(&self) -> Part {
        match self {
            SourceError::Transient { part, .. }
            | SourceError::Unauthorized { part, .. }
            | SourceError::Permanent { part, .. }
            | SourceError::Config { part, .. } => *part,
            SourceError::Data { error, .. } => error.part,
        }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            SourceError::Transient { .. } => FailureKind::Transient,
            SourceError::Unauthorized { .. } | SourceError::Config { .. } => FailureKind::Unauthorized,
            SourceError::Permanent { .. } => FailureKind::Permanent,
            SourceError::Data { .. } => FailureKind::Data,
        }
    }

    /// How long the AMS asked us to wait, when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SourceError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn to_failure(&self) -> Failure {
        let (status, excerpt, field) = match self {
            SourceError::Transient { status, excerpt, .. } => (*status, excerpt.clone(), None),
            SourceError::Unauthorized { status, excerpt, .. } | SourceError::Permanent { status, excerpt, .. } => {
                (Some(*status), excerpt.clone(), None)
            }
            SourceError::Data { error, excerpt } => (None, excerpt.clone(), Some(error.field.clone())),
            SourceError::Config { .. } => (None, None, None),
        };
        Failure { kind: self.kind(), part: self.part(), message: self.to_string(), status, excerpt, field }
    }
}

/// The data methods of the AMS contract. Every implementation passes the
/// source conformance suite (`amsync-ams/tests/conformance`, through a
/// harness of its kind).
///
/// What an implementation owes (docs/spec/ams-contract.md):
/// - values leave it normalized and validated (the `checked_*` functions
///   of this module), a bad field named as a JSON pointer of the
///   contract's shape (`/phones/4`), whatever the kind reads;
/// - a listing entry it cannot read is `rejected`, named by its place in
///   the page (`changed entry 2`, `/changed/2/key`); the rest is used;
/// - GetMemberDetails' "no longer there" is an answer
///   ([`DetailsAnswer::Gone`]), not an error; refusals of our own
///   credentials are [`SourceError::Unauthorized`]; it never retries;
/// - it does not observe itself: the factory wraps it in
///   [`crate::Observed`].
#[async_trait::async_trait]
pub trait AmsSource: Send + Sync + 'static {
    /// The configured kind (`http-json`, `http-xml`, …).
    fn kind(&self) -> &'static str;

    /// Health (optional in the contract): `GET /health`, or, where the AMS
    /// has none, GetChangedMembers with a `since` of now.
    async fn health(&self) -> Result<(), SourceError>;

    /// One page of GetChangedMembers. `since = None` is the full listing.
    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError>;

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError>;

    /// The member's complete membership list, normalized (sorted) and validated.
    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError>;

    /// The member's complete AMS group list, normalized (sorted) and validated.
    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError>;

    /// One page of GetChangedEvents. `since = None` lists all events.
    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError>;
}

/// Credential checks and token resolution (`[auth]`): AuthenticateCredentials
/// and ResolveToken.
#[async_trait::async_trait]
pub trait CredentialService: Send + Sync + 'static {
    /// `Ok(None)` when the AMS answers 401 (wrong username or password). The
    /// password is passed through and never stored or logged.
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError>;

    /// `Ok(None)` when the AMS answers 401 (unknown or expired token).
    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError>;
}

/// A shared source is a source: one handle for the engine, another for a
/// test that changes its data, or one source serving as both traits.
#[async_trait::async_trait]
impl<S: AmsSource + ?Sized> AmsSource for std::sync::Arc<S> {
    fn kind(&self) -> &'static str {
        (**self).kind()
    }

    async fn health(&self) -> Result<(), SourceError> {
        (**self).health().await
    }

    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        (**self).changed_members(since, cursor).await
    }

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        (**self).member_details(key).await
    }

    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        (**self).member_communities(key).await
    }

    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        (**self).member_groups(key).await
    }

    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError> {
        (**self).changed_events(since, cursor).await
    }
}

#[async_trait::async_trait]
impl<S: CredentialService + ?Sized> CredentialService for std::sync::Arc<S> {
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError> {
        (**self).authenticate(username, password).await
    }

    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError> {
        (**self).resolve_token(token).await
    }
}

/// The contract's rules on each part, applied by every kind to what it read.
mod checks {
    use amsync_core::error::DataError;
    use amsync_core::group::SecurityGroupRef;
    use amsync_core::{Event, MemberDetails, MemberKey, Membership};

    /// GetMemberDetails, normalized and validated against the key asked for.
    pub(crate) fn checked_details(mut details: MemberDetails, key: &MemberKey) -> Result<MemberDetails, DataError> {
        details.normalize();
        details.validate(key)?;
        Ok(details)
    }

    /// GetMemberCommunities, normalized (sorted) and validated.
    pub(crate) fn checked_memberships(
        mut list: Vec<Membership>,
        key: &MemberKey,
    ) -> Result<Vec<Membership>, DataError> {
        amsync_core::community::normalize_memberships(&mut list);
        amsync_core::community::validate_memberships(key, &list)?;
        Ok(list)
    }

    /// GetMemberSecurityGroups, normalized (sorted) and validated.
    pub(crate) fn checked_groups(
        mut list: Vec<SecurityGroupRef>,
        key: &MemberKey,
    ) -> Result<Vec<SecurityGroupRef>, DataError> {
        amsync_core::group::normalize_groups(&mut list);
        amsync_core::group::validate_groups(key, &list)?;
        Ok(list)
    }

    /// One event of GetChangedEvents, normalized and validated.
    pub(crate) fn checked_event(mut event: Event) -> Result<Event, DataError> {
        event.normalize();
        event.validate()?;
        Ok(event)
    }
}
