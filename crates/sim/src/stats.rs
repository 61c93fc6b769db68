//! Request counters and the sim's own resource use (`GET /_sim/stats`), so
//! a benchmark can tell the sim's CPU apart from amsync's.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Requests of any path that came over HTTP/2 (the rest were HTTP/1.x).
    #[serde(default)]
    pub http2_requests: u64,
    /// Members ever created, deleted and merged ones included.
    pub members: u64,
    /// CPU time of the sim's own runtime threads, when it runs on a runtime
    /// of its own (`start_dedicated`, `serve_blocking`): the sim's share
    /// even when it shares its process with amsync. `None` otherwise.
    pub runtime_cpu_seconds: Option<f64>,
    /// `runtime_cpu_seconds / wall_seconds`.
    pub runtime_cpu_share: Option<f64>,
}

/// Where the counting period started: wall clock, process CPU, runtime CPU.
#[derive(Clone, Copy)]
struct Baseline {
    wall: Instant,
    cpu: f64,
    runtime_cpu: f64,
}

pub struct Stats {
    counters: [AtomicU64; COUNTED],
    faults: AtomicU64,
    http2: AtomicU64,
    since: Mutex<Baseline>,
    runtime: Option<Arc<RuntimeCpu>>,
}

impl Stats {
    /// Counters for a sim whose runtime's threads report to `runtime`, if any.
    pub fn new(runtime: Option<Arc<RuntimeCpu>>) -> Self {
        let runtime_cpu = runtime.as_ref().map_or(0.0, |r| r.seconds());
        Stats {
            counters: Default::default(),
            faults: AtomicU64::new(0),
            http2: AtomicU64::new(0),
            since: Mutex::new(Baseline { wall: Instant::now(), cpu: cpu_seconds(), runtime_cpu }),
            runtime,
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

    pub fn http2_request(&self) {
        self.http2.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        for c in &self.counters {
            c.store(0, Ordering::Relaxed);
        }
        self.faults.store(0, Ordering::Relaxed);
        self.http2.store(0, Ordering::Relaxed);
        let runtime_cpu = self.runtime.as_ref().map_or(0.0, |r| r.seconds());
        *since = Baseline { wall: Instant::now(), cpu: cpu_seconds(), runtime_cpu };
    }

    pub fn snapshot(&self, members: u64) -> SimStats {
        let base = *self.since.lock().unwrap_or_else(|e| e.into_inner());
        let wall = base.wall.elapsed().as_secs_f64();
        let cpu = (cpu_seconds() - base.cpu).max(0.0);
        let runtime_cpu = self.runtime.as_ref().map(|r| (r.seconds() - base.runtime_cpu).max(0.0));
        let share = |c: f64| if wall > 0.0 { c / wall } else { 0.0 };
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
            cpu_share: share(cpu),
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
            http2_requests: self.http2.load(Ordering::Relaxed),
            members,
            runtime_cpu_seconds: runtime_cpu,
            runtime_cpu_share: runtime_cpu.map(share),
        }
    }
}

thread_local! {
    /// Thread CPU time (ns) when this runtime thread last started working.
    static BUSY_SINCE: Cell<Option<u64>> = const { Cell::new(None) };
}

/// CPU time used by the threads of one tokio runtime, summed from the
/// runtime's thread hooks: a worker's busy span runs from unpark to park.
#[derive(Default)]
pub struct RuntimeCpu {
    nanos: AtomicU64,
}

impl RuntimeCpu {
    /// Installs the hooks that report this runtime's threads' CPU time.
    pub fn instrument(self: &Arc<Self>, builder: &mut tokio::runtime::Builder) {
        let (a, b, c, d) = (Arc::clone(self), Arc::clone(self), Arc::clone(self), Arc::clone(self));
        builder
            .on_thread_start(move || a.begin())
            .on_thread_unpark(move || b.begin())
            .on_thread_park(move || c.end())
            .on_thread_stop(move || d.end());
    }

    fn begin(&self) {
        BUSY_SINCE.with(|b| b.set(Some(thread_cpu_nanos())));
    }

    fn end(&self) {
        if let Some(start) = BUSY_SINCE.with(Cell::take) {
            self.nanos.fetch_add(thread_cpu_nanos().saturating_sub(start), Ordering::Relaxed);
        }
    }

    /// CPU seconds of completed busy spans (a span still running is counted
    /// when its thread next parks, at most one span per thread late).
    pub fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// CPU time of the calling thread, in nanoseconds.
fn thread_cpu_nanos() -> u64 {
    // SAFETY: clock_gettime only writes into the struct we pass it.
    unsafe {
        let mut t: libc::timespec = std::mem::zeroed();
        if libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) != 0 {
            return 0;
        }
        t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
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
        let s = Stats::new(None);
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
    fn a_dedicated_runtime_reports_its_threads_cpu() {
        let cpu = Arc::new(RuntimeCpu::default());
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(1).enable_all();
        cpu.instrument(&mut builder);
        let rt = builder.build().unwrap();
        rt.block_on(async {
            tokio::spawn(async {
                let mut x = 0u64;
                for i in 0..50_000_000u64 {
                    x = x.wrapping_mul(31).wrapping_add(i);
                }
                std::hint::black_box(x);
            })
            .await
            .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        });
        drop(rt);
        assert!(cpu.seconds() > 0.0);
        let stats = Stats::new(Some(cpu));
        assert_eq!(stats.snapshot(0).runtime_cpu_seconds, Some(0.0));
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
