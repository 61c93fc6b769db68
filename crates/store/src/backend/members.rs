//! Members: single operations on a member's rows (the member row, its
//! memberships, AMS groups, payloads, history and refresh bookkeeping),
//! and the reads of members.

use std::collections::HashSet;
use std::future::Future;

use amsync_core::community::Membership;
use amsync_core::diff::{ChangeKind, FieldChange, MembershipId};
use amsync_core::member::MemberDetails;
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{Failure, MemberKey, RawPayload, SecurityGroupRef, Trigger};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::json::to_json;
use crate::types::{HistoryEntry, MemberQuery, MemberSummary, Page, PartHashes, RunId, StoredMember};

/// What the unchanged check needs of a stored member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub disabled_reason: Option<DisabledReason>,
    pub hashes: PartHashes,
}

/// The encoded columns of a member row that depend only on what the AMS
/// sent, computed by the caller before the write reaches the backend (a
/// writer is the one resource every commit waits for; this work is not
/// its job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRowText {
    /// JSON of the phones, social links and demographics.
    pub phones: String,
    pub social: String,
    pub demographics: String,
    /// What search matches (see [`search_text`]).
    pub search_text: String,
    /// JSON of every membership the AMS listed, before the rules.
    pub ams_memberships: String,
}

impl MemberRowText {
    pub fn of(details: &MemberDetails, ams_memberships: &[Membership]) -> MemberRowText {
        MemberRowText {
            phones: to_json(&details.phones),
            social: to_json(&details.social),
            demographics: to_json(&details.demographics),
            search_text: search_text(details),
            ams_memberships: to_json(ams_memberships),
        }
    }
}

/// What search matches: key, names and email, lower-cased, separated by a
/// character no query can usefully contain.
pub fn search_text(d: &MemberDetails) -> String {
    let parts = [Some(d.key.as_str()), d.first_name.as_deref(), d.last_name.as_deref(), d.email.as_deref()];
    parts.iter().map(|p| p.unwrap_or("").to_lowercase()).collect::<Vec<_>>().join("\u{1f}")
}

/// Single operations on a member's rows inside a transaction.
pub trait MemberTx: Send {
    /// The stored member's disabled reason and part hashes.
    fn fingerprint(&mut self, key: &str) -> impl Future<Output = Result<Option<Fingerprint>>> + Send;

    /// Everything a refresh can change, plus local groups.
    fn load_record(&mut self, key: &str) -> impl Future<Output = Result<Option<MemberRecord>>> + Send;

    /// Writes the member row (insert, or full update keeping `created_at`).
    /// `text` was computed from `record.details`.
    fn upsert_member_row(
        &mut self,
        record: &MemberRecord,
        hashes: &PartHashes,
        text: &MemberRowText,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Writes only the effective state: status, disabled reason, merge target.
    fn update_member_state(
        &mut self,
        record: &MemberRecord,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Replaces the member's kept memberships (`clear`: delete the old
    /// ones first; a new member has none).
    fn replace_memberships(
        &mut self,
        key: &str,
        list: &[Membership],
        clear: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Replaces the member's accepted AMS groups (`clear` as above).
    fn replace_ams_groups(
        &mut self,
        key: &str,
        list: &[SecurityGroupRef],
        clear: bool,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Stores the raw answers of the parts given (details, communities,
    /// groups; `None` keeps the stored one).
    fn upsert_payloads(
        &mut self,
        key: &str,
        parts: [Option<&RawPayload>; 3],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Appends an entry to the member's history.
    #[allow(clippy::too_many_arguments)]
    fn insert_history(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        trigger: Trigger,
        kind: ChangeKind,
        run_id: Option<RunId>,
        fields: &[FieldChange],
    ) -> impl Future<Output = Result<()>> + Send;

    /// A successful refresh: when and why; the last error cleared.
    fn note_refreshed(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        trigger: Trigger,
    ) -> impl Future<Output = Result<()>> + Send;

    /// A failed refresh: kept until a refresh succeeds.
    fn note_failure(
        &mut self,
        key: &str,
        failure: &Failure,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every membership the AMS last listed for a stored member, before the
    /// rules (an error when the member is not stored).
    fn stored_ams_memberships(&mut self, key: &str) -> impl Future<Output = Result<Vec<Membership>>> + Send;

    /// Replaces that list (a released hold of removals takes them out).
    fn set_ams_memberships(
        &mut self,
        key: &str,
        list: &[Membership],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// At most `limit` members with a key after `after`, in key order,
    /// each with every membership the AMS last listed (a re-apply's batch).
    fn ams_memberships_after(
        &mut self,
        after: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(MemberKey, Vec<Membership>)>>> + Send;

    /// The ids of the memberships the member keeps (after the rules).
    fn kept_membership_ids(&mut self, key: &str) -> impl Future<Output = Result<HashSet<MembershipId>>> + Send;

    /// Notes that the member row changed at `at` (its memberships were
    /// written apart from it).
    fn touch_member(&mut self, key: &str, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of members.
pub trait MemberReads: Send + Sync {
    fn get_member(&self, key: &MemberKey) -> impl Future<Output = Result<Option<StoredMember>>> + Send;

    /// Every membership the AMS last listed for the member, before the rules.
    fn ams_memberships(&self, key: &MemberKey) -> impl Future<Output = Result<Option<Vec<Membership>>>> + Send;

    fn search_members(&self, query: &MemberQuery) -> impl Future<Output = Result<Page<MemberSummary>>> + Send;

    /// Newest first; `before_id` pages backwards.
    fn member_history(
        &self,
        key: &MemberKey,
        limit: usize,
        before_id: Option<i64>,
    ) -> impl Future<Output = Result<Vec<HistoryEntry>>> + Send;

    /// Keys of the active members, in key order.
    fn active_member_keys(&self) -> impl Future<Output = Result<Vec<MemberKey>>> + Send;

    fn member_count(&self) -> impl Future<Output = Result<u64>> + Send;
}
