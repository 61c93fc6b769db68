//! A standalone simulated AMS, for load tests with an outside client:
//!
//! ```text
//! cargo run --release -p amsync-sim --example sim_ams -- --members 100000 --workers 1 --listen 127.0.0.1:8099
//! ```
//! Stops on Ctrl-C.

use amsync_sim::SimConfig;

fn main() -> std::io::Result<()> {
    let mut config = SimConfig::default();
    let mut listen = "127.0.0.1:8099".to_string();
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--members" => config.members = value.parse().expect("--members N"),
            "--seed" => config.seed = value.parse().expect("--seed S"),
            "--workers" => workers = Some(value.parse().expect("--workers N")),
            "--listen" => listen = value,
            "--latency-ms" => config.latency_ms = value.parse().expect("--latency-ms L"),
            "--error-rate" => config.error_rate = value.parse().expect("--error-rate R"),
            other => panic!("unknown flag {other}"),
        }
    }
    let addr = listen.parse().expect("--listen ADDR");
    println!("simulated AMS on http://{addr} ({} members)", config.members);
    amsync_sim::serve_blocking(config, addr, workers, async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
