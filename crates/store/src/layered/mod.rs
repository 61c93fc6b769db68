//! [`Layered`]: the store the rest of amsync uses, for any backend. It
//! implements every capability trait: a write is `backend.write(op)` with
//! an op from [`crate::ops`]; a read is the backend's `…Reads`; state
//! shared by every write of a process (the thresholds) lives here.
//!
//! One file per capability trait. A write of many batches (the rule
//! re-apply, retention) is a function of `ops/` that loops over
//! `backend.write`, one short op per batch.

mod access;
mod audit;
mod auth;
mod communities;
mod data_protection;
mod events;
mod groups;
mod listing;
mod members;
mod queue;
mod runs;
mod safety;
mod settings;
mod sync_state;

use std::sync::RwLock;

use amsync_core::safety::Thresholds;

use crate::backend::Backend;

/// Every capability of the store over one backend.
pub struct Layered<B> {
    backend: B,
    /// What refresh commits are held against (`SafetyStore::set_thresholds`).
    thresholds: RwLock<Thresholds>,
}

impl<B: Backend> Layered<B> {
    /// A store over `backend` that holds nothing until told its thresholds.
    pub fn new(backend: B) -> Layered<B> {
        Layered { backend, thresholds: RwLock::new(Thresholds::unlimited()) }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    fn limits(&self) -> Thresholds {
        *self.thresholds.read().unwrap_or_else(|p| p.into_inner())
    }
}

impl<B: std::fmt::Debug> std::fmt::Debug for Layered<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.backend.fmt(f)
    }
}
