//! An admin's disable and enable of a member: `disabled_reason = admin`
//! sticks through refreshes and sign-ins (the plan is
//! `amsync_core::diff::plan_admin`).

use amsync_core::diff::{plan_admin, ChangeKind};
use amsync_core::record::DisabledReason;
use amsync_core::safety::Thresholds;
use amsync_core::{MemberKey, Trigger};
use chrono::{DateTime, Utc};

use super::queue::enqueue_one;
use super::refresh::record_change;
use super::safety::{drop_hold, ledger_add};
use crate::backend::{ChangeOrigin, LedgerKind, Tx, WriteOp};
use crate::error::{Result, StoreError};
use crate::safety_api::{AdminStatusChange, HoldKind};

/// [`crate::SafetyStore::admin_set_status`].
pub(crate) struct AdminSetStatus {
    pub key: MemberKey,
    pub disable: bool,
    pub at: DateTime<Utc>,
    pub limits: Thresholds,
}

impl WriteOp for AdminSetStatus {
    type Output = AdminStatusChange;

    async fn run<T: Tx>(&mut self, tx: &mut T) -> Result<AdminStatusChange> {
        let (key, disable, at) = (self.key.as_str(), self.disable, self.at);
        let old = tx.load_record(key).await?.ok_or_else(|| StoreError::NotFound(format!("member {key}")))?;
        if !disable && !old.is_active() && old.disabled_reason != Some(DisabledReason::Admin) {
            let reason = old.disabled_reason.map_or("unknown", DisabledReason::as_str);
            return Err(StoreError::Conflict(format!(
                "member {key} was disabled by its source ({reason}), not by an admin; it is enabled again when the \
                 AMS says it is active"
            )));
        }
        let plan = plan_admin(&old, disable);
        let changed = !plan.is_unchanged();
        if changed {
            tx.update_member_state(&plan.new, at).await?;
            record_change(tx, key, Trigger::Admin, None, at, &plan).await?;
            // Recorded for the audit and the baselines; an admin's own change
            // never counts against the limits the source's changes are held by.
            let kind = match plan.kind {
                ChangeKind::Disabled => Some(LedgerKind::Disable),
                ChangeKind::Enabled => Some(LedgerKind::Enable),
                _ => None,
            };
            if let Some(kind) = kind {
                ledger_add(tx, kind, ChangeOrigin::Admin, Some(key), 1, at, &self.limits).await?;
            }
        }
        if disable {
            let open = tx.open_holds(key).await?;
            for h in open.iter().filter(|h| h.kind == HoldKind::Disable) {
                drop_hold(tx, key, h, "an admin disabled the member", at).await?;
            }
        } else if changed {
            // Enabled again, the member follows its source: refresh it now.
            enqueue_one(tx, key, Trigger::Admin, None, at, at).await?;
        }
        Ok(AdminStatusChange {
            key: self.key.clone(),
            changed,
            status: plan.new.status,
            disabled_reason: plan.new.disabled_reason,
        })
    }
}
