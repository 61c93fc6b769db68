//! Settings: the community rules and the IsMember designations, and what a
//! refresh plans with.

use std::collections::HashSet;
use std::future::Future;

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;
use chrono::{DateTime, Utc};

use crate::api::GroupInfo;
use crate::error::Result;

/// What planning a fetched member needs of the settings.
#[derive(Debug, Clone, Copy)]
pub struct PlanInputs<'a> {
    pub rules: &'a RuleSet,
    /// Folded keys of the built-in and local groups (an AMS group with one
    /// of them is refused).
    pub local_groups_folded: &'a HashSet<String>,
}

/// Single operations on settings inside a transaction.
pub trait SettingsTx: Send {
    /// The community rules and the keys of the built-in and local groups,
    /// as this transaction sees them (a backend may keep them between
    /// transactions while nothing changes them).
    fn plan_inputs(&mut self) -> impl Future<Output = Result<PlanInputs<'_>>> + Send;

    /// The community rules as stored now (none stored: no rules).
    fn stored_community_rules(&mut self) -> impl Future<Output = Result<RuleSet>> + Send;

    /// Stores the community rules. What a backend keeps of the settings
    /// between transactions is dropped with it (the next refresh plans
    /// with these rules).
    fn put_community_rules(&mut self, rules: &RuleSet, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// Whether the settings were seeded from the configuration file.
    fn settings_seeded(&mut self) -> impl Future<Output = Result<bool>> + Send;

    /// Notes that the settings were seeded (they never are again).
    fn mark_settings_seeded(&mut self, at: DateTime<Utc>) -> impl Future<Output = Result<()>> + Send;

    /// Designates AMS groups as counting for IsMember, registering those no
    /// refresh has seen yet (without a `first_seen`). Built-in and local
    /// groups are left as they are (they cannot be designated).
    fn add_is_member_designations(&mut self, keys: &[GroupKey]) -> impl Future<Output = Result<()>> + Send;
}

/// Reads of settings.
pub trait SettingsReads: Send + Sync {
    fn community_rules(&self) -> impl Future<Output = Result<RuleSet>> + Send;

    /// AMS groups designated "counts as IsMember".
    fn is_member_groups(&self) -> impl Future<Output = Result<Vec<GroupKey>>> + Send;

    /// Every known group: built-in, AMS-managed and local.
    fn security_groups(&self) -> impl Future<Output = Result<Vec<GroupInfo>>> + Send;
}
