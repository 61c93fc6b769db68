//! The simulated AMS: serves the AMS contract (JSON and XML) from a seed,
//! with fault injection and a control API. Tests, `amsync demo`,
//! `amsync sim-ams` and the benchmarks run against it.
//!
//! - Data is deterministic: a member's details, memberships and groups
//!   depend only on (seed, index) and the day the sim started, never on the
//!   number of members. Keys are `M000001`…; the password of a member for
//!   AuthenticateCredentials is `pw-<key>`.
//! - The contract's methods are at the root of [`SimHandle::base_url`]; the
//!   control API is under `/_sim` (see `http/control.rs`), and the same
//!   operations are methods of [`Sim`] for in-process users.
//! - Speed: bodies are rendered once per member version and served as
//!   cached `Bytes` from sharded locks.

mod auth;
mod changes;
mod clock;
mod config;
mod cursor;
mod data;
mod dice;
mod error;
mod events;
mod faults;
mod generate;
mod http;
mod member_key;
mod render;
mod sim;
mod stats;
mod store;
mod truth;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use changes::ChangeRequest;
pub use config::{SimAuth, SimConfig};
pub use error::SimError;
pub use events::event_key;
pub use faults::{FaultKind, Faults, Method, TargetedFault};
pub use member_key::{member_key, parse_member_key};
pub use sim::{Sim, SimHandle};
pub use stats::SimStats;
pub use truth::MemberTruth;

/// Starts a sim on `listener` in the current tokio runtime.
pub async fn start(config: SimConfig, listener: TcpListener) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let sim = Sim::new(&config);
    let (done_tx, done) = oneshot::channel();
    let server = run_server(sim.clone(), listener);
    tokio::spawn(async move {
        server.await;
        let _ = done_tx.send(());
    });
    Ok(SimHandle { addr, sim, done: Some(done) })
}

/// Serves a sim on `addr` until `shutdown` completes (for `amsync sim-ams`).
pub async fn serve(config: SimConfig, addr: SocketAddr, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let sim = Sim::new(&config);
    tracing::info!(
        addr = %listener.local_addr()?,
        members = config.members,
        seed = config.seed,
        "simulated AMS listening"
    );
    let token = sim.state.shutdown.clone();
    let server = run_server(sim, listener);
    tokio::pin!(server);
    tokio::select! {
        _ = &mut server => return Ok(()),
        _ = shutdown => token.cancel(),
    }
    // Calls in flight finish (hanging ones stop hanging); bounded all the same.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    Ok(())
}

/// Serves a sim on its own tokio runtime with `workers` worker threads
/// (default: the number of available cores), blocking the calling thread
/// until `shutdown` completes. For callers without a runtime of their own.
pub fn serve_blocking(
    config: SimConfig,
    addr: SocketAddr,
    workers: Option<usize>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    runtime(workers)?.block_on(serve(config, addr, shutdown))
}

/// Starts a sim on a dedicated thread running its own runtime with
/// `workers` worker threads, so its CPU use can be bounded apart from the
/// caller's (e.g. one core for the sim in a benchmark).
pub fn start_dedicated(config: SimConfig, listener: std::net::TcpListener, workers: usize) -> io::Result<SimHandle> {
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let sim = Sim::new(&config);
    let rt = runtime(Some(workers))?;
    let (done_tx, done) = oneshot::channel();
    let server_sim = sim.clone();
    std::thread::Builder::new().name("amsync-sim".into()).spawn(move || {
        rt.block_on(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => run_server(server_sim, listener).await,
                Err(error) => tracing::error!(%error, "simulated AMS could not use its listener"),
            }
        });
        let _ = done_tx.send(());
    })?;
    Ok(SimHandle { addr, sim, done: Some(done) })
}

fn runtime(workers: Option<usize>) -> io::Result<tokio::runtime::Runtime> {
    let workers = workers
        .filter(|&w| w > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("amsync-sim-worker")
        .enable_all()
        .build()
}

/// Runs the HTTP server until the sim's shutdown token is cancelled.
fn run_server(sim: Sim, listener: TcpListener) -> impl Future<Output = ()> + Send + 'static {
    let token = sim.state.shutdown.clone();
    let app = http::router(sim.state.clone());
    async move {
        let listener = listener.tap_io(|tcp| {
            // Small request/response exchanges: do not wait to coalesce writes.
            let _ = tcp.set_nodelay(true);
        });
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned()).await {
            tracing::error!(%error, "simulated AMS server failed");
        }
    }
}
