//! The configuration `amsync demo` runs with: everything on one machine
//! against the built-in simulated AMS, with short intervals so changes show
//! within seconds.

use std::net::SocketAddr;
use std::time::Duration;

use url::Url;

use crate::sections::schedule::Cadence;
use crate::sections::sso::SsoMode;
use crate::Config;
use amsync_ams::config::{ApiKeyAuth, HttpAuth, SourceKind, DEFAULT_API_KEY_HEADER};

/// The variable the demo's AMS API key is read from; `amsync demo` sets it
/// (and gives the same key to the simulated AMS).
pub const DEMO_AMS_KEY_ENV: &str = "AMSYNC_DEMO_AMS_KEY";

/// The simulated AMS's group of paying members, which the demo designates
/// as counting for IsMember.
pub const DEMO_MEMBER_GROUP: &str = "MEMBER";

impl Config {
    /// A valid configuration for `amsync demo`: SQLite or PostgreSQL at
    /// `db_url`, the web listener on `listen`, and the simulated AMS at
    /// `ams_base_url` with `api_key` auth whose value is read from
    /// [`DEMO_AMS_KEY_ENV`]. Periodic refresh every 10s, events every 30s,
    /// short backoffs; members sign in with username and password through
    /// the simulator's credential service; the admin token comes from
    /// `AMSYNC_ADMIN_TOKEN` as usual. The simulator's member group
    /// ([`DEMO_MEMBER_GROUP`]) counts as IsMember, so a first look at a
    /// member shows what the designation does.
    ///
    /// `web.public_url` is `http://<listen>` (with `127.0.0.1` for an
    /// unspecified address); when `listen` has port 0, set it again after
    /// binding.
    pub fn demo(db_url: &str, listen: SocketAddr, ams_base_url: Url) -> Config {
        let mut c = Config::default();
        c.database.url = Some(db_url.to_string());
        c.ams.kind = SourceKind::HttpJson;
        c.ams.base_url = Some(ams_base_url);
        c.ams.auth = Some(HttpAuth::ApiKey(ApiKeyAuth {
            header: DEFAULT_API_KEY_HEADER.to_string(),
            value_env: Some(DEMO_AMS_KEY_ENV.to_string()),
            value_file: None,
        }));
        c.periodic_refresh.cadence = Cadence::Every(Duration::from_secs(10));
        c.periodic_refresh.overlap = Duration::from_secs(2);
        c.events.interval = Duration::from_secs(30);
        c.member_refresh.backoff_initial = Duration::from_secs(1);
        c.member_refresh.backoff_max = Duration::from_secs(60);
        c.member_refresh.lease = Duration::from_secs(30);
        c.quarantine.poll_floor = Duration::from_secs(30);
        c.security_groups.is_member = vec![amsync_core::GroupKey::parse(DEMO_MEMBER_GROUP).expect("a valid group key")];
        c.web.listen = listen;
        c.web.public_url = public_url_for(listen);
        // Credentials need no key, so this configuration is complete as it
        // stands; `amsync demo` switches to session-variable sign-on once it
        // has generated a key and started the sample login page.
        c.sso.mode = SsoMode::Credentials;
        c
    }
}

/// `http://<listen>`, naming loopback for an unspecified address.
pub fn public_url_for(listen: SocketAddr) -> Url {
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    Url::parse(&format!("http://{addr}")).expect("a socket address makes a valid URL")
}
