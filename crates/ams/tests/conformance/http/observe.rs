//! Every call is reported to the `CallObserver`, and debug logs carry the
//! method, status and key but never a secret.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amsync_ams::{AmsSource, CredentialService, HttpEncoding};
use amsync_core::error::Part;
use amsync_core::FailureKind;
use secrecy::SecretString;

use crate::harness::Recorder;
use crate::http::server::{Script, ServerAuth};
use crate::http::support::{api_key, built, config, key, setup, source, Secrets};

/// What the factory builds reports every call, and times it around the
/// whole exchange (here a server that takes 20 ms to answer).
async fn every_call_is_reported_to_the_observer(encoding: HttpEncoding) {
    let (ams, _) = setup(encoding).await;
    let recorder = Arc::new(Recorder::default());
    let built = built(&config(&ams), Some(recorder.clone()));
    let (src, credentials) = (built.source, built.credentials.expect("the source's own service"));
    ams.set_delay(Duration::from_millis(20));
    src.member_details(&key("M000123")).await.unwrap();
    src.member_details(&key("M000404")).await.unwrap();
    src.member_communities(&key("M000404")).await.unwrap_err();
    ams.script(Script::new("/security-groups", 200, "garbage").times(1));
    src.member_groups(&key("M000123")).await.unwrap_err();
    ams.script(Script::new("/members/changed", 503, "busy").times(1));
    src.changed_members(None, None).await.unwrap_err();
    credentials.authenticate("ada", &SecretString::from("wrong")).await.unwrap();
    assert_eq!(
        recorder.outcomes(),
        [
            (Part::Details, Ok(())),
            (Part::Details, Ok(())),
            (Part::Communities, Err(FailureKind::Permanent)),
            (Part::SecurityGroups, Err(FailureKind::Data)),
            (Part::ChangedMembers, Err(FailureKind::Transient)),
            (Part::Credentials, Ok(())),
        ]
    );
    assert!(recorder.latencies().iter().all(|latency| *latency >= Duration::from_millis(20)));
}

/// A log sink for one test.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn debug_logs_name_the_call_but_no_secret(encoding: HttpEncoding) {
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Callsites first seen by a parallel test's thread may have cached that
    // no subscriber wants them; have them ask again, this one included.
    tracing::callsite::rebuild_interest_cache();

    let (ams, _) = setup(encoding).await;
    ams.set_auth(ServerAuth::ApiKey { header: "X-Api-Key".into(), value: "KEY-SECRET-42".into() });
    let mut cfg = config(&ams);
    cfg.base_url = Some(ams.url.join("api?code=QUERY-SECRET-7").unwrap());
    cfg.auth = Some(api_key("X-Api-Key", "AMS_KEY"));
    let src = source(&cfg, &mut Secrets::with("AMS_KEY", "KEY-SECRET-42"));
    src.member_details(&key("M000123")).await.unwrap();
    src.authenticate("ada", &SecretString::from("PASS-SECRET-9")).await.unwrap();
    ams.script(Script::new("/members/", 500, "boom").times(1));
    src.member_details(&key("M000123")).await.unwrap_err();
    assert!(ams.hits()[0].query.as_deref() == Some("code=QUERY-SECRET-7"), "the base URL's query is kept");

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("AMS call answered"), "{logs}");
    assert!(logs.contains("method=\"details\"") || logs.contains("method=details"), "{logs}");
    assert!(logs.contains("M000123") && logs.contains("status=500"), "{logs}");
    for secret in ["KEY-SECRET-42", "QUERY-SECRET-7", "PASS-SECRET-9"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs:\n{logs}");
    }
}

crate::both!(every_call_is_reported_to_the_observer, debug_logs_name_the_call_but_no_secret);
