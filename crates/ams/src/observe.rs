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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use metrics::{
        Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use super::*;

    /// One metric update: name, labels, value.
    type Update = (String, Vec<(String, String)>, f64);

    /// Records every update.
    #[derive(Default, Clone)]
    struct Capture(Arc<Mutex<Vec<Update>>>);

    struct Handle(Capture, Key);

    impl Handle {
        fn push(&self, value: f64) {
            let labels = self.1.labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
            self.0 .0.lock().unwrap().push((self.1.name().to_string(), labels, value));
        }
    }

    impl CounterFn for Handle {
        fn increment(&self, value: u64) {
            self.push(value as f64);
        }
        fn absolute(&self, value: u64) {
            self.push(value as f64);
        }
    }

    impl HistogramFn for Handle {
        fn record(&self, value: f64) {
            self.push(value);
        }
    }

    impl Recorder for Capture {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Handle(self.clone(), key.clone())))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::noop()
        }
        fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::from_arc(Arc::new(Handle(self.clone(), key.clone())))
        }
    }

    struct Count(Mutex<Vec<(Part, Result<(), FailureKind>)>>);

    impl CallObserver for Count {
        fn on_call(&self, method: Part, outcome: Result<(), FailureKind>, _: Duration) {
            self.0.lock().unwrap().push((method, outcome));
        }
    }

    #[test]
    fn a_call_updates_both_metrics_and_the_observer() {
        let capture = Capture::default();
        let observer = Count(Mutex::new(Vec::new()));
        metrics::with_local_recorder(&capture, || {
            record(Some(&observer), Part::Details, Ok(()), Duration::from_millis(250));
            record(None, Part::Communities, Err(FailureKind::Transient), Duration::from_millis(5));
        });
        let seen = capture.0.lock().unwrap().clone();
        let label = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            seen,
            vec![
                (CALLS_TOTAL.into(), vec![label("method", "details"), label("outcome", "ok")], 1.0),
                (CALL_SECONDS.into(), vec![label("method", "details")], 0.25),
                (CALLS_TOTAL.into(), vec![label("method", "communities"), label("outcome", "transient")], 1.0),
                (CALL_SECONDS.into(), vec![label("method", "communities")], 0.005),
            ]
        );
        assert_eq!(*observer.0.lock().unwrap(), vec![(Part::Details, Ok(()))]);
    }
}
