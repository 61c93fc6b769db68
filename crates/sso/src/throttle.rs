//! Throttling of failed sign-ins (`sso.throttle`).
//!
//! Failures are counted per (account, client address) and per client
//! address, over a sliding `window` since the last failure. Past the
//! allowance, each further attempt must wait a delay that doubles with every
//! failure (from `base_delay`, at most `window`); the caller answers 429 with
//! `Retry-After`.
//!
//! An attempt that awaits an answer (the AMS's credential check, the
//! provider's key set, the store) is counted as a failure *before* it goes
//! out: [`Throttle::begin`] hands back an [`Attempt`], a guard that takes
//! the failure back when the attempt succeeds or ends without saying
//! anything about the guess (the AMS did not answer), and keeps it when the
//! guess was wrong or the guard is dropped unsettled. Counting afterwards
//! would let every guess sent at once through before the first failure
//! lands. Attempts in flight are bounded too: never more than the allowance
//! per (account, address) and per address.
//!
//! Keying on the address as well as the account is what keeps a member from
//! being locked out from elsewhere: someone guessing a member's password from
//! another address slows only themselves. IPv6 addresses count by /64, the
//! block one client usually holds.
//!
//! Memory is bounded: entries are small hashes (account text is never kept),
//! expired ones are dropped, and past `max_entries` the older half goes.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `sso.throttle` and two knobs the config does not expose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSettings {
    /// Failures allowed per (account, address) within `window` before delays.
    pub per_account_and_address: u32,
    /// Failures allowed per address (any account) within `window` before delays.
    pub per_address: u32,
    /// How long failures are remembered after the last one.
    pub window: Duration,
    /// The first delay past the allowance; each further failure doubles it.
    pub base_delay: Duration,
    /// Most entries of each kind kept.
    pub max_entries: usize,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        ThrottleSettings {
            per_account_and_address: 5,
            per_address: 20,
            window: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(1),
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Failures within the window, attempts in flight included (each is
    /// counted when it starts).
    failures: u32,
    /// Attempts begun and not settled yet.
    in_flight: u32,
    last: Instant,
}

#[derive(Debug, Default)]
struct Counters {
    entries: HashMap<u64, Entry>,
}

impl Counters {
    fn live(&mut self, key: u64, now: Instant, window: Duration) -> Option<Entry> {
        let e = *self.entries.get(&key)?;
        if now.saturating_duration_since(e.last) > window {
            self.entries.remove(&key);
            return None;
        }
        Some(e)
    }

    /// Counts one failure; `starting` when it is an attempt about to go out.
    fn record(&mut self, key: u64, now: Instant, window: Duration, max_entries: usize, starting: bool) {
        let live = self.live(key, now, window);
        if live.is_none() && self.entries.len() >= max_entries {
            self.shrink(now, window, max_entries);
        }
        let (failures, in_flight) = live.map_or((0, 0), |e| (e.failures, e.in_flight));
        let in_flight = in_flight + u32::from(starting);
        self.entries.insert(key, Entry { failures: failures.saturating_add(1), in_flight, last: now });
    }

    /// An attempt ended: it leaves flight, and `failures` is what remains
    /// counted of the entry (given the entry as it is now).
    fn settle(&mut self, key: u64, failures: impl FnOnce(&Entry) -> u32) {
        let Some(e) = self.entries.get_mut(&key) else { return };
        e.failures = failures(e);
        e.in_flight = e.in_flight.saturating_sub(1);
        if e.failures == 0 && e.in_flight == 0 {
            self.entries.remove(&key);
        }
    }

    /// Drops expired entries; if that is not enough, the older half.
    fn shrink(&mut self, now: Instant, window: Duration, max_entries: usize) {
        self.entries.retain(|_, e| now.saturating_duration_since(e.last) <= window);
        if self.entries.len() < max_entries {
            return;
        }
        let mut ages: Vec<Instant> = self.entries.values().map(|e| e.last).collect();
        let mid = ages.len() / 2;
        let (_, median, _) = ages.select_nth_unstable(mid);
        let median = *median;
        self.entries.retain(|_, e| e.last > median);
    }
}

/// The throttle. One per process; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Throttle {
    settings: ThrottleSettings,
    hasher: RandomState,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    pairs: Counters,
    addresses: Counters,
}

/// The address as counted: IPv4 whole, IPv6 by its /64.
fn address_block(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// How an [`Attempt`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Succeeded,
    Failed,
    NotCounted,
}

/// One sign-in attempt in flight, counted as a failure until it is settled.
/// Settle it with [`Attempt::succeeded`], [`Attempt::failed`] or
/// [`Attempt::not_counted`]; dropped unsettled (an early return, a panic, a
/// client that hung up mid-call), it stays counted as a failure, so no path
/// can let a guess through uncounted.
#[must_use = "an attempt dropped unsettled counts as a failed sign-in"]
#[derive(Debug)]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    /// `None` without an account: only the address counts.
    pair: Option<u64>,
    address: u64,
    settled: bool,
}

impl Attempt<'_> {
    /// The sign-in succeeded: the (account, address) count is cleared (but
    /// for other attempts of the pair still in flight) and this attempt's
    /// failure is taken back from the address count, whose other failures
    /// stay: one good account must not reset the guessing of others.
    pub fn succeeded(mut self) {
        self.settle(Settled::Succeeded);
    }

    /// The guess was wrong: its failure stays counted.
    pub fn failed(mut self) {
        self.settle(Settled::Failed);
    }

    /// The attempt ended without saying anything about the guess (the AMS
    /// or provider did not answer, our own failure, a malformed request):
    /// its failure is taken back.
    pub fn not_counted(mut self) {
        self.settle(Settled::NotCounted);
    }

    fn settle(&mut self, how: Settled) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let mut st = self.throttle.state.lock().expect("throttle lock");
        if let Some(pair) = self.pair {
            st.pairs.settle(pair, |e| match how {
                Settled::Failed => e.failures,
                Settled::NotCounted => e.failures.saturating_sub(1),
                // The others still in flight stay counted until they end.
                Settled::Succeeded => e.in_flight.saturating_sub(1),
            });
        }
        st.addresses.settle(self.address, |e| match how {
            Settled::Failed => e.failures,
            Settled::NotCounted | Settled::Succeeded => e.failures.saturating_sub(1),
        });
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.settle(Settled::Failed);
    }
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Throttle {
        Throttle { settings, hasher: RandomState::new(), state: Mutex::new(State::default()) }
    }

    pub fn settings(&self) -> &ThrottleSettings {
        &self.settings
    }

    fn keys(&self, account: Option<&str>, addr: IpAddr) -> (u64, u64) {
        let block = address_block(addr);
        // Accounts are compared case-insensitively and trimmed, as sign-in
        // services usually do; a different spelling is not a fresh allowance.
        let account = account.map(|a| a.trim().to_lowercase()).unwrap_or_default();
        (self.hasher.hash_one((0u8, account.as_str(), block)), self.hasher.hash_one((1u8, block)))
    }

    /// How long an attempt must wait, given the entry's count.
    fn delay(&self, entry: Option<Entry>, allowance: u32, now: Instant) -> Option<Duration> {
        let e = entry?;
        if e.failures < allowance {
            return None;
        }
        let doublings = (e.failures - allowance).min(30);
        let wait = self.settings.base_delay.saturating_mul(1 << doublings).min(self.settings.window);
        let until = e.last + wait;
        if until > now {
            return Some(until - now);
        }
        // The delay is over, but as many attempts as the allowance are
        // still waiting for their answer (a slow AMS): wait for one to end.
        (e.in_flight >= allowance).then_some(self.settings.base_delay)
    }

    /// The wait of the (account, address) and address entries, the longer.
    /// `pair` is `None` without an account (a refused SSO token): then
    /// only the address counts.
    fn wait(&self, st: &mut State, pair: Option<u64>, address: u64, now: Instant) -> Option<Duration> {
        let window = self.settings.window;
        let a = match pair {
            Some(pair) => self.delay(st.pairs.live(pair, now, window), self.settings.per_account_and_address, now),
            None => None,
        };
        let b = self.delay(st.addresses.live(address, now, window), self.settings.per_address, now);
        a.max(b)
    }

    /// Starts an attempt that awaits its answer: `Err(wait)` when it must
    /// wait (answer 429 with `Retry-After`), else the attempt, already
    /// counted as a failure until it is settled. Begin before calling the
    /// credential service, so a throttled guess costs the AMS nothing.
    pub fn begin(&self, account: Option<&str>, addr: IpAddr, now: Instant) -> Result<Attempt<'_>, Duration> {
        let (pair, address) = self.keys(account, addr);
        let pair = account.map(|_| pair);
        let mut st = self.state.lock().expect("throttle lock");
        if let Some(wait) = self.wait(&mut st, pair, address, now) {
            return Err(wait);
        }
        let (window, max) = (self.settings.window, self.settings.max_entries);
        if let Some(pair) = pair {
            st.pairs.record(pair, now, window, max, true);
        }
        st.addresses.record(address, now, window, max, true);
        Ok(Attempt { throttle: self, pair, address, settled: false })
    }

    /// `Err(wait)` when an attempt must wait; `Ok` when it may go ahead,
    /// counting nothing. Only for a check decided without awaiting anything
    /// (the dashboard's comparison of the admin token), followed at once by
    /// [`Throttle::failed`] or [`Throttle::succeeded`]; anything that awaits
    /// an answer takes an [`Attempt`] with [`Throttle::begin`].
    pub fn check(&self, account: Option<&str>, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let (pair, address) = self.keys(account, addr);
        let mut st = self.state.lock().expect("throttle lock");
        match self.wait(&mut st, account.map(|_| pair), address, now) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed sign-in. `account` is `None` where there is none to
    /// name (a refused SSO token): then only the address counts.
    pub fn failed(&self, account: Option<&str>, addr: IpAddr, now: Instant) {
        let (pair, address) = self.keys(account, addr);
        let (window, max) = (self.settings.window, self.settings.max_entries);
        let mut st = self.state.lock().expect("throttle lock");
        if account.is_some() {
            st.pairs.record(pair, now, window, max, false);
        }
        st.addresses.record(address, now, window, max, false);
    }

    /// A successful sign-in clears its (account, address) count but for
    /// attempts still in flight. The address count stays: one good account
    /// must not reset the guessing of others from the same address.
    pub fn succeeded(&self, account: Option<&str>, addr: IpAddr) {
        let (pair, _) = self.keys(account, addr);
        let mut st = self.state.lock().expect("throttle lock");
        let cleared = st.pairs.entries.get_mut(&pair).is_some_and(|e| {
            e.failures = e.in_flight;
            e.in_flight == 0
        });
        if cleared {
            st.pairs.entries.remove(&pair);
        }
    }

    /// Entries held (pairs, addresses), for tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let st = self.state.lock().expect("throttle lock");
        (st.pairs.entries.len(), st.addresses.entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        Throttle::new(ThrottleSettings {
            per_account_and_address: 3,
            per_address: 10,
            window: Duration::from_secs(60),
            base_delay: Duration::from_secs(1),
            max_entries: 1000,
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn delays_start_past_the_allowance_and_double() {
        let t = throttle();
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(t.check(Some("ada"), a, t0), Ok(()));
            t.failed(Some("ada"), a, t0);
        }
        assert_eq!(t.check(Some("ada"), a, t0), Err(Duration::from_secs(1)));
        assert_eq!(t.check(Some("ADA "), a, t0), Err(Duration::from_secs(1)), "spelling does not reset");
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(t.check(Some("ada"), a, t1), Ok(()));
        t.failed(Some("ada"), a, t1);
        assert_eq!(t.check(Some("ada"), a, t1), Err(Duration::from_secs(2)));
        t.failed(Some("ada"), a, t1);
        assert_eq!(t.check(Some("ada"), a, t1), Err(Duration::from_secs(4)));
        // The window since the last failure forgets everything.
        assert_eq!(t.check(Some("ada"), a, t1 + Duration::from_secs(61)), Ok(()));
    }

    #[test]
    fn another_address_is_never_locked_out() {
        let t = throttle();
        let now = Instant::now();
        for _ in 0..50 {
            t.failed(Some("ada"), ip("203.0.113.9"), now);
        }
        assert!(t.check(Some("ada"), ip("203.0.113.9"), now).is_err());
        assert_eq!(t.check(Some("ada"), ip("192.0.2.1"), now), Ok(()));
    }

    #[test]
    fn one_address_guessing_many_accounts_is_slowed() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("2001:db8::1");
        for i in 0..10 {
            t.failed(Some(&format!("user{i}")), a, now);
        }
        assert!(t.check(Some("fresh"), a, now).is_err());
        // The same /64 counts as one address.
        assert!(t.check(Some("fresh"), ip("2001:db8::ffff"), now).is_err());
        assert_eq!(t.check(Some("fresh"), ip("2001:db9::1"), now), Ok(()));
    }

    #[test]
    fn without_an_account_only_the_address_counts() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..9 {
            t.failed(None, a, now);
        }
        assert_eq!(t.check(None, a, now), Ok(()), "9 of 10 per address");
        t.failed(None, a, now);
        assert!(t.check(None, a, now).is_err());
        assert_eq!(t.len(), (0, 1));
    }

    #[test]
    fn success_clears_the_pair_but_not_the_address() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            t.failed(Some("ada"), a, now);
        }
        t.succeeded(Some("ada"), a);
        assert_eq!(t.check(Some("ada"), a, now), Ok(()));
        assert_eq!(t.len(), (0, 1));
    }

    /// Guesses sent at once: each is counted before it goes out, so only
    /// the allowance gets through however many are in flight.
    #[test]
    fn concurrent_attempts_are_counted_before_they_go_out() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let mut in_flight = Vec::new();
        for _ in 0..50 {
            if let Ok(attempt) = t.begin(Some("ada"), a, now) {
                in_flight.push(attempt);
            }
        }
        assert_eq!(in_flight.len(), 3, "the allowance, not 50");
        assert_eq!(t.begin(Some("ada"), a, now).unwrap_err(), Duration::from_secs(1));
        in_flight.into_iter().for_each(Attempt::failed);
        assert!(t.begin(Some("ada"), a, now).is_err(), "the failures stay");
    }

    #[test]
    fn a_success_takes_back_its_pending_failure() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..20 {
            t.begin(Some("ada"), a, now).unwrap().succeeded();
        }
        assert!(t.is_empty(), "twenty good sign-ins leave nothing counted");
        // A success clears the pair's earlier failures, not the address's.
        t.begin(Some("ada"), a, now).unwrap().failed();
        t.begin(Some("bob"), a, now).unwrap().failed();
        t.begin(Some("ada"), a, now).unwrap().succeeded();
        assert_eq!(t.len(), (1, 1), "bob's pair and the address remain");
    }

    #[test]
    fn an_attempt_the_guess_says_nothing_about_is_not_counted() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..20 {
            t.begin(Some("ada"), a, now).unwrap().not_counted();
        }
        assert!(t.is_empty());
    }

    #[test]
    fn an_attempt_dropped_unsettled_counts_as_a_failure() {
        let t = throttle();
        let now = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            drop(t.begin(Some("ada"), a, now).unwrap());
        }
        assert_eq!(t.begin(Some("ada"), a, now).unwrap_err(), Duration::from_secs(1));
    }

    #[test]
    fn attempts_in_flight_are_bounded_after_the_delay_too() {
        let t = throttle();
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        let held: Vec<_> = (0..3).map(|_| t.begin(Some("ada"), a, t0).unwrap()).collect();
        // Long after the delay, three are still waiting for a slow AMS.
        let later = t0 + Duration::from_secs(30);
        assert_eq!(t.begin(Some("ada"), a, later).unwrap_err(), Duration::from_secs(1));
        drop(held);
        assert!(t.begin(Some("ada"), a, later).is_ok(), "once one ends, the next may go");
    }

    #[test]
    fn a_guesser_in_flight_never_locks_the_member_out() {
        let t = throttle();
        let now = Instant::now();
        let held: Vec<_> = (0..10).filter_map(|_| t.begin(Some("ada"), ip("203.0.113.9"), now).ok()).collect();
        assert_eq!(held.len(), 3);
        t.begin(Some("ada"), ip("192.0.2.1"), now).unwrap().succeeded();
    }

    #[test]
    fn memory_stays_bounded_under_a_flood() {
        let t = throttle();
        let now = Instant::now();
        for i in 0..10_000u32 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(i));
            t.failed(Some("x"), addr, now + Duration::from_millis(i as u64));
        }
        let (pairs, addrs) = t.len();
        assert!(pairs <= 1000 && addrs <= 1000, "{pairs} {addrs}");
        assert!(!t.is_empty());
    }
}
