//! The safety nets' reads on PostgreSQL (approvals, the scan a rule
//! change's dry run counts, samples), each in one snapshot (`held.rs`,
//! `admin_status.rs`).

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::MembershipId;
use amsync_core::MemberKey;

use super::admin_status::sample_active_members;
use super::held;
use super::PgBackend;
use crate::backend::{HeldReads, SafetyReads};
use crate::error::Result;
use crate::safety_api::*;

impl SafetyReads for PgBackend {
    async fn fold_membership_sets<A, F>(&self, init: A, mut visit: F) -> Result<A>
    where
        A: Send + 'static,
        F: FnMut(&mut A, &str, &[Membership], &HashSet<MembershipId>) + Send + 'static,
    {
        let mut tx = self.snapshot().await?;
        let mut acc = init;
        held::scan_membership_sets(&mut tx, |key, all, kept| visit(&mut acc, key, all, kept)).await?;
        tx.commit().await?;
        Ok(acc)
    }

    async fn sample_active_members(&self, n: usize, seed: u64) -> Result<Vec<MemberKey>> {
        let mut tx = self.snapshot().await?;
        let v = sample_active_members(&mut tx, n, seed).await?;
        tx.commit().await?;
        Ok(v)
    }
}

impl HeldReads for PgBackend {
    async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Vec<Approval>> {
        let mut tx = self.snapshot().await?;
        let v = held::list_approvals(&mut tx, filter).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn get_approval(&self, id: ApprovalId) -> Result<Option<Approval>> {
        let mut tx = self.snapshot().await?;
        let v = held::get_approval(&mut tx, id).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn open_held_changes(&self, key: &MemberKey) -> Result<Vec<HeldChange>> {
        held::open_held_changes(&mut self.autocommit().await?, key.as_str()).await
    }

    async fn pending_approvals(&self) -> Result<u64> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_one("SELECT COUNT(*) FROM approvals WHERE status = 'pending'", &[]).await?;
        Ok(super::codec::count(super::codec::get(&row, 0)?))
    }
}
