//! The binary's own long-lived tasks of a node, each under the engine's
//! supervisor: the web server, the retention pass, the SIGHUP reloader.

use std::sync::Arc;
use std::time::Duration;

use amsync_config::ProcessEnv;
use amsync_store::{RetentionPolicy, Store};
use amsync_sync::{Supervisor, TaskName};
use amsync_web::AppState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::signals::{hangup_signals, Hangups};
use crate::secrets::LiveSecrets;

/// The HTTP server: each start listens on a duplicate of the bound socket,
/// so a restart keeps the address (and the connections waiting in its
/// backlog).
pub fn web_server(
    supervisor: &Arc<Supervisor>,
    listener: std::net::TcpListener,
    state: AppState,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let listener = Arc::new(listener);
    let token = stop.clone();
    supervisor.spawn(TaskName::WebServer, stop.clone(), move || {
        let (listener, state, stop) = (listener.clone(), state.clone(), token.clone());
        async move {
            let listener = match listener.try_clone().and_then(tokio::net::TcpListener::from_std) {
                Ok(l) => l,
                Err(e) => return tracing::error!(error = %e, "the web server cannot use its socket"),
            };
            if let Err(e) = amsync_web::serve(listener, state, stop).await {
                tracing::error!(error = %e, "the web server stopped");
            }
        }
    })
}

/// The retention pass every `every` (`crate::retention`).
pub fn retention(
    supervisor: &Arc<Supervisor>,
    store: Arc<dyn Store>,
    policy: RetentionPolicy,
    every: Duration,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let token = stop.clone();
    supervisor.spawn(TaskName::Retention, stop.clone(), move || {
        crate::retention::run(store.clone(), policy, every, token.clone())
    })
}

/// Reloads `secrets` at each SIGHUP: on `first` (made before the node
/// started, so a SIGHUP sent as soon as it is ready is heard), then on a
/// new stream per restart.
pub fn secret_reload(
    supervisor: &Arc<Supervisor>,
    first: Hangups,
    secrets: Arc<LiveSecrets>,
    stop: &CancellationToken,
) -> JoinHandle<()> {
    let first = std::sync::Mutex::new(first);
    let token = stop.clone();
    supervisor.spawn(TaskName::SecretReload, stop.clone(), move || {
        let hangups = first.lock().unwrap_or_else(|e| e.into_inner()).take().or_else(hangup_signals);
        reload_on_hangups(hangups, secrets.clone(), token.clone())
    })
}

/// Reloads the secrets at each SIGHUP until `stop`.
async fn reload_on_hangups(hangups: Hangups, secrets: Arc<LiveSecrets>, stop: CancellationToken) {
    #[cfg(unix)]
    if let Some(mut hangups) = hangups {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                signal = hangups.recv() => match signal {
                    Some(()) => {
                        tracing::info!("SIGHUP: reloading secrets");
                        super::service_manager::reloading();
                        secrets.reload(&ProcessEnv);
                        super::service_manager::reloaded("secrets reloaded");
                    }
                    None => return,
                },
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (hangups, secrets);
    // Nothing to listen to: wait for the stop (ending early would count as a failure).
    stop.cancelled().await;
}
