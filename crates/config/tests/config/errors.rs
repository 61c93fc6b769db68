use amsync_config::ConfigError;

use crate::{error_of, load};

/// Unknown keys are refused at every level, with the full dotted path.
#[test]
fn unknown_keys_are_refused_with_their_path() {
    let cases = [
        ("section", "[member_refresh]\nworkerz = 1\n", "member_refresh.workerz (line 4): unknown field `workerz`"),
        ("unknown section", "[membre_refresh]\nworkers = 1\n", "membre_refresh (line 3): unknown field `membre_refresh`"),
        ("sub-table", "[web.limits]\nmax_bodies = \"1MiB\"\n", "web.limits.max_bodies (line 4): unknown field"),
        (
            "inline table by kind",
            "[auth]\nauth = { kind = \"api_key\", value_env = \"K\", username = \"u\" }\n",
            "auth.auth.username (line 4): unknown field `username`, expected one of `header`, `value_env`, `value_file`",
        ),
        (
            "list item",
            "[communities]\nrules = [{ action = \"exclude\" }, { action = \"include\", grouptype = \"x\" }]\n",
            "communities.rules[1].grouptype (line 4): unknown field `grouptype`",
        ),
        (
            "tagged list item",
            "[sso]\nresolve = { kind = \"psk\", keys = [{ kid = \"a\", key_env = \"K\", key = \"x\" }] }\n",
            "sso.resolve.keys[0].key (line 4): unknown field `key`",
        ),
        (
            "variant without fields",
            "[sso]\nresolve = { kind = \"web-service\", url = \"x\" }\n",
            "sso.resolve.url (line 4): unknown field `url`",
        ),
        (
            "optional sub-table",
            "[sso.oidc]\nissuer = \"https://id.example.org\"\nclient_id = \"a\"\nclient = \"b\"\n",
            "sso.oidc.client (line 6): unknown field `client`",
        ),
        (
            "deep sub-table",
            "[ams.soap]\nendpoint = \"https://x.example.org\"\n[ams.soap.operations]\nget_members = \"X\"\n",
            "ams.soap.operations.get_members (line 6): unknown field `get_members`",
        ),
        ("periodic", "[periodic_refresh]\nevery = \"1m\"\n", "periodic_refresh.every (line 4): unknown field `every`"),
    ];
    for (name, extra, want) in cases {
        let got = error_of(extra, &[]);
        assert!(got.starts_with(want), "{name}:\n got: {got}\nwant: {want}…");
    }
    let top = load(&format!("colour = 1\n{}", crate::BASE), &[]).unwrap_err().to_string();
    assert!(top.starts_with("colour (line 1): unknown field `colour`, expected one of `database`, `ams`"), "{top}");
}

/// Bad values are refused with the key (and its line) named.
#[test]
fn bad_values_are_refused_with_their_key() {
    let cases = [
        ("[events]\ninterval = \"30 minutes-ish\"\n", "events.interval (line 4): invalid duration \"30 minutes-ish\""),
        ("[events]\ninterval = 30\n", "events.interval (line 4): invalid type: integer `30`, expected a duration"),
        ("[web.limits]\nmax_body = \"2 lots\"\n", "web.limits.max_body (line 4): invalid size \"2 lots\""),
        ("[web.limits]\nmax_body = 2048\n", "web.limits.max_body (line 4): invalid type: integer `2048`, expected a size"),
        ("[communities]\ntimezone = \"Europe/Atlantis\"\n", "communities.timezone (line 4): unknown time zone \"Europe/Atlantis\""),
        ("[periodic_refresh]\nschedule = \"*/5 * * * *\"\n", "periodic_refresh.schedule (line 4): invalid cron expression"),
        (
            "[periodic_refresh]\ninterval = \"1m\"\nschedule = \"0 * * * * *\"\n",
            "periodic_refresh.schedule (line 5): give either interval or schedule, not both",
        ),
        ("[web]\nlisten = \"localhost:8080\"\n", "web.listen (line 4): invalid socket address \"localhost:8080\""),
        ("[web]\npublic_url = \"amsync.example.org\"\n", "web.public_url (line 4): invalid URL \"amsync.example.org\""),
        ("[web]\npublic_url = \"ftp://amsync.example.org\"\n", "web.public_url (line 4): invalid URL"),
        ("[web]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.300\"]\n", "web.trusted_proxies[1] (line 4): invalid IP address"),
        ("[sso]\nmode = \"saml\"\n", "sso.mode (line 4): unknown variant `saml`, expected one of `credentials`, `session-variable`, `oidc`"),
        ("[sso]\ntoken = { source = \"header\" }\n", "sso.token.source (line 4): unknown variant `header`"),
        ("[log]\nformat = \"xml\"\n", "log.format (line 4): unknown variant `xml`, expected `text` or `json`"),
        ("[member_refresh]\nworkers = 4.5\n", "member_refresh.workers (line 4): invalid type: floating point `4.5`, expected u32"),
        ("[security_groups]\nis_member = [\"\"]\n", "security_groups.is_member[0] (line 4): key is empty"),
        ("[sso]\nallow_unsolicited = \"yes\"\n", "sso.allow_unsolicited (line 4): invalid type: string \"yes\", expected a boolean"),
        (
            "[ams.scim]\nbase_url = \"https://scim.example.org\"\ntoken_env = 5\n",
            "ams.scim.token_env (line 5): invalid type: integer `5`, expected a string",
        ),
        (
            "[sso]\nresolve = { kind = \"psk\", keys = [], max_age = \"forever\" }\n",
            "sso.resolve.max_age (line 4): invalid duration \"forever\"",
        ),
        (
            "[auth]\nauth = { kind = \"oauth2\", token_url = \"nope\", client_id = \"c\", client_secret_env = \"S\" }\n",
            "auth.auth.token_url (line 4): invalid URL \"nope\"",
        ),
        ("[auth]\nauth = { header = \"X\" }\n", "auth.auth (line 4): missing field `kind`"),
        ("[auth]\nauth = \"none\"\n", "auth.auth (line 4): invalid type: string \"none\", expected a table"),
        ("[auth]\nauth = { kind = 1 }\n", "auth.auth.kind (line 4): invalid type: integer, expected a string"),
        ("[retention]\nhistory = \"30s\"\n", "retention.history (line 4): must be at least 1h"),
        ("[retention]\nsessions = \"a week\"\n", "retention.sessions (line 4): invalid duration"),
        ("max_pages = 0\n", "ams.max_pages (line 3): must be at least 1"),
        ("http_version = \"3\"\n", "ams.http_version (line 3): \"3\" is not an HTTP version amsync speaks"),
    ];
    for (extra, want) in cases {
        let got = error_of(extra, &[]);
        assert!(got.starts_with(want), "{extra:?}:\n got: {got}\nwant: {want}…");
    }
}

#[test]
fn source_kinds_are_listed_when_one_is_wrong() {
    let err = load("[ams]\nkind = \"graphql\"\n", &[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "ams.kind (line 2): unknown variant `graphql`, expected one of `http-json`, `http-xml`, `soap`, `sql`, `scim`, `push`"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let err = load("[ams]\nbase_url = \"https://x.example.org\"\nkind = http-json\n", &[]).unwrap_err();
    assert!(matches!(err, ConfigError::Syntax(_)));
    let text = err.to_string();
    assert!(text.contains("line 3"), "{text}");
}

#[test]
fn a_missing_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("amsync.toml");
    let err = amsync_config::Config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("amsync.toml"));

    std::fs::write(&path, format!("\u{feff}{}", crate::BASE)).unwrap();
    amsync_config::Config::load(&path).unwrap();
}

/// `ams.http_version` takes the versions as text or as bare numbers, from
/// the file and from the environment.
#[test]
fn http_version_forms() {
    use amsync_config::HttpVersion;
    let cases = [
        ("", HttpVersion::Auto),
        ("http_version = \"auto\"\n", HttpVersion::Auto),
        ("http_version = \"1.1\"\n", HttpVersion::Http1),
        ("http_version = 1.1\n", HttpVersion::Http1),
        ("http_version = \"2\"\n", HttpVersion::Http2),
        ("http_version = 2\n", HttpVersion::Http2),
    ];
    for (extra, want) in cases {
        let cfg = crate::load_base(extra, &[]).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
        assert_eq!(cfg.ams.http_version, want, "{extra:?}");
    }
    let cfg = crate::load_base("", &[("AMSYNC_AMS__HTTP_VERSION", "2")]).unwrap();
    assert_eq!(cfg.ams.http_version, HttpVersion::Http2);
}
