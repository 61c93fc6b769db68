//! Measures access decisions per second on one core.
//!
//! `cargo run --release -p amsync-core --example access_bench [ITERATIONS]`
//! prints five runs after a warm-up and, last, the best run as one JSON line
//! (the shape `amsync bench access` prints).

use amsync_core::access::bench::bench_decisions;

fn main() {
    let iterations: u64 = match std::env::args().nth(1) {
        None => 20_000_000,
        Some(s) => match s.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("usage: access_bench [ITERATIONS > 0]");
                std::process::exit(2);
            }
        },
    };
    // Warm caches and the branch predictor once, then keep the best of five.
    let _ = bench_decisions(iterations / 10 + 1);
    let mut best = bench_decisions(iterations);
    let show = |run: u32, r: &amsync_core::access::bench::BenchResult| {
        println!(
            "run {run}: {:.0} decisions/s ({:.1} ns each); {:.0}/s with the reason written",
            r.decisions_per_s, r.ns_per_decision, r.with_reason_per_s
        );
    };
    show(1, &best);
    for run in 2..=5 {
        let r = bench_decisions(iterations);
        show(run, &r);
        if r.decisions_per_s > best.decisions_per_s {
            best = r;
        }
    }
    println!("{}", serde_json::to_string(&best).expect("a BenchResult serializes"));
}
