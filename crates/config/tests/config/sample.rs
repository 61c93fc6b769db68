//! Configurations with every key set, one per variant of each tagged table.
//!
//! The struct literals below deliberately use no `..Default::default()`:
//! a field added to a section does not compile here until it is given a
//! value, and then the template test checks the template names it.

use std::time::Duration;

use amsync_config::*;
use amsync_core::rules::{CommunityRule, RuleAction};
use amsync_core::GroupKey;

fn s(v: &str) -> String {
    v.to_string()
}

fn some(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn path(v: &str) -> Option<std::path::PathBuf> {
    Some(v.into())
}

fn url(v: &str) -> url::Url {
    v.parse().unwrap()
}

fn d(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn api_key() -> HttpAuth {
    HttpAuth::ApiKey(ApiKeyAuth { header: s("X-Api-Key"), value_env: some("K"), value_file: path("/k") })
}

fn basic() -> HttpAuth {
    HttpAuth::Basic(BasicAuth { username: s("u"), password_env: some("P"), password_file: path("/p") })
}

fn oauth2() -> HttpAuth {
    HttpAuth::Oauth2(OAuth2Auth {
        token_url: url("https://ams.example.org/token"),
        client_id: s("c"),
        client_secret_env: some("S"),
        client_secret_file: path("/s"),
        scope: some("read"),
    })
}

/// One configuration with every optional key given (not a valid one:
/// validity is not the point, naming every key is).
pub fn everything() -> Config {
    Config {
        database: DatabaseConfig {
            url: some("sqlite://a.db"),
            url_env: some("DB"),
            url_file: path("/db"),
            auto_migrate: true,
        },
        ams: AmsConfig {
            kind: SourceKind::HttpJson,
            base_url: Some(url("https://ams.example.org/api")),
            auth: Some(api_key()),
            timeout: d(10),
            max_concurrency: 32,
            max_rate: 0,
            max_body: 8 << 20,
            max_pages: 100_000,
            http_version: amsync_config::HttpVersion::Http2,
            soap: Some(SoapSourceConfig {
                endpoint: url("https://ams.example.org/soap"),
                security_key_env: some("SK"),
                security_key_file: path("/sk"),
                request_namespace: s("http://tempuri.org/"),
                action_prefix: some("http://tempuri.org/"),
                operations: SoapOperations::default(),
                max_listing_bytes: 1 << 30,
                listing_timeout: d(300),
                faults: amsync_config::SoapFaults::default(),
            }),
            sql: Some(SqlSourceConfig {
                url_env: some("SQL"),
                url_file: path("/sql"),
                changed_members: s("q"),
                member_details: s("q"),
                member_communities: s("q"),
                member_security_groups: s("q"),
                changed_events: s("q"),
            }),
            scim: Some(ScimSourceConfig {
                base_url: url("https://scim.example.org"),
                token_env: some("T"),
                token_file: path("/t"),
                community_extension: s("urn:x"),
            }),
        },
        auth: CredentialConfig {
            kind: Some(CredentialKind::HttpJson),
            base_url: Some(url("https://ams.example.org/api")),
            auth: Some(api_key()),
        },
        periodic_refresh: PeriodicRefreshConfig { cadence: Cadence::Every(d(1800)), overlap: d(120) },
        events: EventsConfig { interval: d(1800) },
        member_refresh: MemberRefreshConfig {
            workers: Some(16),
            max_attempts: 8,
            backoff_initial: d(5),
            backoff_max: d(3600),
            lease: d(120),
        },
        quarantine: QuarantineConfig {
            failure_share: 0.8,
            min_calls: 50,
            window: d(300),
            poll_floor: d(3600),
            recover_probes: 3,
        },
        thresholds: ThresholdsConfig {
            max_disables: 100,
            max_disable_share: 0.02,
            max_membership_removal_share: 0.1,
            window: d(3600),
        },
        communities: CommunitiesConfig {
            timezone: chrono_tz::UTC,
            rules: vec![CommunityRule {
                action: RuleAction::Exclude,
                group_type: some("Committee"),
                group_subtype: some("*"),
            }],
        },
        security_groups: SecurityGroupsConfig {
            is_member: vec![GroupKey::parse("MEMBER").unwrap()],
            local: vec![LocalGroup { key: GroupKey::parse("EDITORS").unwrap(), name: s("Editors") }],
        },
        web: WebConfig {
            listen: "127.0.0.1:8080".parse().unwrap(),
            public_url: url("http://127.0.0.1:8080"),
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            admin_token_env: some("A"),
            admin_token_file: path("/a"),
            next_admin_token_env: some("NA"),
            next_admin_token_file: path("/na"),
            site_token_env: some("ST"),
            site_token_file: path("/st"),
            next_site_token_env: some("NST"),
            next_site_token_file: path("/nst"),
            limits: WebLimits { max_body: 2 << 20 },
        },
        sessions: SessionsConfig { lifetime: d(43200), idle_timeout: d(7200), mobile_token_lifetime: d(2592000) },
        sso: SsoConfig {
            mode: SsoMode::SessionVariable,
            login_url: Some(url("https://www.example.org/login")),
            logout_url: Some(url("https://www.example.org/logout")),
            return_url_param: s("ReturnUrl"),
            token: SsoToken { source: TokenSource::Query, name: s("token") },
            resolve: SsoResolve::Psk(PskResolve {
                keys: vec![PskKeyConfig { kid: s("k1"), key_env: some("PSK"), key_file: path("/psk") }],
                max_age: d(300),
            }),
            allow_unsolicited: false,
            allowed_return_hosts: vec![s("127.0.0.1:8080")],
            throttle: SsoThrottle { per_account_and_address: 5, per_address: 20, window: d(900) },
            oidc: Some(OidcConfig {
                issuer: url("https://login.example.org"),
                client_id: s("amsync"),
                client_secret_env: some("OS"),
                client_secret_file: path("/os"),
                scopes: vec![s("openid")],
                key_claim: s("sub"),
                mobile_client_ids: vec![s("app")],
            }),
        },
        retention: RetentionConfig {
            history: d(365 * 86400),
            change_feed: d(30 * 86400),
            runs: d(90 * 86400),
            sessions: d(86400),
            used_token_ids: d(3600),
            disabled_members: d(365 * 86400),
            interval: d(3600),
        },
        log: LogConfig { format: LogFormat::Text, level: some("info") },
    }
}

/// `everything()` and its variants: each kind of `ams.auth` and
/// `auth.auth`, each `sso.resolve`, each periodic cadence.
pub fn every_variant() -> Vec<Config> {
    let base = everything();
    let mut out = vec![base.clone()];
    for auth in [basic(), oauth2()] {
        let mut c = base.clone();
        c.ams.auth = Some(auth.clone());
        c.auth.auth = Some(auth);
        out.push(c);
    }
    let mut c = base.clone();
    c.sso.resolve = SsoResolve::WebService;
    c.periodic_refresh.cadence = Cadence::Cron("0 */30 * * * *".parse().unwrap());
    out.push(c);
    out
}
