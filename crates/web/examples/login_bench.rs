//! `amsync bench login` outside the CLI: an in-process simulated AMS, a
//! SQLite store in a temporary directory, the engine's workers, amsync on
//! 127.0.0.1, every member loaded first; then [`amsync_web::sso::bench::run`].
//!
//! `cargo run --release -p amsync-web --example login_bench -- [--members N]
//! [--duration-s S] [--concurrency C] [--login-rate L] [--refresh-rate R]`
//! (`--login-rate 0`: back to back); prints the figures last as one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use amsync_ams::{AuthConfig, HttpSource, HttpSourceConfig};
use amsync_core::{Encoding, MemberKey};
use amsync_sso::{PskKey, PskVerifier, ThrottleSettings};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{MemberStore, QueueStore, Store};
use amsync_sync::{Engine, PollMode, SyncSettings};
use amsync_web::auth::Tokens;
use amsync_web::sso::bench::{self, LoginBenchOptions};
use amsync_web::sso::{SignOn, SignOnSettings, SsoMode, TokenResolver};
use amsync_web::{AppState, WebSettings};
use tokio_util::sync::CancellationToken;
use url::Url;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let members = arg("--members", 5000) as usize;
    let duration = Duration::from_secs(arg("--duration-s", 10));
    let concurrency = arg("--concurrency", 16) as usize;
    let refresh_rate = arg("--refresh-rate", 1000) as u32;
    // 0: back to back (the most the app takes).
    let login_rate = Some(arg("--login-rate", 1000) as u32).filter(|r| *r > 0);
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    let _ = rustls::crypto::ring::default_provider().install_default();

    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = amsync_sim::start(amsync_sim::SimConfig { members, ..Default::default() }, sim_listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db"))).unwrap();
    let dyn_store: Arc<dyn Store> = store.clone();
    let mut cfg = HttpSourceConfig::new(Url::parse(&sim.base_url()).unwrap());
    cfg.auth = AuthConfig::None;
    let source = Arc::new(HttpSource::new(cfg, Encoding::Json).unwrap());
    let engine =
        Engine::new(dyn_store.clone(), source.clone(), SyncSettings { workers: 16, ..SyncSettings::default() });
    let stop = CancellationToken::new();
    {
        let (engine, stop) = (engine.clone(), stop.clone());
        tokio::spawn(async move { engine.run_workers_only(stop).await });
    }
    // Every member known locally first.
    let loading = Instant::now();
    engine.poll_members(PollMode::Full).await.unwrap();
    loop {
        let q = store.queue_counts().await.unwrap();
        if q.queued + q.running + q.retrying == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("loaded {} members in {:.1}s", store.member_count().await.unwrap(), loading.elapsed().as_secs_f64());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let key = PskKey::generate("bench").unwrap();
    let mut settings = SignOnSettings::new(SsoMode::SessionVariable, url.clone());
    settings.login_url = Some(url.join("/association-login").unwrap());
    settings.allow_unsolicited = true;
    let verifier = PskVerifier::new(vec![key.clone()], url.as_str(), Duration::from_secs(300));
    // The bench signs in from one address: no throttle in the way of good tokens.
    let sign_on =
        SignOn::new(settings, Some(TokenResolver::Psk(verifier)), None, None, ThrottleSettings::default()).unwrap();
    let state = AppState {
        store: dyn_store,
        engine: engine.clone(),
        tokens: Arc::new(Tokens::default()),
        settings: Arc::new(WebSettings::default()),
        access: Arc::new(amsync_web::access_cache::AccessCache::new()),
        sign_on: Arc::new(sign_on),
        readiness: Arc::new(|| Box::pin(async { Ok(()) })),
    };
    tokio::spawn(amsync_web::serve(listener, state.clone(), stop.clone()));

    // Members the AMS has disabled would be refused: only active ones sign in.
    let keys: Vec<MemberKey> = store.active_member_keys().await.unwrap();
    let half = keys.len() / 2;
    let opts = LoginBenchOptions {
        members: keys[..half].to_vec(),
        key,
        audience: url.to_string(),
        duration,
        warmup: Duration::from_secs(1),
        concurrency,
        login_rate,
        refresh_rate,
        refresh_keys: keys[half..].to_vec(),
    };
    let report = bench::run(&url, &state, opts).await.unwrap();
    stop.cancel();
    println!("{}", report.json_line());
}
