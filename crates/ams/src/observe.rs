//! What every AMS call reports when it ends: metrics, and an optional
//! [`CallObserver`] the engine uses (e.g. to compute the share of failing
//! calls before quarantining a source).
//!
//! Metric names (Prometheus):
//! - `amsync_ams_calls_total{method, outcome}`: calls ended, `outcome` is
//!   `ok` or the failure kind (`transient`, `unauthorized`, `permanent`, `data`);
//! - `amsync_ams_call_seconds{method}`: time per call, including waiting for
//!   a concurrency permit or a rate slot.
//!
//! `method` is the contract part (`details`, `changed_members`, …).

use std::time::Duration;

use amsync_core::error::Part;
use amsync_core::FailureKind;

pub const CALLS_TOTAL: &str = "amsync_ams_calls_total";
pub const CALL_SECONDS: &str = "amsync_ams_call_seconds";

/// Told about every call of a source after it ends.
pub trait CallObserver: Send + Sync + 'static {
    /// `outcome` is `Ok` for an answer the contract allows (a 404 on
    /// details and a 401 on a credential check are answers), else the kind
    /// of failure.
    fn on_call(&self, method: Part, outcome: Result<(), FailureKind>, latency: Duration);
}

pub(crate) fn record(
    observer: Option<&dyn CallObserver>,
    method: Part,
    outcome: Result<(), FailureKind>,
    latency: Duration,
) {
    let label = match outcome {
        Ok(()) => "ok",
        Err(kind) => kind.as_str(),
    };
    metrics::counter!(CALLS_TOTAL, "method" => method.as_str(), "outcome" => label).increment(1);
    metrics::histogram!(CALL_SECONDS, "method" => method.as_str()).record(latency.as_secs_f64());
    if let Some(o) = observer {
        o.on_call(method, outcome, latency);
    }
}
