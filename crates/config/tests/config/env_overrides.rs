use std::time::Duration;

use amsync_config::*;

use crate::{error_of, load_base};

/// Environment variables of one case.
type Vars = &'static [(&'static str, &'static str)];

#[test]
fn overrides_that_apply() {
    type Check = fn(&Config) -> bool;
    let cases: &[(&str, Vars, Check)] = &[
        ("numeric", &[("AMSYNC_MEMBER_REFRESH__WORKERS", "4")], |c| c.member_refresh.workers == Some(4)),
        ("float", &[("AMSYNC_QUARANTINE__FAILURE_SHARE", "0.5")], |c| c.quarantine.failure_share == 0.5),
        ("integer where a float is wanted", &[("AMSYNC_QUARANTINE__FAILURE_SHARE", "1")], |c| {
            c.quarantine.failure_share == 1.0
        }),
        ("boolean", &[("AMSYNC_DATABASE__AUTO_MIGRATE", "false")], |c| !c.database.auto_migrate),
        ("string", &[("AMSYNC_DATABASE__URL", "postgres://amsync@db/amsync")], |c| {
            c.database.url.as_deref() == Some("postgres://amsync@db/amsync")
        }),
        ("duration", &[("AMSYNC_PERIODIC_REFRESH__INTERVAL", "5m")], |c| {
            c.periodic_refresh.cadence == Cadence::Every(Duration::from_secs(300))
        }),
        ("size", &[("AMSYNC_WEB__LIMITS__MAX_BODY", "4MiB")], |c| c.web.limits.max_body == 4 << 20),
        ("over the file's value", &[("AMSYNC_AMS__TIMEOUT", "3s")], |c| c.ams.timeout == Duration::from_secs(3)),
        (
            "nested, in an inline table",
            &[("AMSYNC_AMS__AUTH__HEADER", "X-Key")],
            |c| matches!(&c.ams.auth, Some(HttpAuth::ApiKey(a)) if a.header == "X-Key"),
        ),
        (
            "nested, creating a tagged table",
            &[
                ("AMSYNC_AUTH__AUTH__KIND", "basic"),
                ("AMSYNC_AUTH__AUTH__USERNAME", "community"),
                ("AMSYNC_AUTH__AUTH__PASSWORD_ENV", "AUTH_PASSWORD"),
            ],
            |c| matches!(&c.auth.auth, Some(HttpAuth::Basic(b)) if b.username == "community"),
        ),
        ("a section the file does not have", &[("AMSYNC_LOG__FORMAT", "json")], |c| c.log.format == LogFormat::Json),
        (
            "digits where text is wanted stay text",
            &[
                ("AMSYNC_SSO__MODE", "oidc"),
                ("AMSYNC_SSO__OIDC__ISSUER", "https://login.example.org"),
                ("AMSYNC_SSO__OIDC__CLIENT_ID", "123456"),
            ],
            |c| c.sso.oidc.as_ref().is_some_and(|o| o.client_id == "123456"),
        ),
        ("true where text is wanted stays text", &[("AMSYNC_SSO__TOKEN__NAME", "true")], |c| {
            c.sso.token.name == "true"
        }),
        (
            "names without a double underscore are not overrides",
            &[("AMSYNC_ADMIN_TOKEN", "x"), ("AMSYNC_WORKERS", "1")],
            |c| c.member_refresh.workers.is_none(),
        ),
        ("lower-case section names work too", &[("AMSYNC_member_refresh__workers", "2")], |c| {
            c.member_refresh.workers == Some(2)
        }),
    ];
    let file = "timeout = \"20s\"\nauth = { kind = \"api_key\", value_env = \"AMS_API_KEY\" }\n";
    for (name, vars, check) in cases {
        let c = load_base(file, vars).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(check(&c), "{name}");
    }
}

#[test]
fn overrides_that_are_refused_name_the_variable() {
    let cases: &[(&str, Vars, &str)] = &[
        (
            "unknown section",
            &[("AMSYNC_NOPE__X", "1")],
            "AMSYNC_NOPE__X (sets nope): unknown field `nope`, expected one of `database`",
        ),
        (
            "unknown key",
            &[("AMSYNC_MEMBER_REFRESH__WORKRES", "1")],
            "AMSYNC_MEMBER_REFRESH__WORKRES (sets member_refresh.workres): unknown field `workres`",
        ),
        (
            "bad number",
            &[("AMSYNC_MEMBER_REFRESH__WORKERS", "many")],
            "AMSYNC_MEMBER_REFRESH__WORKERS (sets member_refresh.workers): invalid type: string \"many\", expected u32",
        ),
        (
            "negative number",
            &[("AMSYNC_MEMBER_REFRESH__WORKERS", "-1")],
            "AMSYNC_MEMBER_REFRESH__WORKERS (sets member_refresh.workers): invalid value: integer `-1`",
        ),
        (
            "bad boolean",
            &[("AMSYNC_DATABASE__AUTO_MIGRATE", "yes")],
            "AMSYNC_DATABASE__AUTO_MIGRATE (sets database.auto_migrate): invalid type: string \"yes\", expected a boolean",
        ),
        (
            "bad duration",
            &[("AMSYNC_EVENTS__INTERVAL", "often")],
            "AMSYNC_EVENTS__INTERVAL (sets events.interval): invalid duration \"often\"",
        ),
        (
            "bad variant",
            &[("AMSYNC_AMS__AUTH__KIND", "tokn")],
            "AMSYNC_AMS__AUTH__KIND (sets ams.auth.kind): unknown variant `tokn`, expected one of `api_key`, `basic`, `oauth2`",
        ),
        (
            "a list",
            &[("AMSYNC_SECURITY_GROUPS__IS_MEMBER", "MEMBER")],
            "AMSYNC_SECURITY_GROUPS__IS_MEMBER (sets security_groups.is_member): this key is a list, and lists cannot be \
             overridden by environment",
        ),
        (
            "a list the file does not have",
            &[("AMSYNC_WEB__TRUSTED_PROXIES", "10.0.0.1")],
            "AMSYNC_WEB__TRUSTED_PROXIES (sets web.trusted_proxies): invalid type: string \"10.0.0.1\", expected a list; lists cannot be overridden by environment, set it in the file",
        ),
        (
            "inside a list",
            &[("AMSYNC_COMMUNITIES__RULES__ACTION", "include")],
            "AMSYNC_COMMUNITIES__RULES__ACTION (sets communities.rules.action): communities.rules is a list, and lists \
             cannot be overridden by environment",
        ),
        (
            "a whole table",
            &[("AMSYNC_AMS__AUTH", "none")],
            "AMSYNC_AMS__AUTH (sets ams.auth): this key is a table; override its keys one by one",
        ),
        (
            "malformed name",
            &[("AMSYNC_AMS___KIND", "push")],
            "AMSYNC_AMS___KIND (sets ams._kind): not a valid override name",
        ),
    ];
    let file = "auth = { kind = \"api_key\", value_env = \"AMS_API_KEY\" }\n[communities]\nrules = [{ action = \"exclude\" }]\n\
                [security_groups]\nis_member = [\"MEMBER\"]\n";
    for (name, vars, want) in cases {
        let got = error_of(file, vars);
        assert!(got.starts_with(want), "{name}:\n got: {got}\nwant: {want}…");
    }
}

#[test]
fn the_outcome_does_not_depend_on_the_environments_order() {
    let a = [("AMSYNC_MEMBER_REFRESH__WORKERS", "3"), ("AMSYNC_EVENTS__INTERVAL", "1m")];
    let b = [a[1], a[0]];
    assert_eq!(load_base("", &a).unwrap(), load_base("", &b).unwrap());
}

#[test]
fn cross_field_rules_apply_to_overrides_too() {
    let got = error_of("", &[("AMSYNC_SSO__MODE", "oidc")]);
    assert_eq!(got, "sso.oidc: required when sso.mode = \"oidc\"");
}
