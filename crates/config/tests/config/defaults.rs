use std::net::SocketAddr;
use std::time::Duration;

use amsync_config::*;

use crate::{error_of, load_base, BASE};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn every_default_is_the_documented_one() {
    let c = load_base("", &[]).unwrap();
    let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let checks: Vec<(&str, bool)> = vec![
        ("database.url", c.database.url_source() == DatabaseUrlSource::Literal("sqlite://amsync.db".into())),
        ("database.auto_migrate", c.database.auto_migrate),
        ("ams.kind", c.ams.kind == SourceKind::HttpJson),
        ("ams.auth", c.ams.auth.is_none()),
        ("ams.timeout", c.ams.timeout == secs(10)),
        ("ams.max_concurrency", c.ams.max_concurrency == 32),
        ("ams.max_rate", c.ams.max_rate == 0),
        ("ams.max_body", c.ams.max_body == 8 * 1024 * 1024),
        ("ams.max_pages", c.ams.max_pages == 100_000),
        ("periodic_refresh.interval", c.periodic_refresh.cadence == Cadence::Every(secs(30 * 60))),
        ("periodic_refresh.overlap", c.periodic_refresh.overlap == secs(120)),
        ("events.interval", c.events.interval == secs(30 * 60)),
        ("member_refresh.workers", c.member_refresh.workers.is_none() && c.refresh_workers() == 17),
        ("member_refresh.max_attempts", c.member_refresh.max_attempts == 8),
        ("member_refresh.backoff_initial", c.member_refresh.backoff_initial == secs(5)),
        ("member_refresh.backoff_max", c.member_refresh.backoff_max == secs(3600)),
        ("member_refresh.lease", c.member_refresh.lease == secs(120)),
        ("quarantine.failure_share", c.quarantine.failure_share == 0.8),
        ("quarantine.min_calls", c.quarantine.min_calls == 50),
        ("quarantine.window", c.quarantine.window == secs(300)),
        ("quarantine.poll_floor", c.quarantine.poll_floor == secs(3600)),
        ("quarantine.recover_probes", c.quarantine.recover_probes == 3),
        ("thresholds.max_disables", c.thresholds.max_disables == 100),
        ("thresholds.max_disable_share", c.thresholds.max_disable_share == 0.02),
        ("thresholds.max_membership_removal_share", c.thresholds.max_membership_removal_share == 0.10),
        ("thresholds.window", c.thresholds.window == secs(3600)),
        ("communities.timezone", c.communities.timezone == chrono_tz::Tz::UTC),
        ("communities.rules", c.communities.rules.is_empty()),
        ("security_groups", c.security_groups.is_member.is_empty() && c.security_groups.local.is_empty()),
        ("web.listen", c.web.listen == listen),
        ("web.public_url", c.web.public_url.as_str() == "http://127.0.0.1:8080/"),
        ("web.trusted_proxies", c.web.trusted_proxies.is_empty()),
        ("web.admin_token", c.web.admin_token().to_string() == "environment variable AMSYNC_ADMIN_TOKEN"),
        ("web.site_token", c.web.site_token().to_string() == "environment variable AMSYNC_SITE_TOKEN"),
        ("web.limits.max_body", c.web.limits.max_body == 2 * 1024 * 1024),
        ("sessions.lifetime", c.sessions.lifetime == secs(12 * 3600)),
        ("sessions.idle_timeout", c.sessions.idle_timeout == secs(2 * 3600)),
        ("sessions.mobile_token_lifetime", c.sessions.mobile_token_lifetime == secs(30 * 86400)),
        ("sso.mode", c.sso.mode == SsoMode::Credentials),
        ("sso.return_url_param", c.sso.return_url_param == "ReturnUrl"),
        ("sso.token", c.sso.token == SsoToken { source: TokenSource::Query, name: "token".into() }),
        ("sso.resolve", c.sso.resolve == SsoResolve::WebService),
        ("sso.allow_unsolicited", !c.sso.allow_unsolicited),
        (
            "sso.throttle",
            c.sso.throttle == SsoThrottle { per_account_and_address: 5, per_address: 20, window: secs(900) },
        ),
        ("sso.oidc", c.sso.oidc.is_none()),
        ("retention.history", c.retention.history == secs(365 * 86400)),
        ("retention.change_feed", c.retention.change_feed == secs(30 * 86400)),
        ("retention.runs", c.retention.runs == secs(90 * 86400)),
        ("retention.sessions", c.retention.sessions == secs(86400)),
        ("retention.used_token_ids", c.retention.used_token_ids == secs(3600)),
        ("retention.disabled_members", c.retention.disabled_members == secs(365 * 86400)),
        ("retention.interval", c.retention.interval == secs(3600)),
        ("log.format", c.log.format == LogFormat::Text),
        ("log.level", c.log.level.is_none()),
    ];
    let wrong: Vec<_> = checks.iter().filter(|(_, ok)| !ok).map(|(k, _)| *k).collect();
    assert!(wrong.is_empty(), "defaults differ from product.md: {wrong:?}");
}

#[test]
fn the_default_value_is_what_an_almost_empty_file_gives() {
    let mut built = Config::default();
    built.ams.base_url = Some("https://ams.example.org/api".parse().unwrap());
    assert_eq!(amsync_config::Config::from_toml_str(BASE, []).unwrap(), built);
    assert!(Config::default().validate().is_err(), "the AMS base URL has no default");
}

#[test]
fn derived_settings() {
    let c = load_base("[member_refresh]\nbackoff_initial = \"2s\"\nlease = \"90s\"\n", &[]).unwrap();
    let retry = c.member_refresh.retry_policy();
    assert_eq!((retry.max_attempts, retry.backoff_initial, retry.backoff_max), (8, secs(2), secs(3600)));
    assert_eq!(c.member_refresh.lease_renewal(), secs(30));

    let service = c.credential_service();
    assert_eq!(service.kind, CredentialKind::HttpJson, "an http-json source is its own credential service");
    assert_eq!(service.base_url, c.ams.base_url);
}

#[test]
fn credential_service_defaults() {
    let with_auth = "auth = { kind = \"api_key\", value_env = \"K\" }\n";
    let c = load_base(with_auth, &[]).unwrap();
    let s = c.credential_service();
    assert_eq!(s.auth_secret().unwrap().key(), "ams.auth.value_env", "same service, same credentials");

    let other = format!("{with_auth}[auth]\nbase_url = \"https://sso.example.org/\"\n");
    let s = load_base(&other, &[]).unwrap().credential_service();
    assert_eq!(s.base_url.unwrap().as_str(), "https://sso.example.org/");
    assert!(s.auth.is_none(), "another service never gets the AMS's credentials by default");

    let own = "[auth]\nauth = { kind = \"basic\", username = \"u\", password_env = \"P\" }\n";
    let s = load_base(own, &[]).unwrap().credential_service();
    assert_eq!(s.auth_secret().unwrap().key(), "auth.auth.password_env");

    let sql = "[ams]\nkind = \"sql\"\n[ams.sql]\nurl_env = \"U\"\nchanged_members = \"q\"\nmember_details = \"q\"\n\
               member_communities = \"q\"\nmember_security_groups = \"q\"\nchanged_events = \"q\"\n\
               [auth]\nkind = \"http-json\"\nbase_url = \"https://auth.example.org\"\n";
    let c = crate::load(sql, &[]).unwrap();
    assert_eq!(c.credential_service().kind, CredentialKind::HttpJson);
    assert_eq!(CredentialKind::of_source(SourceKind::Sql), CredentialKind::None);
}

#[test]
fn schedules_and_cadence() {
    use chrono::{TimeZone, Utc};
    let c = load_base("[periodic_refresh]\nschedule = \"0 0 */6 * * *\"\n", &[]).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 7, 15, 0).unwrap();
    assert_eq!(c.periodic_refresh.cadence.next_after(t), Some(Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()));
    let every = Cadence::Every(secs(600));
    assert_eq!(every.next_after(t), Some(Utc.with_ymd_and_hms(2026, 3, 1, 7, 25, 0).unwrap()));
}

#[test]
fn seeds_and_helpers() {
    let text = "[communities]\ntimezone = \"America/New_York\"\nrules = [{ action = \"exclude\", group_type = \"Committee\", group_subtype = \"*\" }]\n\
                [security_groups]\nis_member = [\"MEMBER\", \"STUDENT\"]\nlocal = [{ key = \"EDITORS\", name = \"Editors\" }]\n\
                [web]\ntrusted_proxies = [\"10.0.0.7\", \"192.168.0.0/16\", \"::1\"]\n";
    let c = load_base(text, &[]).unwrap();
    assert_eq!(c.communities.timezone, chrono_tz::America::New_York);
    assert_eq!(c.communities.rule_set().rules.len(), 1);
    assert_eq!(c.security_groups.is_member.iter().map(|k| k.as_str()).collect::<Vec<_>>(), ["MEMBER", "STUDENT"]);
    assert_eq!(c.security_groups.local[0].key.as_str(), "EDITORS");
    assert!(c.web.is_trusted_proxy("192.168.4.5".parse().unwrap()));
    assert!(c.web.is_trusted_proxy("10.0.0.7".parse().unwrap()));
    assert!(!c.web.is_trusted_proxy("10.0.0.8".parse().unwrap()));
    assert!(c.web.is_trusted_proxy("::1".parse().unwrap()));
}

#[test]
fn demo_configuration() {
    let listen: SocketAddr = "0.0.0.0:8099".parse().unwrap();
    let c = Config::demo("sqlite:///tmp/demo.db", listen, "http://127.0.0.1:9001".parse().unwrap());
    c.validate().unwrap();
    assert_eq!(c.periodic_refresh.cadence, Cadence::Every(secs(10)));
    assert_eq!(c.events.interval, secs(30));
    assert_eq!(c.web.public_url.as_str(), "http://127.0.0.1:8099/");
    assert_eq!(c.sso.mode, SsoMode::Credentials);
    let designated: Vec<&str> = c.security_groups.is_member.iter().map(|g| g.as_str()).collect();
    assert_eq!(designated, [amsync_config::DEMO_MEMBER_GROUP], "the simulator's member group counts as IsMember");
    let key = c.ams.auth_secret().unwrap();
    assert_eq!(key, SecretSource::Env { key: "ams.auth.value_env".into(), var: DEMO_AMS_KEY_ENV.into() });
    let env: std::collections::HashMap<String, String> =
        [("AMSYNC_ADMIN_TOKEN", "admin"), (DEMO_AMS_KEY_ENV, "k")].map(|(a, b)| (a.into(), b.into())).into();
    c.validate_for_serve(&env).unwrap();

    // What the CLI may print or save reads back as the same configuration.
    assert_eq!(Config::from_toml_str(&c.to_toml_string(), []).unwrap(), c);
    assert_eq!(public_url_for("[::]:80".parse().unwrap()).as_str(), "http://[::1]/");
}

/// Unset, `member_refresh.workers` follows `ams.max_concurrency`: enough
/// refreshes to ask for every call the budget allows (three calls each),
/// and half as many again; set, it is honoured; 0 is refused.
#[test]
fn refresh_workers_follow_the_ams_budget_unless_set() {
    let workers_for = |extra: &str| load_base(extra, &[]).unwrap().refresh_workers();
    assert_eq!(workers_for(""), 17, "the default budget of 32 calls: 11 to fill it, and 6 more");
    assert_eq!(workers_for("max_concurrency = 64\n"), 33, "64 calls: 22 to fill it, and 11 more");
    assert_eq!(workers_for("max_concurrency = 96\n"), 48);
    assert_eq!(workers_for("max_concurrency = 1\n"), 2);
    let from_env = load_base("", &[("AMSYNC_AMS__MAX_CONCURRENCY", "300")]).unwrap();
    assert_eq!(from_env.refresh_workers(), 150);

    let set = "max_concurrency = 64\n[member_refresh]\nworkers = 5\n";
    assert_eq!(workers_for(set), 5, "a number set is honoured whatever the budget");
    let over = load_base("max_concurrency = 4\n", &[("AMSYNC_MEMBER_REFRESH__WORKERS", "40")]).unwrap();
    assert_eq!(over.refresh_workers(), 40);

    let err = error_of("[member_refresh]\nworkers = 0\n", &[]);
    assert!(err.contains("member_refresh.workers (line 4): must be at least 1"), "{err}");
}

/// The rule itself, over a range of budgets: never less than the budget
/// needs (three calls a refresh), never more than one worker per call.
#[test]
fn derived_workers_fill_the_budget_without_exceeding_one_per_call() {
    for budget in 1..=1000u32 {
        let w = workers_for_budget(budget);
        assert!(w * AMS_CALLS_PER_REFRESH >= budget, "{budget}: {w}");
        assert!(w <= budget.max(2), "{budget}: {w}");
        assert!(workers_for_budget(budget + 1) >= w, "monotonic at {budget}");
    }
}
