//! The safety nets' reads (approvals, the scan a rule change's dry run
//! counts, samples) on the readers (`held.rs`, `admin_status.rs`).

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::MembershipId;
use amsync_core::MemberKey;

use super::{admin_status, held, SqliteBackend};
use crate::backend::{HeldReads, SafetyReads};
use crate::error::Result;
use crate::safety_api::*;

impl SafetyReads for SqliteBackend {
    async fn fold_membership_sets<A, F>(&self, init: A, mut visit: F) -> Result<A>
    where
        A: Send + 'static,
        F: FnMut(&mut A, &str, &[Membership], &HashSet<MembershipId>) + Send + 'static,
    {
        self.read_op(move |c| {
            let mut acc = init;
            held::scan_membership_sets(c, |key, all, kept| visit(&mut acc, key, all, kept))?;
            Ok(acc)
        })
        .await
    }

    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
        self.read_op(move |c| admin_status::sample_active_members(c, n, seed)).await
    }
}

impl HeldReads for SqliteBackend {
    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>> {
        let filter = filter.clone();
        self.read_op(move |c| held::list_approvals(c, &filter)).await
    }

    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        self.read_op(move |c| held::get_approval(c, id)).await
    }

    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| held::open_held_changes(c, &key)).await
    }

    async fn pending_approvals(&self) -> Result<u64> {
        self.read_op(held::pending_approvals).await
    }
}
