//! Throttling of failed sign-ins (`sso.throttle`).
//!
//! Failures are counted per (account, client address) and per client
//! address, over a sliding `window` since the last failure. Past the
//! allowance, each further attempt must wait a delay that doubles with every
//! failure (from `base_delay`, at most `window`); the caller answers 429 with
//! `Retry-After`.
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
    failures: u32,
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

    fn record(&mut self, key: u64, now: Instant, window: Duration, max_entries: usize) {
        let failures = self.live(key, now, window).map_or(0, |e| e.failures);
        if failures == 0 && self.entries.len() >= max_entries {
            self.shrink(now, window, max_entries);
        }
        self.entries.insert(key, Entry { failures: failures.saturating_add(1), last: now });
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

    fn delay(&self, entry: Option<Entry>, allowance: u32, now: Instant) -> Option<Duration> {
        let e = entry?;
        if e.failures < allowance {
            return None;
        }
        let doublings = (e.failures - allowance).min(30);
        let wait = self.settings.base_delay.saturating_mul(1 << doublings).min(self.settings.window);
        let until = e.last + wait;
        (until > now).then(|| until - now)
    }

    /// `Err(wait)` when this attempt must wait (answer 429 with
    /// `Retry-After`); `Ok` when it may go ahead. Check before calling the
    /// credential service, so a throttled guess costs the AMS nothing.
    pub fn check(&self, account: Option<&str>, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let (pair, address) = self.keys(account, addr);
        let window = self.settings.window;
        let mut st = self.state.lock().expect("throttle lock");
        // Without an account (a refused SSO token) only the address counts.
        let a = match account {
            Some(_) => self.delay(st.pairs.live(pair, now, window), self.settings.per_account_and_address, now),
            None => None,
        };
        let b = self.delay(st.addresses.live(address, now, window), self.settings.per_address, now);
        match a.max(b) {
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
            st.pairs.record(pair, now, window, max);
        }
        st.addresses.record(address, now, window, max);
    }

    /// A successful sign-in clears its (account, address) count. The
    /// address count stays: one good account must not reset the guessing of
    /// others from the same address.
    pub fn succeeded(&self, account: Option<&str>, addr: IpAddr) {
        let (pair, _) = self.keys(account, addr);
        self.state.lock().expect("throttle lock").pairs.entries.remove(&pair);
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
