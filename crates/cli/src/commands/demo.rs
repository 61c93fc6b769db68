//! `amsync demo`: everything at once on one machine. A simulated AMS on a
//! loopback port, a SQLite file in the working directory, short intervals,
//! and a trickle of simulated changes so a user sees change flow through.
//! The simulator's member group counts as IsMember, and the members it
//! suggests are picked from the simulated data to show memberships of every
//! term, groups, IsMember and a change in their history
//! (`demo_showcase.rs`).

use std::collections::HashMap;
use std::time::Duration;

use amsync_config::{Config, DEMO_AMS_KEY_ENV, DEMO_MEMBER_GROUP};
use amsync_sim::{SimAuth, SimConfig};
use rand::Rng;

use super::demo_showcase;
use super::LayeredEnv;
use crate::args::DemoArgs;
use crate::exit::{CliError, CliResult};
use crate::logging;
use crate::node::{Node, Role, Signals};

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
}

/// The variable holding the demo's pre-shared SSO key (in-process only).
const DEMO_SSO_KEY_ENV: &str = "AMSYNC_DEMO_SSO_PSK";

pub async fn run(args: DemoArgs) -> CliResult<()> {
    logging::init(logging::LogFormat::Text, "info,amsync_store=warn,tower_http=warn");
    // Before anything is started or printed: a signal that comes while the
    // demo starts stops it cleanly.
    let signals = Signals::listen();
    let ams_key = random_hex(16);
    let admin_token = std::env::var("AMSYNC_ADMIN_TOKEN").unwrap_or_else(|_| random_hex(24));

    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let sim_config = SimConfig {
        members: args.members,
        seed: args.seed,
        auth: SimAuth::ApiKey { header: "X-Api-Key".into(), value: ams_key.clone() },
        ..SimConfig::default()
    };
    let sim = amsync_sim::start(sim_config, sim_listener).await?;
    let ams_url = url::Url::parse(&sim.base_url()).map_err(|e| CliError::failure(format!("simulator URL: {e}")))?;

    let web_listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::config(format!("--listen {}: {e}", args.listen)))?;
    let listen = web_listener.local_addr()?;
    let mut cfg = Config::demo(&args.db, listen, ams_url.clone());
    // Sign-on by session variable through the simulator's sample login page,
    // so the whole round trip shows in a browser.
    let sso_key = amsync_sso::PskKey::generate("demo").map_err(|e| CliError::failure(e.to_string()))?;
    let login_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let login_page = format!("http://{}/demo/login", login_listener.local_addr()?);
    let tokens =
        amsync_sim::demo_login::DemoTokens::Psk { key: sso_key.clone(), audience: cfg.web.public_url.to_string() };
    let stop_login = tokio_util::sync::CancellationToken::new();
    amsync_sim::demo_login::start(
        amsync_sim::demo_login::DemoLogin::new(sim.sim().clone(), tokens),
        login_listener,
        stop_login.clone(),
    )
    .await?;
    cfg.sso.mode = amsync_config::SsoMode::SessionVariable;
    cfg.sso.login_url = Some(url::Url::parse(&login_page).map_err(|e| CliError::failure(e.to_string()))?);
    cfg.sso.resolve = amsync_config::SsoResolve::Psk(amsync_config::PskResolve {
        keys: vec![amsync_config::PskKeyConfig {
            kid: "demo".into(),
            key_env: Some(DEMO_SSO_KEY_ENV.into()),
            key_file: None,
        }],
        max_age: std::time::Duration::from_secs(300),
    });
    let env = LayeredEnv {
        own: HashMap::from([
            (DEMO_AMS_KEY_ENV.to_string(), ams_key),
            ("AMSYNC_ADMIN_TOKEN".to_string(), admin_token.clone()),
            (DEMO_SSO_KEY_ENV.to_string(), secrecy::ExposeSecret::expose_secret(&sso_key.to_base64()).to_string()),
        ]),
    };
    let node = Node::builder(&cfg, &env, Role::Demo).listener(web_listener).build().await?;

    let showcase = demo_showcase::pick(sim.sim(), DEMO_MEMBER_GROUP);
    let first = showcase.first().map_or_else(|| "M000001".to_string(), |m| m.key.clone());
    let community = showcase.first().map_or_else(|| "CH-NYC".to_string(), |m| m.community.clone());
    let base = format!("http://{listen}");
    let mut look_at = String::new();
    for m in &showcase {
        look_at.push_str(&format!(
            "  {}  memberships current, future and past; groups {} ({}); {base}/admin/members/{}\n",
            m.key,
            m.groups.join(", "),
            if m.is_member { "counts as IsMember" } else { "not IsMember" },
            m.key,
        ));
    }
    let banner = format!(
        "\n\
         amsync demo is running.\n\
         \n\
         \x20 API                 {base}/api/v1 (OpenAPI: {base}/api/v1/openapi.json)\n\
         \x20 dashboard           {base}/admin (sign in with the admin token)\n\
         \x20 member sign-in      {base}/login?ReturnUrl=/me (the association's sample login page)\n\
         \x20 admin token         {admin_token}\n\
         \x20 simulated AMS       {ams_url} ({members} members, seed {seed})\n\
         \x20 database            {db}\n\
         \n\
         Members to look at first (their details change in the simulated AMS once loaded,\n\
         so their history shows a change after the next periodic refresh):\n\
         {look_at}\
         \n\
         Things to try (another terminal):\n\
         \x20 export T={admin_token}\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" {base}/api/v1/sync/status\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" '{base}/api/v1/members?q=ada'\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" {base}/api/v1/members/{first}\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" {base}/api/v1/members/{first}/history\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" -H 'Content-Type: application/json' -d '{{\"keys\":[\"{first}\"],\"wait\":true}}' {base}/api/v1/refresh\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" -H 'Content-Type: application/json' -d '{{\"all\":true}}' {base}/api/v1/refresh\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" '{base}/api/v1/sync/runs?limit=5'\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" {base}/api/v1/communities\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" '{base}/api/v1/access?member={first}&resource=discussion:{community}'\n\
         \x20 curl -s -H \"Authorization: Bearer $T\" -H 'Content-Type: application/json' -X PUT -d '{{\"rules\":[{{\"action\":\"exclude\",\"group_type\":\"Committee\"}}]}}' {base}/api/v1/community-rules\n\
         \n\
         Every {every}s the simulated AMS changes {changes} members; the periodic refresh (every 10s)\n\
         brings the changes over, and each member's history shows them field by field.\n\
         Press Ctrl-C to stop.\n",
        members = args.members,
        seed = args.seed,
        db = args.db,
        every = args.change_every,
        changes = args.changes,
    );
    node.run(signals, |node| {
        node.spawn_until_stopped(demo_showcase::change_once_loaded(sim.sim().clone(), node.store(), showcase));
        let (sim, stop) = (sim.sim().clone(), node.stop_token());
        let (changes, every) = (args.changes, args.change_every.max(1));
        node.supervise(amsync_sync::TaskName::DemoChanges, move || {
            let (sim, stop) = (sim.clone(), stop.clone());
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(every));
                tick.tick().await;
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tick.tick() => {}
                    }
                    if changes > 0 {
                        let keys = sim.churn(changes);
                        tracing::info!(keys = ?keys, "the simulated AMS changed members");
                    }
                }
            }
        });
        // One write, and a reader that went away (a pipe closed after the
        // banner) must not stop the demo: `println!` would panic on EPIPE.
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), format!("{banner}\n").as_bytes());
    })
    .await?;
    stop_login.cancel();
    sim.shutdown().await;
    Ok(())
}
