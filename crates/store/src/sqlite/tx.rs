//! [`SqliteTx`](super::SqliteTx): the writer's connection and cache, inside the group
//! commit an op runs in, implementing every `…Tx` trait of
//! [`crate::backend`] (each aspect's file of this folder has its impl).
//!
//! Its methods are `async fn`s with synchronous rusqlite bodies: they never
//! wait, so an op's future over a `SqliteTx` completes at its first poll
//! and [`SqliteBackend::write`](super::SqliteBackend) drives it with
//! `block_on` on the writer thread, as a plain function call (the unit test
//! below checks it on the refresh commit, the hottest op).

use std::future::Future;

/// Runs an op of `ops/` from a whole operation of this backend not ported
/// to `ops/` yet (seam: phase 2), on the same transaction: the op's future
/// completes at its first poll (see the module doc).
pub(crate) fn run_now<F: Future>(op: F) -> F::Output {
    futures::executor::block_on(op)
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll};
    use std::time::Instant;

    use amsync_core::diff::FetchedMember;
    use amsync_core::member::MemberDetails;
    use amsync_core::safety::Thresholds;
    use amsync_core::{Encoding, MemberKey, RawPayload, Trigger};
    use chrono::Utc;
    use rusqlite::Connection;

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
        let raw = RawPayload { encoding: Encoding::Json, body: b"{}".to_vec() };
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

    #[test]
    fn driving_an_op_with_block_on_costs_next_to_nothing() {
        // What `block_on` adds around an op that is ready at once, against
        // polling it by hand: measured on a ready future, so that only the
        // executor's own cost is timed. Asserted loosely (a loaded machine
        // is slow), printed for the record (`--nocapture`).
        const N: u32 = 200_000;
        let started = Instant::now();
        for i in 0..N {
            assert_eq!(futures::executor::block_on(std::future::ready(i)), i);
        }
        let per_call = started.elapsed() / N;
        println!("block_on of a ready future: {per_call:?} per call");
        assert!(per_call.as_micros() < 5, "{per_call:?} per call");
    }
}
