//! `amsync sim-ams`: the simulated AMS on its own runtime, in its own
//! process (so a benchmark shows its CPU apart from amsync's). Prints
//! `listening on http://ADDR` on stdout once it accepts connections.

use std::io::Write;

use amsync_sim::{SimAuth, SimConfig};

use crate::args::SimArgs;
use crate::exit::CliResult;

pub fn config(args: &SimArgs) -> SimConfig {
    SimConfig {
        members: args.members,
        seed: args.seed,
        events: args.events,
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        hang_rate: args.hang_rate,
        malformed_rate: args.malformed_rate,
        auth: match &args.api_key {
            Some(v) => SimAuth::ApiKey { header: "X-Api-Key".into(), value: v.clone() },
            None => SimAuth::None,
        },
        prerender: args
            .prerender
            .iter()
            .map(|e| if e == "xml" { amsync_sim::Enc::Xml } else { amsync_sim::Enc::Json })
            .collect(),
        ..SimConfig::default()
    }
}

/// Runs on the calling thread, which must not be inside a tokio runtime:
/// the simulator brings its own.
pub fn run_blocking(args: SimArgs) -> CliResult<()> {
    crate::logging::init(crate::logging::LogFormat::Text, "info");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Before it listens or prints: a SIGTERM right after the start stops it cleanly.
    let mut signals = rt.block_on(async { crate::node::Signals::listen() });
    let listener = std::net::TcpListener::bind(args.listen)?;
    let workers = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let handle = amsync_sim::start_dedicated(config(&args), listener, workers)?;
    println!("listening on {}", handle.base_url());
    std::io::stdout().flush()?;
    rt.block_on(async {
        signals.stop_requested().await;
        handle.shutdown().await;
    });
    Ok(())
}

/// From the CLI's runtime: the simulator gets a plain thread of its own, so
/// its runtime does not nest in ours.
pub async fn run(args: SimArgs) -> CliResult<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run_blocking(args));
    });
    rx.await.map_err(|_| crate::exit::CliError::failure("the simulated AMS stopped abnormally"))?
}
