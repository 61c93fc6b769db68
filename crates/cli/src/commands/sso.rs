//! `amsync sso mint-token` (a test token in the configured PSK format) and
//! `amsync bench login` (session-variable sign-ins while refreshes run).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use amsync_ams::SourceKind;
use amsync_config::ProcessEnv;
use amsync_sso::{PskKey, PskVerifier, ThrottleSettings};
use amsync_store::sqlite::{SqliteOptions, SqliteStore};
use amsync_store::{MemberStore, QueueStore};
use amsync_sync::{Engine, PollMode, SyncSettings};
use amsync_web::sso::bench::{self, LoginBenchOptions};
use amsync_web::sso::{SignOn, SignOnSettings, SsoMode, TokenResolver};
use amsync_web::{AppState, WebSettings};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::bench::SimProcess;
use super::{dyn_store, load_config_for};
use crate::args::BenchLoginArgs;
use crate::exit::{CliError, CliResult};
use crate::logging::Audience;

/// `amsync sso mint-token`: prints one token.
pub fn mint_token(config: &Path, member: &str, kid: Option<&str>, ttl: Duration, audience: Audience) -> CliResult<()> {
    let cfg = load_config_for(config, audience)?;
    println!("{}", crate::wiring_sso::mint_token(&cfg, &ProcessEnv, member, kid, ttl)?);
    Ok(())
}

/// `amsync bench login`: a simulated AMS in its own process, a SQLite store
/// in a temporary directory with every member loaded, the engine's workers,
/// amsync on 127.0.0.1; then [`bench::run`]. Prints its figures last as one
/// JSON line.
pub async fn bench_login(args: BenchLoginArgs) -> CliResult<()> {
    crate::logging::init(crate::logging::LogFormat::Text, "warn");
    let sim = SimProcess::spawn(args.members, 42, 1, None).await?;
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(SqliteOptions::new(dir.path().join("amsync.db")))?;
    let source = super::bench::sim_source(SourceKind::HttpJson, &sim.base_url, |_| {})?;
    let engine = Engine::new(
        dyn_store(&store),
        source,
        SyncSettings { workers: 16, role: "bench".into(), ..Default::default() },
    );
    let stop = CancellationToken::new();
    {
        let (engine, stop) = (engine.clone(), stop.clone());
        tokio::spawn(async move { engine.run_workers_only(stop).await });
    }
    eprintln!("loading {} members…", args.members);
    engine.poll_members(PollMode::Full).await?;
    loop {
        let q = store.queue_counts().await?;
        if q.queued + q.running + q.retrying == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url =
        Url::parse(&format!("http://{}", listener.local_addr()?)).map_err(|e| CliError::failure(e.to_string()))?;
    let key = PskKey::generate("bench").map_err(|e| CliError::failure(e.to_string()))?;
    let mut settings = SignOnSettings::new(SsoMode::SessionVariable, url.clone());
    settings.login_url = Some(url.join("/association-login").map_err(|e| CliError::failure(e.to_string()))?);
    settings.allow_unsolicited = true;
    let verifier = PskVerifier::new(vec![key.clone()], url.as_str(), Duration::from_secs(300));
    // Every sign-in comes from 127.0.0.1, and the throttle counts each one
    // in flight against its address: allow the whole --concurrency at once.
    let in_flight = u32::try_from(args.concurrency).unwrap_or(u32::MAX);
    let throttle = ThrottleSettings {
        per_address: ThrottleSettings::default().per_address.max(in_flight),
        ..ThrottleSettings::default()
    };
    let sign_on = SignOn::new(settings, Some(TokenResolver::Psk(verifier)), None, None, throttle)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let state = AppState {
        store: dyn_store(&store),
        engine: engine.clone(),
        tokens: Arc::new(Default::default()),
        settings: Arc::new(WebSettings::default()),
        access: Arc::new(amsync_web::access_cache::AccessCache::new()),
        sign_on: Arc::new(sign_on),
        readiness: Arc::new(|| Box::pin(async { Ok(()) })),
    };
    tokio::spawn(amsync_web::serve(listener, state.clone(), stop.clone()));
    // Half the active members sign in; the refreshes beside them take the other half.
    let keys = store.active_member_keys().await?;
    let half = keys.len() / 2;
    let opts = LoginBenchOptions {
        members: keys[..half].to_vec(),
        key,
        audience: url.to_string(),
        duration: Duration::from_secs(args.seconds),
        warmup: Duration::from_secs(1),
        concurrency: args.concurrency,
        login_rate: Some(args.login_rate).filter(|r| *r > 0),
        refresh_rate: args.refresh_rate,
        refresh_keys: keys[half..].to_vec(),
    };
    let report = bench::run(&url, &state, opts).await.map_err(CliError::failure)?;
    stop.cancel();
    sim.stop().await;
    store.shutdown().await;
    println!("{}", report.json_line());
    Ok(())
}
