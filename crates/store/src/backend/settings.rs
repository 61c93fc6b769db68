//! Settings: the community rules and the IsMember designations, and what a
//! refresh plans with.

use std::collections::HashSet;
use std::future::Future;

use amsync_core::rules::RuleSet;
use amsync_core::GroupKey;

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
}

/// Reads of settings.
pub trait SettingsReads: Send + Sync {
    fn community_rules(&self) -> impl Future<Output = Result<RuleSet>> + Send;

    /// AMS groups designated "counts as IsMember".
    fn is_member_groups(&self) -> impl Future<Output = Result<Vec<GroupKey>>> + Send;

    /// Every known group: built-in, AMS-managed and local.
    fn security_groups(&self) -> impl Future<Output = Result<Vec<GroupInfo>>> + Send;
}

/// Settings writes still written inside the backend (see the module doc
/// of [`crate::backend`]).
pub trait SettingsWritesPhase2: Send + Sync {
    // seam: phase 2
    fn seed_settings(&self, rules: &RuleSet, is_member: &[GroupKey]) -> impl Future<Output = Result<bool>> + Send;

    // seam: phase 2
    fn set_community_rules(&self, rules: &RuleSet) -> impl Future<Output = Result<()>> + Send;
}
