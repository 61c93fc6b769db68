//! Global and targeted faults: rates roughly right over 2,000 calls,
//! targeted faults hit only their key and method, `/_sim` never faults.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{small, spawn, try_parse_xml, TestSim};

async fn set_faults(sim: &TestSim, faults: Value) {
    let r = sim.client.put(sim.url("/_sim/faults")).json(&faults).send().await.unwrap();
    assert_eq!(r.status(), 200, "PUT /_sim/faults");
}

/// Sends `n` GETs (32 at a time) and returns (status, retry-after, body, timed out).
async fn burst(
    sim: &TestSim,
    n: usize,
    xml: bool,
    timeout: Duration,
) -> Vec<(u16, Option<String>, bytes::Bytes, bool)> {
    futures::stream::iter(0..n)
        .map(|i| {
            let mut req = sim.client.get(sim.url(&format!("/members/M{:06}", i % 200 + 1))).timeout(timeout);
            if xml {
                req = req.header("accept", "application/xml");
            }
            async move {
                match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
                        (status, retry, r.bytes().await.unwrap_or_default(), false)
                    }
                    Err(e) if e.is_timeout() => (0, None, bytes::Bytes::new(), true),
                    Err(e) => panic!("{e}"),
                }
            }
        })
        .buffer_unordered(32)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_is_roughly_right() {
    let sim = spawn(small(200)).await;
    set_faults(&sim, json!({"error_rate": 0.3})).await;
    let results = burst(&sim, 2000, false, Duration::from_secs(5)).await;
    let errors: Vec<_> = results.iter().filter(|r| r.0 >= 500).collect();
    let share = errors.len() as f64 / 2000.0;
    assert!((0.25..0.35).contains(&share), "{share}");
    assert!(results.iter().all(|r| r.0 == 200 || [500, 502, 503].contains(&r.0)));
    assert!(errors.iter().any(|r| r.0 == 503 && r.1.as_deref() == Some("1")), "some carry Retry-After");
    assert!(errors.iter().any(|r| r.0 == 500 && r.1.is_none()));
    let stats = sim.json("/_sim/stats").await;
    assert_eq!(stats["faults_injected"].as_u64().unwrap(), errors.len() as u64);
    // The control API is never faulted.
    for _ in 0..50 {
        assert_eq!(sim.get("/_sim/faults").await.status(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_do_not_parse_in_either_encoding() {
    let sim = spawn(small(200)).await;
    set_faults(&sim, json!({"malformed_rate": 0.2})).await;
    for xml in [false, true] {
        let results = burst(&sim, 2000, xml, Duration::from_secs(5)).await;
        assert!(results.iter().all(|r| r.0 == 200));
        let bad = results
            .iter()
            .filter(|r| {
                if xml {
                    try_parse_xml(std::str::from_utf8(&r.2).unwrap_or("<")).is_err()
                } else {
                    serde_json::from_slice::<Value>(&r.2).is_err()
                }
            })
            .count();
        let share = bad as f64 / 2000.0;
        assert!((0.16..0.24).contains(&share), "xml {xml}: {share}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hangs_and_latency() {
    let sim = spawn(small(200)).await;
    set_faults(&sim, json!({"hang_rate": 0.1, "hang_ms": 3000})).await;
    let started = Instant::now();
    let results = burst(&sim, 2000, false, Duration::from_millis(600)).await;
    let hung = results.iter().filter(|r| r.3).count() as f64 / 2000.0;
    assert!((0.07..0.13).contains(&hung), "{hung}");
    assert!(started.elapsed() < Duration::from_secs(20));

    set_faults(&sim, json!({"latency_ms": 300})).await;
    let started = Instant::now();
    assert_eq!(sim.get("/members/M000001").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Without faults calls are quick again.
    set_faults(&sim, json!({})).await;
    let started = Instant::now();
    assert_eq!(sim.get("/members/M000001").await.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(250));
}

#[tokio::test]
async fn unauthorized_fault_spares_health_and_control() {
    let sim = spawn(small(10)).await;
    set_faults(&sim, json!({"unauthorized": true})).await;
    for path in ["/members/M000001", "/members/changed", "/events/changed", "/members/M000001/communities"] {
        assert_eq!(sim.get(path).await.status(), 401, "{path}");
    }
    let r = sim.post("/auth/credentials", json!({"username": "M000001", "password": "pw-M000001"})).await;
    assert_eq!(r.status(), 401);
    assert_eq!(sim.get("/health").await.status(), 200);
    assert_eq!(sim.json("/_sim/faults").await["unauthorized"], true);
    assert_eq!(sim.client.put(sim.url("/_sim/faults")).json(&json!({"bogus": 1})).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn targeted_faults_hit_their_key_and_method_only() {
    let sim = spawn(small(10)).await;
    set_faults(
        &sim,
        json!({"targeted": [
            {"key": "M000005", "method": "communities", "fault": "error", "count": 2},
            {"key": "M000006", "method": "details", "fault": "not_found"},
            {"key": "M000007", "fault": "unauthorized", "count": 1},
            {"key": "M000008", "method": "security_groups", "fault": "malformed", "count": 1},
            {"method": "changed_events", "fault": "hang", "count": 1},
            {"method": "changed_members", "fault": "error", "count": 1}
        ], "hang_ms": 150}),
    )
    .await;
    assert!(sim.get("/members/M000005/communities").await.status().is_server_error());
    assert_eq!(sim.get("/members/M000005").await.status(), 200);
    assert_eq!(sim.get("/members/M000004/communities").await.status(), 200);
    assert!(sim.get("/members/M000005/communities").await.status().is_server_error());
    assert_eq!(sim.get("/members/M000005/communities").await.status(), 200, "count used up");

    for _ in 0..3 {
        assert_eq!(sim.get("/members/M000006").await.status(), 404, "no count: every time");
    }
    assert_eq!(sim.get("/members/M000006/communities").await.status(), 200);

    assert_eq!(sim.get("/members/M000007/security-groups").await.status(), 401);
    assert_eq!(sim.get("/members/M000007/security-groups").await.status(), 200);

    let r = sim.get("/members/M000008/security-groups").await;
    assert_eq!(r.status(), 200);
    assert!(serde_json::from_slice::<Value>(&r.bytes().await.unwrap()).is_err());
    assert!(sim.json("/members/M000008/security-groups").await["groups"].is_array());

    let started = Instant::now();
    assert_eq!(sim.get("/events/changed").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(sim.get("/members/changed").await.status().is_server_error());
    assert_eq!(sim.get("/members/changed").await.status(), 200);

    let left = sim.json("/_sim/faults").await;
    assert_eq!(left["targeted"].as_array().unwrap().len(), 1, "{left}");
    assert_eq!(sim.json("/_sim/stats").await["faults_injected"], 9);
}
