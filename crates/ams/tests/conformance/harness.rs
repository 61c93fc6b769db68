//! What the shared suite needs from a kind of source: "given this AMS data,
//! give me a source of your kind reading it". A kind implements
//! [`Harness`] once: it puts a [`SourceFixture`] where its kind reads from
//! (a test server's documents, a database's rows, …) and builds its source
//! the way amsync does, every call reported to the observer it is given.
//! Every test of `shared/` then runs against it (see `main.rs`).

use std::any::Any;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amsync_ams::memory::SourceFixture;
use amsync_ams::{AmsSource, CallObserver, CredentialService};
use amsync_core::error::Part;
use amsync_core::{FailureKind, PayloadFormat};

/// One kind of source under test.
#[async_trait::async_trait]
pub trait Harness: Send + Sync {
    /// What the kind's sources answer to `AmsSource::kind`.
    fn kind(&self) -> &'static str;

    /// The format its raw answers are stored with.
    fn format(&self) -> PayloadFormat;

    /// Whether its listings come in pages of the fixture's page size
    /// (SOAP's do not: each listing is one answer).
    fn pages(&self) -> bool {
        true
    }

    /// Starts an AMS of this kind holding `fixture` and builds a source of
    /// it that reports every call to `observer`; the credential service
    /// too when the kind has one.
    async fn start(&self, fixture: SourceFixture, observer: Arc<dyn CallObserver>) -> Running;
}

/// A source under test and what keeps its AMS alive until the test ends.
pub struct Running {
    pub source: Arc<dyn AmsSource>,
    /// The kind's own credential service, when it has one.
    pub credentials: Option<Arc<dyn CredentialService>>,
    /// A test server, a database: dropped with the test.
    pub _keep: Box<dyn Any + Send + Sync>,
}

/// One reported call: method, outcome, latency.
pub type Call = (Part, Result<(), FailureKind>, Duration);

/// Records every call a source reports.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<Call>>);

impl Recorder {
    /// (method, outcome) of every call so far, in order.
    pub fn outcomes(&self) -> Vec<(Part, Result<(), FailureKind>)> {
        self.0.lock().unwrap().iter().map(|(m, o, _)| (*m, *o)).collect()
    }

    pub fn latencies(&self) -> Vec<Duration> {
        self.0.lock().unwrap().iter().map(|(_, _, l)| *l).collect()
    }
}

impl CallObserver for Recorder {
    fn on_call(&self, method: Part, outcome: Result<(), FailureKind>, latency: Duration) {
        self.0.lock().unwrap().push((method, outcome, latency));
    }
}

/// A source of `harness`'s kind holding `fixture`, and what it reported.
pub async fn start(harness: &dyn Harness, fixture: SourceFixture) -> (Running, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let running = harness.start(fixture, recorder.clone()).await;
    assert_eq!(running.source.kind(), harness.kind());
    (running, recorder)
}
