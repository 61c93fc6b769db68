//! `GET /_sim/stats`: per-method counters, CPU and memory, reset.

use serde_json::json;

use crate::helpers::{small, spawn};

#[tokio::test]
async fn counters_per_method_and_reset() {
    let sim = spawn(small(10)).await;
    sim.get("/health").await;
    sim.get("/members/changed").await;
    for _ in 0..3 {
        sim.get("/members/M000001").await;
    }
    sim.get("/members/M000001/communities").await;
    sim.get_xml("/members/M000001/security-groups").await;
    sim.get("/events/changed").await;
    sim.post("/auth/credentials", json!({"username": "M000001", "password": "x"})).await;
    sim.post("/auth/resolve-token", json!({"token": "x"})).await;
    sim.post("/oauth/token", json!({})).await;
    let s = sim.json("/_sim/stats").await;
    for (field, n) in [
        ("health", 1),
        ("changed_members", 1),
        ("details", 3),
        ("communities", 1),
        ("security_groups", 1),
        ("changed_events", 1),
        ("credentials", 1),
        ("resolve_token", 1),
        ("oauth_token", 1),
        ("requests_total", 11),
        ("faults_injected", 0),
    ] {
        assert_eq!(s[field], n, "{field}");
    }
    assert!(s["cpu_seconds"].as_f64().unwrap() >= 0.0);
    assert!(s["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(s["cpu_share"].as_f64().unwrap() >= 0.0);
    assert!(s["rss_mb"].as_f64().unwrap() > 1.0);
    assert!(s["runtime_cpu_seconds"].is_null(), "no runtime of its own under start()");

    let after = sim.control("/_sim/stats/reset", json!({})).await;
    assert_eq!(after["requests_total"], 0);
    assert!(after["wall_seconds"].as_f64().unwrap() < s["wall_seconds"].as_f64().unwrap() + 1.0);
    // The in-process handle sees the same numbers.
    sim.get("/members/M000002").await;
    assert_eq!(sim.handle.stats().details, 1);
}
