use amsync_config::ConfigError;

use crate::{load, problem_keys, BASE};

const SQL: &str =
    "[ams]\nkind = \"sql\"\n[ams.sql]\nurl_env = \"U\"\nchanged_members = \"q\"\nmember_details = \"q\"\n\
                   member_communities = \"q\"\nmember_security_groups = \"q\"\nchanged_events = \"q\"\n";

/// Each case: a file, and the keys validation must name (exactly).
#[test]
fn rules_across_keys() {
    let psk = "[sso]\nmode = \"session-variable\"\nlogin_url = \"https://www.example.org/login\"\n";
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("http kinds need a base URL", "[ams]\nkind = \"http-xml\"\n".into(), vec!["ams.base_url"]),
        ("an empty file", String::new(), vec!["ams.base_url"]),
        ("soap needs [ams.soap]", "[ams]\nkind = \"soap\"\n".into(), vec!["ams.soap"]),
        ("scim needs [ams.scim]", "[ams]\nkind = \"scim\"\n[auth]\nkind = \"none\"\n[sso]\nmode = \"oidc\"\n[sso.oidc]\nissuer = \"https://id.example.org\"\nclient_id = \"c\"\n".into(), vec!["ams.scim"]),
        (
            "sql without a credential service cannot sign in with credentials",
            SQL.into(),
            vec!["sso.mode"],
        ),
        ("[ams.sql] belongs to kind sql", SQL.replace("kind = \"sql\"", "kind = \"http-json\"\nbase_url = \"https://x.example.org\""), vec!["ams.sql"]),
        (
            "[ams.soap] belongs to kind soap or auth.kind soap",
            format!("{BASE}[ams.soap]\nendpoint = \"https://ams.example.org/soap\"\n"),
            vec!["ams.soap"],
        ),
        ("oidc needs [sso.oidc]", format!("{BASE}[sso]\nmode = \"oidc\"\n"), vec!["sso.oidc"]),
        ("session-variable needs a login page", format!("{BASE}[sso]\nmode = \"session-variable\"\n"), vec!["sso.login_url"]),
        (
            "psk needs keys, well-formed and distinct",
            format!("{BASE}{psk}resolve = {{ kind = \"psk\", keys = [] }}\n"),
            vec!["sso.resolve.keys"],
        ),
        (
            "kids",
            format!(
                "{BASE}{psk}resolve = {{ kind = \"psk\", keys = [{{ kid = \"a b\", key_env = \"K1\" }}, {{ kid = \"k\", key_env = \"K2\" }}, {{ kid = \"k\", key_file = \"/k\" }}, {{ kid = \"ok\" }}] }}\n"
            ),
            vec!["sso.resolve.keys[0].kid", "sso.resolve.keys[2].kid", "sso.resolve.keys[3].key_env"],
        ),
        (
            "web-service resolution needs a credential service",
            format!("{SQL}[sso]\nmode = \"session-variable\"\nlogin_url = \"https://www.example.org/login\"\n"),
            vec!["sso.resolve"],
        ),
        ("soap credentials need [ams.soap]", format!("{BASE}[auth]\nkind = \"soap\"\n"), vec!["auth.kind"]),
        (
            "an http credential service needs a URL",
            format!("{SQL}[auth]\nkind = \"http-xml\"\n"),
            vec!["auth.base_url"],
        ),
        (
            "queue settings",
            format!("{BASE}[member_refresh]\nworkers = 0\nmax_attempts = 0\nbackoff_initial = \"1m\"\nbackoff_max = \"10s\"\nlease = \"1s\"\n"),
            vec![
                "member_refresh.workers",
                "member_refresh.max_attempts",
                "member_refresh.backoff_max",
                "member_refresh.lease",
            ],
        ),
        (
            "shares",
            format!("{BASE}[quarantine]\nfailure_share = 0\n[thresholds]\nmax_disable_share = 1.5\nmax_membership_removal_share = -0.1\n"),
            vec!["quarantine.failure_share", "thresholds.max_disable_share", "thresholds.max_membership_removal_share"],
        ),
        (
            "sessions",
            format!("{BASE}[sessions]\nlifetime = \"1h\"\nidle_timeout = \"2h\"\nmobile_token_lifetime = \"10s\"\n"),
            vec!["sessions.mobile_token_lifetime", "sessions.idle_timeout"],
        ),
        (
            "groups",
            format!(
                "{BASE}[security_groups]\nis_member = [\"MEMBER\", \"member\", \"IsMember\"]\nlocal = [{{ key = \"Editors\", name = \"Editors\" }}, {{ key = \"EDITORS\", name = \" \" }}, {{ key = \"superadmin\", name = \"S\" }}, {{ key = \"Member\", name = \"M\" }}]\n"
            ),
            vec![
                "security_groups.is_member[1]",
                "security_groups.is_member[2]",
                "security_groups.local[1].key",
                "security_groups.local[1].name",
                "security_groups.local[2].key",
                "security_groups.local[3].key",
            ],
        ),
        (
            "a secret named twice",
            format!("{BASE}[web]\nadmin_token_env = \"T\"\nadmin_token_file = \"/t\"\n"),
            vec!["web.admin_token_file"],
        ),
        (
            "a secret pasted where its variable's name belongs",
            format!("{BASE}[web]\nnext_site_token_env = \"abc def=\"\n"),
            vec!["web.next_site_token_env"],
        ),
        ("admin and site token are one", format!("{BASE}[web]\nsite_token_env = \"AMSYNC_ADMIN_TOKEN\"\n"), vec!["web.site_token_env"]),
        ("an auth secret is required", "[ams]\nbase_url = \"https://x.example.org\"\nauth = { kind = \"basic\", username = \"u\" }\n".into(), vec!["ams.auth.password_env"]),
        ("header names", "[ams]\nbase_url = \"https://x.example.org\"\nauth = { kind = \"api_key\", header = \"X Key\", value_env = \"K\" }\n".into(), vec!["ams.auth.header"]),
        (
            "database URL given twice",
            format!("{BASE}[database]\nurl = \"sqlite://a.db\"\nurl_env = \"DB\"\n"),
            vec!["database.url"],
        ),
        ("database scheme", format!("{BASE}[database]\nurl = \"mysql://db/amsync\"\n"), vec!["database.url"]),
        ("log level", format!("{BASE}[log]\nlevel = \"loud\"\n"), vec!["log.level"]),
        ("return hosts", format!("{BASE}[sso]\nallowed_return_hosts = [\"ok.example.org:8443\", \"https://x.example.org/\"]\n"), vec!["sso.allowed_return_hosts[1]"]),
        (
            "oidc settings",
            format!("{BASE}[sso.oidc]\nissuer = \"https://id.example.org\"\nclient_id = \"\"\nscopes = [\"profile\"]\n"),
            vec!["sso.oidc.client_id", "sso.oidc.scopes"],
        ),
        ("intervals", format!("{BASE}[periodic_refresh]\ninterval = \"0s\"\n[events]\ninterval = \"10ms\"\n"), vec!["periodic_refresh.interval", "events.interval"]),
    ];
    for (name, text, want) in cases {
        let got = problem_keys(&text);
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let err = load("[member_refresh]\nworkers = 0\n[sso]\nmode = \"oidc\"\n", &[]).unwrap_err();
    let ConfigError::Invalid(problems) = &err else { panic!("{err}") };
    assert_eq!(problems.0.len(), 3);
    let text = err.to_string();
    assert!(
        text.starts_with("3 problems in the configuration:\n  ams.base_url: required when ams.kind = \"http-json\""),
        "{text}"
    );
    assert!(text.contains("\n  member_refresh.workers (line 2): must be at least 1"), "{text}");
    assert!(text.contains("\n  sso.oidc (line 3): required when sso.mode = \"oidc\""), "{text}");
}

#[test]
fn valid_combinations() {
    let cases = [
        ("push with its own credential service", "[ams]\nkind = \"push\"\n[auth]\nkind = \"http-json\"\nbase_url = \"https://auth.example.org\"\n".to_string()),
        ("soap as the credential service only", format!("{BASE}[auth]\nkind = \"soap\"\n[ams.soap]\nendpoint = \"https://ams.example.org/soap\"\n")),
        ("sql with psk sign-in", format!("{SQL}[sso]\nmode = \"session-variable\"\nlogin_url = \"https://www.example.org/login\"\nresolve = {{ kind = \"psk\", keys = [{{ kid = \"k1\", key_env = \"PSK\" }}] }}\n")),
        ("oidc", format!("{BASE}[sso]\nmode = \"oidc\"\n[sso.oidc]\nissuer = \"https://id.example.org\"\nclient_id = \"amsync\"\nmobile_client_ids = [\"app\"]\n")),
        ("cron", format!("{BASE}[periodic_refresh]\nschedule = \"0 */30 * * * *\"\n")),
        ("postgres from a file", format!("{BASE}[database]\nurl_file = \"/run/secrets/db\"\nauto_migrate = false\n")),
    ];
    for (name, text) in cases {
        load(&text, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
