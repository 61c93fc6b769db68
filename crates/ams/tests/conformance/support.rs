//! Helpers of the conformance suite: fixtures, configs, sources, `both!`.

use std::time::Duration;

use amsync_ams::{HttpSource, HttpSourceConfig, SourceError};
use amsync_core::Encoding;

use crate::server::TestAms;

/// Expands `check(Encoding)` into the tests `check::json` and `check::xml`.
#[macro_export]
macro_rules! both {
    ($($check:ident),+ $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn json() {
                super::$check(amsync_core::Encoding::Json).await
            }
            #[tokio::test]
            async fn xml() {
                super::$check(amsync_core::Encoding::Xml).await
            }
        }
    )+};
}

/// A fixture file's bytes (`tests/fixtures/{json,xml}/NAME.{json,xml}`).
pub fn fixture(encoding: Encoding, name: &str) -> Vec<u8> {
    let ext = encoding.as_str();
    let path = format!("{}/tests/fixtures/{ext}/{name}.{ext}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Test-sized settings: short timeout, no auth.
pub fn config(ams: &TestAms) -> HttpSourceConfig {
    let mut cfg = HttpSourceConfig::new(ams.url.clone());
    cfg.timeout = Duration::from_secs(5);
    cfg.user_agent = "amsync-conformance".into();
    cfg
}

pub fn source(ams: &TestAms, cfg: HttpSourceConfig) -> HttpSource {
    HttpSource::new(cfg, ams.encoding).expect("the test config builds")
}

/// A test AMS of `encoding` and a default source for it.
pub async fn setup(encoding: Encoding) -> (TestAms, HttpSource) {
    let ams = TestAms::start(encoding).await;
    let src = source(&ams, config(&ams));
    (ams, src)
}

pub fn key(s: &str) -> amsync_core::MemberKey {
    amsync_core::MemberKey::parse(s).unwrap()
}

/// Unwraps a data error into (field, message, excerpt).
pub fn data_error(e: SourceError) -> (String, String, Option<String>) {
    match e {
        SourceError::Data { error, excerpt } => (error.field.clone(), error.to_string(), excerpt),
        other => panic!("expected a data error, got {other:?}"),
    }
}
