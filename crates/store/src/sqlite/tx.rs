//! [`SqliteTx`](super::SqliteTx): the writer's connection and cache, inside the group
//! commit an op runs in, implementing every `…Tx` trait of
//! [`crate::backend`] (each aspect's file of this folder has its impl).
//!
//! Its methods are `async fn`s with synchronous rusqlite bodies: they never
//! wait, so an op's future over a `SqliteTx` completes at its first poll
//! and [`SqliteBackend::write`](super::SqliteBackend) drives it with
//! `block_on` on the writer thread, as a plain function call (the unit test
//! below checks it on the refresh commit, the hottest op).

use super::SqliteTx;
use crate::backend::WriteOp;
use crate::error::Result;

/// Runs `op` on the writer's transaction (what
/// [`SqliteBackend::write`](super::SqliteBackend) does inside a group
/// commit). The op's future is pinned where it is built: an op's future is
/// large (the refresh commit's is some KiB), and `block_on` taking it by
/// value would copy it once more per commit.
pub(crate) fn run_op<O: WriteOp>(op: &mut O, tx: &mut SqliteTx) -> Result<O::Output> {
    futures::executor::block_on(std::pin::pin!(op.run(tx)))
}

#[cfg(test)]
mod tests {
    use amsync_core::diff::FetchedMember;
    use amsync_core::member::MemberDetails;
    use amsync_core::safety::Thresholds;
    use amsync_core::{MemberKey, PayloadFormat, RawPayload, Trigger};
    use chrono::Utc;
    use rusqlite::Connection;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};

    use super::super::SqliteTx;
    use crate::backend::WriteOp;
    use crate::ops::refresh::CommitRefresh;
    use crate::types::{CommitOutcome, PartHashes, RawParts, RefreshCommit, RefreshOutcome};

    fn tx() -> SqliteTx {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::apply(&mut conn).unwrap();
        SqliteTx::new(conn)
    }

    fn refresh(key: &str) -> CommitRefresh {
        let member = FetchedMember {
            details: MemberDetails::empty(MemberKey::parse(key).unwrap()),
            memberships: Vec::new(),
            groups: Vec::new(),
        };
        let raw = RawPayload { format: PayloadFormat::JSON, body: b"{}".to_vec() };
        let outcome = RefreshOutcome::Fetched {
            hashes: PartHashes::of(&member),
            member,
            raw: RawParts { details: raw.clone(), communities: raw.clone(), groups: raw },
        };
        let commit = RefreshCommit {
            claim: None,
            key: MemberKey::parse(key).unwrap(),
            trigger: Trigger::Manual,
            run_id: None,
            at: Utc::now(),
            outcome,
        };
        CommitRefresh::new(commit, Thresholds::unlimited())
    }

    /// Polls `f` once with a waker that does nothing.
    fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        pin!(f).poll(&mut cx)
    }

    #[test]
    fn an_op_over_the_sqlite_transaction_completes_at_its_first_poll() {
        let mut tx = tx();
        // A new member, then the same again (the unchanged path).
        let mut op = refresh("M1");
        let Poll::Ready(first) = poll_once(op.run(&mut tx)) else { panic!("the commit waited") };
        assert!(matches!(first.unwrap(), CommitOutcome::Applied { .. }));
        let Poll::Ready(again) = poll_once(op.run(&mut tx)) else { panic!("the commit waited") };
        assert!(again.unwrap().is_unchanged());
    }
}
