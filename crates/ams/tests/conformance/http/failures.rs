//! Classification: timeout, connection errors, 5xx and 429 are transient
//! (with `Retry-After`); 401/403 unauthorized; 404/410 on details are
//! answers; other 4xx, and 404 elsewhere, permanent. Sources never retry.

use std::time::{Duration, Instant, SystemTime};

use amsync_ams::HttpEncoding;
use amsync_ams::{AmsConfig, AmsSource, DetailsAnswer, SourceError};
use amsync_core::error::Part;
use amsync_core::FailureKind;

use crate::http::server::Script;
use crate::http::support::{config, key, setup, source, Secrets};

async fn a_slow_answer_is_a_transient_timeout(encoding: HttpEncoding) {
    let (ams, _) = setup(encoding).await;
    let mut cfg = config(&ams);
    cfg.timeout = Duration::from_millis(300);
    let src = source(&cfg, &mut Secrets::default());
    ams.set_delay(Duration::from_secs(3));
    let started = Instant::now();
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!((e.kind(), e.part()), (FailureKind::Transient, Part::Details));
    assert!(e.to_string().contains("did not answer"), "{e}");
    assert_eq!(ams.hits().len(), 1, "no retry inside the source");
}

async fn a_connection_error_is_transient(encoding: HttpEncoding) {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = url::Url::parse(&format!("http://{}/api?code=Q-SECRET", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let mut cfg = AmsConfig::http(encoding.kind(), url);
    cfg.timeout = Duration::from_secs(2);
    let src = source(&cfg, &mut Secrets::default());
    let e = src.changed_members(None, None).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Transient, Part::ChangedMembers));
    assert!(e.to_string().contains("could not connect"), "{e}");
    assert!(!format!("{e}{e:?}").contains("Q-SECRET"), "the query leaked: {e}");
}

async fn server_errors_and_429_are_transient_with_retry_after(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    for (status, retry_after, expected) in [
        (500, None, None),
        (503, Some("30"), Some(30..=30)),
        (429, Some("7"), Some(7..=7)),
        (503, Some(date.as_str()), Some(110..=121)),
        (502, Some("soon"), None),
    ] {
        let mut script = Script::new("/members/M000123", status, "busy, try later").times(1);
        if let Some(v) = retry_after {
            script = script.header("retry-after", v);
        }
        ams.script(script);
        let e = src.member_details(&key("M000123")).await.unwrap_err();
        let SourceError::Transient { status: got, retry_after, excerpt, .. } = &e else { panic!("{e:?}") };
        assert_eq!(*got, Some(status));
        assert_eq!(excerpt.as_deref(), Some("busy, try later"));
        match expected {
            None => assert_eq!(*retry_after, None, "HTTP {status}"),
            Some(range) => assert!(range.contains(&retry_after.unwrap().as_secs()), "HTTP {status}: {retry_after:?}"),
        }
        assert_eq!(e.retry_after(), *retry_after);
    }
}

async fn refusals_of_our_credentials_are_unauthorized(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    for status in [401, 403] {
        ams.script(Script::new("/members/", status, "denied").times(4));
        let k = key("M000123");
        let errors = [
            src.member_details(&k).await.unwrap_err(),
            src.member_communities(&k).await.unwrap_err(),
            src.member_groups(&k).await.unwrap_err(),
            src.changed_members(None, None).await.unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.kind(), FailureKind::Unauthorized, "{e:?}");
            assert_eq!(e.to_failure().status, Some(status));
        }
    }
}

async fn gone_members_are_answers(encoding: HttpEncoding) {
    let (_ams, src) = setup(encoding).await;
    let gone = src.member_details(&key("M000404")).await.unwrap();
    assert_eq!(gone.value, DetailsAnswer::Gone { status: 404, merged_into: None });
    let merged = src.member_details(&key("M000555")).await.unwrap();
    assert_eq!(merged.value, DetailsAnswer::Gone { status: 410, merged_into: Some(key("M000999")) });
}

async fn a_410_without_a_usable_body_is_still_gone(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    for body in ["", "<html>Gone</html>"] {
        ams.script(Script::new("/members/M000123", 410, body).times(1));
        let gone = src.member_details(&key("M000123")).await.unwrap();
        assert_eq!(gone.value, DetailsAnswer::Gone { status: 410, merged_into: None });
    }
}

async fn other_refusals_are_permanent(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let e = src.member_communities(&key("M000404")).await.unwrap_err();
    assert_eq!((e.kind(), e.part(), e.to_failure().status), (FailureKind::Permanent, Part::Communities, Some(404)));
    let e = src.member_groups(&key("M000404")).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Permanent, Part::SecurityGroups));
    ams.script(Script::new("/members/M000123", 400, "bad request").times(1));
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!((e.kind(), e.to_failure().status), (FailureKind::Permanent, Some(400)));
    // Redirects are not followed (they would carry our credentials along).
    ams.script(Script::new("/members/changed", 302, "").header("location", "http://127.0.0.1:1/elsewhere").times(1));
    let e = src.changed_members(None, None).await.unwrap_err();
    assert_eq!((e.kind(), e.to_failure().status), (FailureKind::Permanent, Some(302)));
}

crate::both!(
    a_slow_answer_is_a_transient_timeout,
    a_connection_error_is_transient,
    server_errors_and_429_are_transient_with_retry_after,
    refusals_of_our_credentials_are_unauthorized,
    gone_members_are_answers,
    a_410_without_a_usable_body_is_still_gone,
    other_refusals_are_permanent,
);
