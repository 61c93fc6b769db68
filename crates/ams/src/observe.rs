//! What every AMS call reports when it ends: metrics, and an optional
//! [`CallObserver`] the engine uses (e.g. to compute the share of failing
//! calls before quarantining a source).
//!
//! It is done once, for every kind of source, by the [`Observed`]
//! decorator: the factory ([`crate::build`]) wraps each source and
//! credential service it builds in one, so a new kind of source cannot
//! leave the metrics, the quarantine or the dashboard blind, and does not
//! implement any of it.
//!
//! Metric names (Prometheus):
//! - `amsync_ams_calls_total{method, outcome}`: calls ended, `outcome` is
//!   `ok` or the failure kind (`transient`, `unauthorized`, `permanent`, `data`);
//! - `amsync_ams_call_seconds{method}`: time per call, including waiting for
//!   a concurrency permit or a rate slot.
//!
//! `method` is the contract part (`details`, `changed_members`, …).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_core::error::Part;
use amsync_core::group::SecurityGroupRef;
use amsync_core::{FailureKind, MemberKey, Membership};
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::source::{AmsSource, ChangedPage, CredentialService, DetailsAnswer, EventsPage, Fetched, SourceError};

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

/// A source (and credential service) whose every call is observed: the
/// metrics, and the [`CallObserver`] when one is given.
///
/// The outcome reported is the contract's classification, which the
/// trait's types already carry: an `Ok` is an answer (GetMemberDetails'
/// 404/410 is [`DetailsAnswer::Gone`], a wrong password or an unknown
/// token is `Ok(None)`), an `Err` is a failure of its
/// [`SourceError::kind`]. The time is taken around the whole call, waiting
/// for a concurrency permit or a rate slot included; how long one exchange
/// may take is the source's own timeout.
pub struct Observed<S> {
    inner: S,
    observer: Option<Arc<dyn CallObserver>>,
}

impl<S> Observed<S> {
    pub fn new(inner: S, observer: Option<Arc<dyn CallObserver>>) -> Observed<S> {
        Observed { inner, observer }
    }

    /// The source being observed.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    async fn call<T>(
        &self,
        method: Part,
        call: impl Future<Output = Result<T, SourceError>>,
    ) -> Result<T, SourceError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = result.as_ref().map(drop).map_err(SourceError::kind);
        record(self.observer.as_deref(), method, outcome, started.elapsed());
        result
    }
}

#[async_trait::async_trait]
impl<S: AmsSource> AmsSource for Observed<S> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn health(&self) -> Result<(), SourceError> {
        self.call(Part::Health, self.inner.health()).await
    }

    async fn changed_members(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<ChangedPage, SourceError> {
        self.call(Part::ChangedMembers, self.inner.changed_members(since, cursor)).await
    }

    async fn member_details(&self, key: &MemberKey) -> Result<Fetched<DetailsAnswer>, SourceError> {
        self.call(Part::Details, self.inner.member_details(key)).await
    }

    async fn member_communities(&self, key: &MemberKey) -> Result<Fetched<Vec<Membership>>, SourceError> {
        self.call(Part::Communities, self.inner.member_communities(key)).await
    }

    async fn member_groups(&self, key: &MemberKey) -> Result<Fetched<Vec<SecurityGroupRef>>, SourceError> {
        self.call(Part::SecurityGroups, self.inner.member_groups(key)).await
    }

    async fn changed_events(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<&str>,
    ) -> Result<EventsPage, SourceError> {
        self.call(Part::ChangedEvents, self.inner.changed_events(since, cursor)).await
    }
}

#[async_trait::async_trait]
impl<S: CredentialService> CredentialService for Observed<S> {
    async fn authenticate(&self, username: &str, password: &SecretString) -> Result<Option<MemberKey>, SourceError> {
        self.call(Part::Credentials, self.inner.authenticate(username, password)).await
    }

    async fn resolve_token(&self, token: &str) -> Result<Option<MemberKey>, SourceError> {
        self.call(Part::ResolveToken, self.inner.resolve_token(token)).await
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

    /// The decorator reports every call of any source with the contract's
    /// classification: a gone member and a wrong password are answers.
    #[tokio::test]
    async fn observed_reports_each_call_classified_by_the_trait() {
        use crate::memory::{Account, FixtureMember, MemoryFault, MemorySource, SourceFixture};
        use amsync_core::MemberKey;
        use secrecy::SecretString;

        let key = |s: &str| MemberKey::parse(s).unwrap();
        let mut fixture = SourceFixture::default();
        fixture.members.push(FixtureMember::new(key("M1"), chrono::Utc::now()));
        fixture.accounts.push(Account { username: "ada".into(), password: "right".into(), key: key("M1") });
        let memory = MemorySource::new(fixture);
        memory.fail(MemoryFault::unavailable(Part::SecurityGroups));
        let observer = Arc::new(Count(Mutex::new(Vec::new())));
        let src = Observed::new(memory, Some(observer.clone()));
        let capture = Capture::default();
        // The recorder is per thread: drive the calls on this one.
        let _guard = metrics::set_default_local_recorder(&capture);
        src.member_details(&key("M1")).await.unwrap();
        src.member_details(&key("M404")).await.unwrap();
        src.member_groups(&key("M1")).await.unwrap_err();
        assert_eq!(src.authenticate("ada", &SecretString::from("wrong")).await.unwrap(), None);
        assert_eq!(
            *observer.0.lock().unwrap(),
            vec![
                (Part::Details, Ok(())),
                (Part::Details, Ok(())),
                (Part::SecurityGroups, Err(FailureKind::Transient)),
                (Part::Credentials, Ok(())),
            ]
        );
        let outcomes: Vec<(String, String)> = capture
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(name, _, _)| name == CALLS_TOTAL)
            .map(|(_, labels, _)| (labels[0].1.clone(), labels[1].1.clone()))
            .collect();
        let pair = |m: &str, o: &str| (m.to_string(), o.to_string());
        assert_eq!(
            outcomes,
            [
                pair("details", "ok"),
                pair("details", "ok"),
                pair("security_groups", "transient"),
                pair("credentials", "ok")
            ]
        );
        assert_eq!(src.kind(), "memory", "the decorator keeps the kind's name");
    }
}
