//! Starting and stopping: `start`, `start_dedicated`, `serve`, and that a
//! shutdown does not wait for hanging calls.

use std::time::{Duration, Instant};

use amsync_sim::SimConfig;

use crate::helpers::{small, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_hanging_calls() {
    let sim = spawn(SimConfig { hang_rate: 1.0, hang_ms: 30_000, ..small(5) }).await;
    let url = sim.url("/members/M000001");
    let client = sim.client.clone();
    let hanging = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!hanging.is_finished());
    let base = sim.handle.base_url();
    let started = Instant::now();
    sim.handle.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let _ = tokio::time::timeout(Duration::from_secs(3), hanging).await.expect("the hanging call ended");
    assert!(reqwest::get(format!("{base}/health")).await.is_err(), "no longer listening");
}

#[tokio::test]
async fn faults_given_in_the_config_apply_from_the_start() {
    let sim = spawn(SimConfig { latency_ms: 150, ..small(5) }).await;
    assert_eq!(sim.json("/_sim/faults").await["latency_ms"], 150);
    let started = Instant::now();
    assert_eq!(sim.get("/members/M000001").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn dedicated_runtime_and_serve() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let handle = amsync_sim::start_dedicated(small(5), listener, 1).unwrap();
    let r = reqwest::get(format!("{}/members/M000002", handle.base_url())).await.unwrap();
    assert_eq!(r.status(), 200);
    handle.change("M000002", &Default::default()).unwrap();
    assert_eq!(handle.truth("M000002").unwrap().version, 2);
    for _ in 0..200 {
        reqwest::get(format!("{}/members/changed", handle.base_url())).await.unwrap();
    }
    let stats = handle.stats();
    assert_eq!(stats.changed_members, 200);
    assert!(stats.runtime_cpu_seconds.unwrap() > 0.0, "{stats:?}");
    handle.shutdown().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(amsync_sim::serve(small(3), addr, async move {
        let _ = stopped.await;
    }));
    let mut answered = false;
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://{addr}/health")).await {
            answered = r.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(answered);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
}
