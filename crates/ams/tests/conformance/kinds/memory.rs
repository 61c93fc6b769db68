//! The harness of the in-memory source: the fixture is its data, and the
//! decorator every kind gets from the factory observes it.

use std::sync::Arc;

use amsync_ams::memory::{MemorySource, SourceFixture};
use amsync_ams::{CallObserver, Observed};
use amsync_core::PayloadFormat;

use crate::harness::{Harness, Running};

pub struct MemoryHarness;

#[async_trait::async_trait]
impl Harness for MemoryHarness {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn format(&self) -> PayloadFormat {
        PayloadFormat::JSON
    }

    async fn start(&self, fixture: SourceFixture, observer: Arc<dyn CallObserver>) -> Running {
        let memory = Arc::new(MemorySource::new(fixture));
        let source = Arc::new(Observed::new(memory.clone(), Some(observer.clone())));
        let credentials = Arc::new(Observed::new(memory, Some(observer)));
        Running { source, credentials: Some(credentials), _keep: Box::new(()) }
    }
}
