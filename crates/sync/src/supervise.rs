//! The supervisor of a node's long-lived tasks: the periodic poll, the
//! events sync, the workers (with their claimer), the upkeep (lease
//! renewal, rescue, heartbeat, quarantine probe), the reachability probe,
//! and in `serve` the retention task, the SIGHUP reloader and the web
//! server.
//!
//! A task is spawned from a *factory* (a closure that makes its future).
//! When the task panics, or ends before it was asked to stop, the failure
//! is logged, counted in `amsync_task_restarts_total{task}` and kept for
//! the status (`/api/v1/sync/status`, the dashboard, and through the
//! node's heartbeat `amsync status`), and the factory makes a new one
//! after a pause: `first_backoff`, doubled at each failure in a row up to
//! `max_backoff`, and back to `first_backoff` once a task ran that long
//! without failing. A task is never silently gone; nor does a task that
//! fails at once spin.
//!
//! Task names come from a fixed set ([`TaskName`]), so the metric's label
//! cannot grow.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amsync_store::TaskRestarts;
use chrono::Utc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest failure message kept (the panic's message, escaped).
const MAX_FAILURE_CHARS: usize = 300;

/// The long-lived tasks of a node: the metric's label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskName {
    /// The periodic refresh's scheduler (`poll.rs`).
    PeriodicPoll,
    /// The events sync's scheduler.
    EventsSync,
    /// The workers and their claimer.
    Workers,
    /// Lease renewal, rescue of expired leases, the heartbeat, following
    /// the paused state, the quarantine and its probe.
    Upkeep,
    /// The cached AMS probe.
    Reachability,
    /// Pruning by `[retention]`.
    Retention,
    /// Reloading the `*_file` secrets on SIGHUP.
    SecretReload,
    /// The HTTP server (API, dashboard, sign-on).
    WebServer,
    /// `amsync demo`'s simulated changes.
    DemoChanges,
}

impl TaskName {
    pub const ALL: [TaskName; 9] = [
        TaskName::PeriodicPoll,
        TaskName::EventsSync,
        TaskName::Workers,
        TaskName::Upkeep,
        TaskName::Reachability,
        TaskName::Retention,
        TaskName::SecretReload,
        TaskName::WebServer,
        TaskName::DemoChanges,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskName::PeriodicPoll => "periodic_poll",
            TaskName::EventsSync => "events_sync",
            TaskName::Workers => "workers",
            TaskName::Upkeep => "upkeep",
            TaskName::Reachability => "reachability",
            TaskName::Retention => "retention",
            TaskName::SecretReload => "secret_reload",
            TaskName::WebServer => "web_server",
            TaskName::DemoChanges => "demo_changes",
        }
    }
}

/// The pause before restarting a failed task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupervisorSettings {
    /// After a task's first failure (in a row).
    pub first_backoff: Duration,
    /// The longest pause; a task that ran this long starts over from `first_backoff`.
    pub max_backoff: Duration,
}

impl Default for SupervisorSettings {
    fn default() -> Self {
        SupervisorSettings { first_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(60) }
    }
}

/// Restarts failed tasks and remembers their failures. Cheap to share.
#[derive(Debug)]
pub struct Supervisor {
    settings: SupervisorSettings,
    restarts: Mutex<BTreeMap<TaskName, TaskRestarts>>,
}

impl Supervisor {
    pub fn new(settings: SupervisorSettings) -> Arc<Supervisor> {
        Arc::new(Supervisor { settings, restarts: Mutex::new(BTreeMap::new()) })
    }

    /// Runs `factory()`'s task until `stop` is cancelled, making a new one
    /// each time it fails. The handle ends when the task ended after
    /// `stop`, or when `stop` came during a pause.
    pub fn spawn<F, Fut>(self: &Arc<Self>, task: TaskName, stop: CancellationToken, factory: F) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // Registered at zero, so a rate or an alert sees the series from the start.
        metrics::counter!("amsync_task_restarts_total", "task" => task.as_str()).increment(0);
        let me = self.clone();
        tokio::spawn(async move { me.supervise(task, stop, factory).await })
    }

    async fn supervise<F, Fut>(&self, task: TaskName, stop: CancellationToken, mut factory: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut backoff = self.settings.first_backoff;
        loop {
            let started = tokio::time::Instant::now();
            // Its own tokio task, so a panic ends there and comes back as a JoinError.
            let failure = match tokio::spawn(factory()).await {
                Ok(()) if stop.is_cancelled() => return,
                Ok(()) => "the task ended without being asked to stop".to_string(),
                Err(e) if e.is_panic() => format!("panicked: {}", panic_message(e.into_panic())),
                // Cancelled: the runtime is shutting down.
                Err(_) => return,
            };
            if stop.is_cancelled() {
                tracing::error!(task = task.as_str(), failure = %escape(&failure), "a task failed while stopping");
                return;
            }
            if started.elapsed() >= self.settings.max_backoff {
                backoff = self.settings.first_backoff;
            }
            let restarts = self.record(task, &failure);
            metrics::counter!("amsync_task_restarts_total", "task" => task.as_str()).increment(1);
            tracing::error!(
                task = task.as_str(),
                failure = %escape(&failure),
                restarts,
                restart_in_ms = backoff.as_millis() as u64,
                "a long-lived task failed; it is restarted after a pause"
            );
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = backoff.saturating_mul(2).min(self.settings.max_backoff);
        }
    }

    fn record(&self, task: TaskName, failure: &str) -> u64 {
        let mut all = self.restarts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(task).or_insert_with(|| TaskRestarts {
            task: task.as_str().to_string(),
            restarts: 0,
            last_failure_at: Utc::now(),
            last_failure: String::new(),
        });
        entry.restarts += 1;
        entry.last_failure_at = Utc::now();
        entry.last_failure = escape(failure);
        entry.restarts
    }

    /// The tasks that failed and were restarted, by name.
    pub fn restarts(&self) -> Vec<TaskRestarts> {
        self.restarts.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }
}

/// The message a panic carried (`panic!("…")`, `expect`, an overflow).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => s.to_string(),
            Err(_) => "a panic without a message".to_string(),
        },
    }
}

/// Control characters escaped (a message may quote outside text and goes
/// into logs and pages), at most [`MAX_FAILURE_CHARS`] characters.
fn escape(message: &str) -> String {
    let mut out = String::new();
    for (i, c) in message.chars().enumerate() {
        if i == MAX_FAILURE_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn quick() -> SupervisorSettings {
        SupervisorSettings { first_backoff: Duration::from_millis(40), max_backoff: Duration::from_millis(160) }
    }

    // Paused time: the supervisor's pauses pass at once, measured exactly.
    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_after_growing_pauses_and_counted() {
        let supervisor = Supervisor::new(quick());
        let stop = CancellationToken::new();
        let starts = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(AtomicU32::new(0));
        let (healthy_tx, healthy) = tokio::sync::oneshot::channel::<()>();
        let healthy_tx = Arc::new(Mutex::new(Some(healthy_tx)));
        let handle = {
            let (starts, attempts, stop_seen) = (starts.clone(), attempts.clone(), stop.clone());
            supervisor.spawn(TaskName::PeriodicPoll, stop.clone(), move || {
                starts.lock().unwrap().push(tokio::time::Instant::now());
                let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                let (stop, healthy_tx) = (stop_seen.clone(), healthy_tx.clone());
                async move {
                    if n <= 3 {
                        panic!("attempt {n} failed\nforged log line");
                    }
                    if let Some(tx) = healthy_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    stop.cancelled().await;
                }
            })
        };
        tokio::time::timeout(Duration::from_secs(10), healthy).await.expect("restarted in time").unwrap();
        let restarts = supervisor.restarts();
        assert_eq!(restarts.len(), 1);
        assert_eq!((restarts[0].task.as_str(), restarts[0].restarts), ("periodic_poll", 3));
        assert_eq!(restarts[0].last_failure, "panicked: attempt 3 failed\\nforged log line", "escaped");
        let starts = starts.lock().unwrap().clone();
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        for (gap, pause) in gaps.iter().zip([40, 80, 160]) {
            assert!(*gap >= Duration::from_millis(pause), "a pause of {pause} ms at least: {gaps:?}");
        }
        stop.cancel();
        tokio::time::timeout(Duration::from_secs(5), handle).await.expect("stops").unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 4, "no restart after the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_unasked_is_restarted_and_one_stopped_is_not() {
        let supervisor = Supervisor::new(quick());
        let stop = CancellationToken::new();
        let attempts = Arc::new(AtomicU32::new(0));
        let handle = {
            let (attempts, stop_seen) = (attempts.clone(), stop.clone());
            supervisor.spawn(TaskName::Retention, stop.clone(), move || {
                let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                let stop = stop_seen.clone();
                async move {
                    if n > 1 {
                        stop.cancelled().await;
                    }
                }
            })
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while attempts.load(Ordering::SeqCst) < 2 {
            assert!(tokio::time::Instant::now() < deadline, "restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let restarts = supervisor.restarts();
        assert_eq!(restarts[0].restarts, 1);
        assert!(restarts[0].last_failure.contains("ended without being asked"), "{restarts:?}");
        stop.cancel();
        handle.await.unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn messages_are_escaped_and_bounded() {
        assert_eq!(escape("a\u{1b}[31mb\r\n"), "a\\u{1b}[31mb\\r\\n");
        let long = escape(&"x".repeat(1000));
        assert_eq!(long.chars().count(), MAX_FAILURE_CHARS + 1);
        let names: std::collections::HashSet<_> = TaskName::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), TaskName::ALL.len());
    }
}
