//! The simulated AMS: serves the AMS contract (JSON and XML) from a seed,
//! with fault injection and a control API. Tests, `amsync demo`,
//! `amsync sim-ams` and the benchmarks run against it.
//!
//! **Data.** Deterministic: a member's details, memberships and groups
//! depend only on (seed, index) and the day the sim started (terms are
//! relative to it), never on the number of members. Keys are `M000001`…;
//! AuthenticateCredentials takes the member's e-mail (any case) or key with
//! the password `pw-<key>`. Initial `changed_at` values lie in the 30 days
//! before midnight UTC of the start day.
//!
//! **Contract** (at the root of [`SimHandle::base_url`]; XML with
//! `Accept: application/xml`, JSON otherwise): `GET /health`,
//! `GET /members/changed?since=&cursor=`, `GET /members/{key}`,
//! `GET /members/{key}/communities`, `GET /members/{key}/security-groups`,
//! `GET /events/changed?since=&cursor=`, `POST /auth/credentials`,
//! `POST /auth/resolve-token`, and `POST /oauth/token` in OAuth 2.0 mode;
//! the same data in the SOAP 1.1 RefreshService dialect at
//! `POST /RefreshService.asmx` ([`soap`]: the `securityKey` is the API key
//! when the sim wants one, faults are SOAP faults).
//! The changed listings are ordered by (changed_at, change sequence), so a
//! change made while a client pages always lands after its cursor; a `since`
//! listing also reports deleted and merged members (their removal is a
//! change), the full listing only members that still exist.
//!
//! **Control API** (`/_sim`, JSON, never authenticated or faulted), each
//! also a method of [`Sim`]:
//! `GET /_sim/members/{key}` and `GET /_sim/truth` ([`MemberTruth`]),
//! `POST /_sim/members` (create; optional [`ChangeRequest`] body),
//! `POST /_sim/members/{key}/change` (optional [`ChangeRequest`]; `{}` is a
//! random realistic change), `POST /_sim/members/{key}/delete`,
//! `POST /_sim/members/{key}/merge {"into"}`, `POST /_sim/churn {"count"}` →
//! `{"changed": [keys]}`, `GET /_sim/events`, `POST /_sim/events/{key}/change`
//! (optional body: event fields to set), `POST /_sim/events/{key}/cancel`,
//! `POST /_sim/tokens {"key"}` → `{"token"}`, `GET`/`PUT /_sim/faults`
//! ([`Faults`]), `GET`/`PUT /_sim/auth` ([`SimAuth`]: the credential
//! callers must present, replaced to rotate it), `GET /_sim/stats`
//! ([`SimStats`]), `POST /_sim/stats/reset`.
//!
//! **Faults** apply to the contract's data and auth methods; `/health` gets
//! only the global latency, hang and error faults (a failing AMS fails its
//! health check too), `/oauth/token` and `/_sim` none.
//!
//! **Speed.** Bodies are rendered once per member version and encoding and
//! served as cached `Bytes` from 64 independently locked shards.

mod auth;
mod changes;
mod clock;
mod config;
mod cursor;
mod data;
pub mod demo_login;
mod dice;
mod error;
mod events;
mod faults;
mod generate;
mod http;
mod member_key;
pub mod render;
mod sim;
pub mod soap;
mod stats;
mod store;
mod truth;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::stats::RuntimeCpu;

pub use changes::ChangeRequest;
pub use config::{SimAuth, SimConfig};
pub use error::SimError;
pub use events::event_key;
pub use faults::{FaultKind, Faults, Method, TargetedFault};
pub use member_key::{member_key, parse_member_key};
pub use render::Enc;
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
    serve_sim(Sim::new(&config), &config, addr, shutdown).await
}

async fn serve_sim(
    sim: Sim,
    config: &SimConfig,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
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
/// until `shutdown` completes. For callers without a runtime of their own;
/// the stats then also report the runtime's own CPU.
pub fn serve_blocking(
    config: SimConfig,
    addr: SocketAddr,
    workers: Option<usize>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let cpu = Arc::new(RuntimeCpu::default());
    let rt = runtime(workers, &cpu)?;
    let sim = Sim::build(&config, chrono::Utc::now().date_naive(), Some(cpu));
    rt.block_on(serve_sim(sim, &config, addr, shutdown))
}

/// Starts a sim on a dedicated thread running its own runtime with
/// `workers` worker threads, so its CPU use can be bounded apart from the
/// caller's (e.g. one core for the sim in a benchmark) and is reported
/// apart in the stats (`runtime_cpu_seconds`).
pub fn start_dedicated(config: SimConfig, listener: std::net::TcpListener, workers: usize) -> io::Result<SimHandle> {
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let cpu = Arc::new(RuntimeCpu::default());
    let rt = runtime(Some(workers), &cpu)?;
    let sim = Sim::build(&config, chrono::Utc::now().date_naive(), Some(cpu));
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

fn runtime(workers: Option<usize>, cpu: &Arc<RuntimeCpu>) -> io::Result<tokio::runtime::Runtime> {
    let workers = workers
        .filter(|&w| w > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(workers).thread_name("amsync-sim-worker").enable_all();
    cpu.instrument(&mut builder);
    builder.build()
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
