//! The in-process control handle (`Sim`) and the running server (`SimHandle`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use amsync_core::Event;
use chrono::NaiveDate;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::auth::{Gatekeeper, ResolveTokens};
use crate::changes::{random_change, ChangeRequest};
use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::dice::Dice;
use crate::error::SimError;
use crate::events::EventStore;
use crate::faults::{FaultBox, Faults};
use crate::generate::Generator;
use crate::member_key::member_key;
use crate::stats::{RuntimeCpu, SimStats, Stats};
use crate::store::MemberStore;
use crate::truth::MemberTruth;

/// Everything the server and the control handle share.
pub(crate) struct State {
    pub store: MemberStore,
    pub events: EventStore,
    pub faults: FaultBox,
    pub gate: Gatekeeper,
    pub stats: Stats,
    pub tokens: ResolveTokens,
    pub page_size: usize,
    /// Cancelled at shutdown; hanging calls stop waiting then.
    pub shutdown: CancellationToken,
    /// The random source of control-API changes (deterministic per seed).
    dice: Mutex<Dice>,
}

/// A cheap, cloneable handle on a simulated AMS's data: the control API
/// without HTTP. Every method takes effect immediately for the server.
#[derive(Clone)]
pub struct Sim {
    pub(crate) state: Arc<State>,
}

impl Sim {
    /// A sim whose membership terms are relative to today's date (UTC).
    pub fn new(config: &SimConfig) -> Sim {
        Sim::new_on(config, chrono::Utc::now().date_naive())
    }

    /// A sim as if started on `today` (terms, event dates and initial
    /// `changed_at` values are relative to it).
    pub fn new_on(config: &SimConfig, today: NaiveDate) -> Sim {
        Sim::build(config, today, None)
    }

    /// A sim whose stats also report the CPU of the runtime it runs on.
    pub(crate) fn build(config: &SimConfig, today: NaiveDate, runtime: Option<Arc<RuntimeCpu>>) -> Sim {
        let gen = Generator::new(config.seed, today);
        let clock = Arc::new(SimClock::new(gen.anchor));
        let events = EventStore::new(config.seed, config.events, today, gen.anchor, Arc::clone(&clock));
        let faults = Faults {
            latency_ms: config.latency_ms,
            error_rate: config.error_rate,
            hang_rate: config.hang_rate,
            hang_ms: config.hang_ms,
            malformed_rate: config.malformed_rate,
            ..Faults::default()
        };
        let state = State {
            store: MemberStore::new(gen, clock, config.members),
            events,
            faults: FaultBox::new(faults),
            gate: Gatekeeper::new(config.auth.clone()),
            stats: Stats::new(runtime),
            tokens: ResolveTokens::default(),
            page_size: config.page_size.max(1),
            shutdown: CancellationToken::new(),
            dice: Mutex::new(Dice::new(config.seed, u64::MAX, 99)),
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        for &enc in &config.prerender {
            state.store.prerender(enc, threads);
        }
        Sim { state: Arc::new(state) }
    }

    /// The day membership terms are relative to.
    pub fn today(&self) -> NaiveDate {
        self.state.store.generator().today
    }

    /// Members ever created (deleted and merged ones included); keys are
    /// `M000001` up to this number.
    pub fn member_count(&self) -> usize {
        self.state.store.count() as usize
    }

    /// What the AMS holds about a member (deleted and merged ones too).
    pub fn truth(&self, key: &str) -> Result<MemberTruth, SimError> {
        self.state.store.truth(key)
    }

    /// Every member's truth, in key order.
    pub fn truths(&self) -> Vec<MemberTruth> {
        (0..self.state.store.count()).filter_map(|i| self.state.store.truth_at(i)).collect()
    }

    /// Changes a member as asked, or randomly when the request is empty;
    /// it is then reported changed now, with a new version.
    pub fn change(&self, key: &str, request: &ChangeRequest) -> Result<MemberTruth, SimError> {
        if request.is_random() {
            let today = self.today();
            let mut dice = self.dice();
            self.state.store.mutate(key, |data| {
                let what = random_change(data, &mut dice, today);
                tracing::debug!(member = key, change = what, "sim changed a member");
                Ok(())
            })
        } else {
            self.state.store.mutate(key, |data| request.apply(data))
        }
    }

    /// Adds a member (the next key), generated like the others, then edited
    /// by `request` (an empty request leaves it as generated).
    pub fn create(&self, request: &ChangeRequest) -> Result<MemberTruth, SimError> {
        self.state.store.create(|data| request.apply(data))
    }

    /// Deletes a member: GetMemberDetails then answers 404.
    pub fn delete(&self, key: &str) -> Result<MemberTruth, SimError> {
        self.state.store.delete(key)
    }

    /// Merges `key` into `into`: `key` answers 410 `{"merged_into": into}`,
    /// and both are reported changed.
    pub fn merge(&self, key: &str, into: &str) -> Result<MemberTruth, SimError> {
        self.state.store.merge(key, into)
    }

    /// `count` random changes to random existing members; the keys changed
    /// (a key may repeat).
    pub fn churn(&self, count: usize) -> Vec<String> {
        let total = self.state.store.count();
        let mut changed = Vec::with_capacity(count);
        if total == 0 {
            return changed;
        }
        let today = self.today();
        let mut dice = self.dice();
        let mut attempts = 0usize;
        while changed.len() < count && attempts < count * 20 + 100 {
            attempts += 1;
            let key = member_key(dice.below(total as u64) as u32);
            let changed_one = self.state.store.mutate(&key, |data| {
                random_change(data, &mut dice, today);
                Ok(())
            });
            if changed_one.is_ok() {
                changed.push(key);
            }
        }
        changed
    }

    fn dice(&self) -> std::sync::MutexGuard<'_, Dice> {
        self.state.dice.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A token ResolveToken will resolve to `key` for five minutes.
    pub fn issue_token(&self, key: &str) -> Result<String, SimError> {
        self.state.store.active_index(key).ok_or_else(|| SimError::UnknownMember(key.to_string()))?;
        Ok(self.state.tokens.issue(key))
    }

    pub fn events(&self) -> Vec<Event> {
        self.state.events.all()
    }

    /// Changes an event: `fields` are contract fields to set; none (or
    /// empty) makes a random change.
    pub fn change_event(
        &self,
        key: &str,
        fields: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<Event, SimError> {
        self.state.events.change(key, fields)
    }

    pub fn cancel_event(&self, key: &str) -> Result<Event, SimError> {
        self.state.events.cancel(key)
    }

    pub fn faults(&self) -> Faults {
        self.state.faults.get()
    }

    /// Replaces the whole fault configuration.
    pub fn set_faults(&self, faults: Faults) {
        self.state.faults.set(faults);
    }

    /// How callers must authenticate now.
    pub fn auth(&self) -> crate::config::SimAuth {
        self.state.gate.mode()
    }

    /// Replaces how callers must authenticate (a rotated API key, password
    /// or client secret): the old credential is refused from now on;
    /// OAuth 2.0 tokens already issued stay good until they expire.
    pub fn set_auth(&self, auth: crate::config::SimAuth) {
        tracing::info!(mode = auth.kind(), "the sim's authentication was replaced");
        self.state.gate.set_mode(auth);
    }

    pub fn stats(&self) -> SimStats {
        self.state.stats.snapshot(self.state.store.count() as u64)
    }

    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }
}

/// A running simulated AMS. Dropping it stops the server too.
pub struct SimHandle {
    pub(crate) addr: SocketAddr,
    pub(crate) sim: Sim,
    pub(crate) done: Option<oneshot::Receiver<()>>,
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: the contract's paths are at the root.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The in-process control handle.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// Stops accepting, lets calls in flight finish (hanging ones stop
    /// hanging) and waits up to five seconds for the server to end.
    pub async fn shutdown(mut self) {
        self.sim.state.shutdown.cancel();
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), done).await;
        }
    }
}

impl std::ops::Deref for SimHandle {
    type Target = Sim;

    fn deref(&self) -> &Sim {
        &self.sim
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.sim.state.shutdown.cancel();
    }
}
