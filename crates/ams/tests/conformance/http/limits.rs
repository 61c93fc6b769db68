//! The deployment-wide limits: calls in flight and calls per second.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::HttpEncoding;
use amsync_ams::{AmsSource, CredentialService};

use secrecy::SecretString;

use crate::http::support::{built, config, key, setup, source, Secrets};

async fn max_concurrency_is_honoured(encoding: HttpEncoding) {
    let (ams, _) = setup(encoding).await;
    let mut cfg = config(&ams);
    cfg.max_concurrency = 3;
    // The source's own credential service shares the same limit.
    let built = built(&cfg, None);
    let (src, credentials) = (built.source, built.credentials.expect("the source's own service"));
    ams.set_delay(Duration::from_millis(100));
    let calls = (0..12).map(|i| {
        let (src, credentials) = (src.clone(), credentials.clone());
        tokio::spawn(async move {
            if i % 2 == 0 {
                src.member_groups(&key("M000123")).await.map(|_| ())
            } else {
                credentials.authenticate("ada", &SecretString::from("right-password")).await.map(|_| ())
            }
        })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(ams.hits().len(), 12);
    assert_eq!(ams.state.max_in_flight.load(Ordering::SeqCst), 3);
}

async fn max_rate_is_honoured(encoding: HttpEncoding) {
    let (ams, _) = setup(encoding).await;
    let mut cfg = config(&ams);
    cfg.max_rate = 20;
    let src = Arc::new(source(&cfg, &mut Secrets::default()));
    let calls = (0..25).map(|_| {
        let src = src.clone();
        tokio::spawn(async move { src.member_groups(&key("M000123")).await.map(|_| ()) })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    let times: Vec<_> = ams.hits().iter().map(|h| h.at).collect();
    assert_eq!(times.len(), 25);
    // 20/s with no burst: 25 calls take at least 24 intervals of 50 ms…
    let span = *times.iter().max().unwrap() - *times.iter().min().unwrap();
    assert!(span >= Duration::from_millis(1100), "25 calls within {span:?}");
    // …and no 500 ms window holds more than 1 + 10 calls (one of slack for timer jitter).
    let window = Duration::from_millis(500);
    let busiest = times.iter().map(|t| times.iter().filter(|u| **u >= *t && **u - *t < window).count()).max().unwrap();
    assert!(busiest <= 12, "{busiest} calls in one {window:?} window");
}

crate::both!(max_concurrency_is_honoured, max_rate_is_honoured);
