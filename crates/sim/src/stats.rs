//! Request counters and the sim's own resource use (`GET /_sim/stats`), so
//! a benchmark can tell the sim's CPU apart from amsync's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Every method the sim counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    ChangedMembers,
    Details,
    Communities,
    SecurityGroups,
    ChangedEvents,
    Credentials,
    ResolveToken,
    Health,
    OAuthToken,
}

const COUNTED: usize = 9;

/// The answer of `GET /_sim/stats`; everything since the last reset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// User + system CPU time of the whole process (getrusage RUSAGE_SELF).
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    /// `cpu_seconds / wall_seconds`: 1.0 is one core busy all the time.
    pub cpu_share: f64,
    /// Resident set size of the process now.
    pub rss_mb: f64,
    pub changed_members: u64,
    pub details: u64,
    pub communities: u64,
    pub security_groups: u64,
    pub changed_events: u64,
    pub credentials: u64,
    pub resolve_token: u64,
    pub health: u64,
    pub oauth_token: u64,
    /// All of the above.
    pub requests_total: u64,
    /// Calls that got an injected fault (error, hang, malformed, 404, 401).
    pub faults_injected: u64,
    /// Members ever created, deleted and merged ones included.
    pub members: u64,
}

pub struct Stats {
    counters: [AtomicU64; COUNTED],
    faults: AtomicU64,
    since: Mutex<(Instant, f64)>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            counters: Default::default(),
            faults: AtomicU64::new(0),
            since: Mutex::new((Instant::now(), cpu_seconds())),
        }
    }
}

impl Stats {
    pub fn count(&self, what: Counted) {
        self.counters[what as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        for c in &self.counters {
            c.store(0, Ordering::Relaxed);
        }
        self.faults.store(0, Ordering::Relaxed);
        *since = (Instant::now(), cpu_seconds());
    }

    pub fn snapshot(&self, members: u64) -> SimStats {
        let (start, cpu_start) = *self.since.lock().unwrap_or_else(|e| e.into_inner());
        let wall = start.elapsed().as_secs_f64();
        let cpu = (cpu_seconds() - cpu_start).max(0.0);
        let get = |c: Counted| self.counters[c as usize].load(Ordering::Relaxed);
        let counts = [
            Counted::ChangedMembers,
            Counted::Details,
            Counted::Communities,
            Counted::SecurityGroups,
            Counted::ChangedEvents,
            Counted::Credentials,
            Counted::ResolveToken,
            Counted::Health,
            Counted::OAuthToken,
        ];
        SimStats {
            cpu_seconds: cpu,
            wall_seconds: wall,
            cpu_share: if wall > 0.0 { cpu / wall } else { 0.0 },
            rss_mb: rss_bytes() as f64 / (1024.0 * 1024.0),
            changed_members: get(Counted::ChangedMembers),
            details: get(Counted::Details),
            communities: get(Counted::Communities),
            security_groups: get(Counted::SecurityGroups),
            changed_events: get(Counted::ChangedEvents),
            credentials: get(Counted::Credentials),
            resolve_token: get(Counted::ResolveToken),
            health: get(Counted::Health),
            oauth_token: get(Counted::OAuthToken),
            requests_total: counts.iter().map(|&c| get(c)).sum(),
            faults_injected: self.faults.load(Ordering::Relaxed),
            members,
        }
    }
}

/// User + system CPU seconds of this process.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0.0;
        }
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Resident set size now (from /proc on Linux), else the peak from getrusage.
pub fn rss_bytes() -> u64 {
    if let Ok(statm) = std::fs::read_to_string("/proc/self/statm") {
        if let Some(pages) = statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()) {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            return pages * page.max(4096) as u64;
        }
    }
    // SAFETY: as above.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return 0;
        }
        // ru_maxrss is in kilobytes on Linux.
        usage.ru_maxrss as u64 * 1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_resets() {
        let s = Stats::default();
        s.count(Counted::Details);
        s.count(Counted::Details);
        s.count(Counted::Health);
        s.fault();
        let snap = s.snapshot(10);
        assert_eq!((snap.details, snap.health, snap.requests_total, snap.faults_injected), (2, 1, 3, 1));
        assert!(snap.rss_mb > 1.0);
        s.reset();
        assert_eq!(s.snapshot(10).requests_total, 0);
    }

    #[test]
    fn cpu_time_grows_with_work() {
        let before = cpu_seconds();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(cpu_seconds() > before);
    }
}
