use std::collections::HashMap;

use amsync_config::*;

use crate::load_base;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const PSK_32: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn serving_needs_the_admin_token() {
    let c = load_base("", &[]).unwrap();
    let err = c.validate_for_serve(&vars(&[])).unwrap_err().to_string();
    assert_eq!(err, "web.admin_token_env: environment variable AMSYNC_ADMIN_TOKEN is not set");
    let err = c.validate_for_serve(&vars(&[("AMSYNC_ADMIN_TOKEN", "")])).unwrap_err().to_string();
    assert_eq!(err, "web.admin_token_env: environment variable AMSYNC_ADMIN_TOKEN is set but empty");
    c.validate_for_serve(&vars(&[("AMSYNC_ADMIN_TOKEN", "t0ken")])).unwrap();
}

#[test]
fn serving_needs_every_secret_in_use_and_names_them_all() {
    let text = "auth = { kind = \"oauth2\", token_url = \"https://ams.example.org/token\", client_id = \"c\", client_secret_env = \"AMS_SECRET\" }\n\
                [database]\nurl_env = \"DB_URL\"\n\
                [web]\nadmin_token_file = \"/nonexistent/amsync/admin\"\nnext_site_token_env = \"NEXT_SITE\"\n\
                [sso]\nmode = \"session-variable\"\nlogin_url = \"https://www.example.org/login\"\n\
                resolve = { kind = \"psk\", keys = [{ kid = \"k1\", key_env = \"PSK1\" }, { kid = \"k2\", key_env = \"PSK2\" }] }\n";
    let c = load_base(text, &[]).unwrap();
    let env = vars(&[("PSK1", "c2hvcnQ="), ("PSK2", PSK_32), ("DB_URL", "mysql://root:hunter2@db/x")]);
    let err = c.validate_for_serve(&env).unwrap_err();
    let ConfigError::Invalid(problems) = &err else { panic!("{err}") };
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "web.admin_token_file",
            "web.next_site_token_env",
            "database.url_env",
            "ams.auth.client_secret_env",
            "sso.resolve.keys[0].key_env",
        ]
    );
    let text = err.to_string();
    assert!(text.contains("web.admin_token_file: cannot read file /nonexistent/amsync/admin"), "{text}");
    assert!(text.contains("environment variable PSK1 must hold 32 bytes in standard base64"), "{text}");
    assert!(text.contains("database.url_env: environment variable DB_URL: expected a URL starting with"), "{text}");
    assert!(!text.contains("hunter2") && !text.contains("c2hvcnQ"), "values never appear: {text}");
}

#[test]
fn optional_secrets_may_be_unset_but_not_broken() {
    let c = load_base("[web]\nsite_token_file = \"/nonexistent/amsync/site\"\n", &[]).unwrap();
    let env = vars(&[("AMSYNC_ADMIN_TOKEN", "a")]);
    let err = c.validate_for_serve(&env).unwrap_err().to_string();
    assert!(err.starts_with("web.site_token_file: cannot read file"), "{err}");

    let c = load_base("", &[]).unwrap();
    assert!(c.web.site_token().resolve_optional(&env).unwrap().is_none(), "no site token: the feature is off");
    c.validate_for_serve(&env).unwrap();
}

#[test]
fn secrets_resolve_from_variables_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("ams_key");
    std::fs::write(&key_file, "from-a-file\n").unwrap();
    let text = format!(
        "auth = {{ kind = \"api_key\", value_file = {:?} }}\n[auth]\nauth = {{ kind = \"basic\", username = \"u\", password_env = \"AUTH_PW\" }}\n",
        key_file.display().to_string()
    );
    let c = load_base(&text, &[]).unwrap();
    let env = vars(&[("AUTH_PW", "from-a-variable")]);
    let ams = c.ams.auth_secret().unwrap();
    assert_eq!(ams.key(), "ams.auth.value_file");
    assert_eq!(ams.resolve(&env).unwrap().expose_secret(), "from-a-file");
    let auth = c.credential_service().auth_secret().unwrap();
    assert_eq!(auth.resolve(&env).unwrap().expose_secret(), "from-a-variable");
    assert_eq!(auth.to_string(), "environment variable AUTH_PW", "safe to log");
    let mut env = env;
    env.insert("AMSYNC_ADMIN_TOKEN".into(), "a".into());
    c.validate_for_serve(&env).unwrap();
}

#[test]
fn database_urls_and_redaction() {
    let c = load_base("", &[]).unwrap();
    assert_eq!(c.database_url(&vars(&[])).unwrap().expose_secret(), "sqlite://amsync.db");

    let c = load_base("[database]\nurl_env = \"DB\"\n", &[]).unwrap();
    let env = vars(&[("DB", "postgres://amsync:hunter2@db.internal/amsync?sslmode=require")]);
    assert_eq!(c.database_url(&env).unwrap().expose_secret(), env["DB"]);
    assert_eq!(c.database_url_redacted(&env), "postgres://amsync:***@db.internal/amsync?sslmode=require");
    assert_eq!(c.database_url_redacted(&vars(&[])), "(from environment variable DB, unavailable)");
    let err = c.database_url(&vars(&[])).unwrap_err().to_string();
    assert_eq!(err, "database.url_env: environment variable DB is not set");
}

#[test]
fn secrets_are_never_printed_in_debug_output() {
    let secret = SecretSource::Env { key: "k".into(), var: "V".into() }.resolve(&vars(&[("V", "hunter2")])).unwrap();
    assert!(!format!("{secret:?}").contains("hunter2"));
}

#[test]
fn psk_keys_are_listed_with_their_kids() {
    let text = "[sso]\nresolve = { kind = \"psk\", keys = [{ kid = \"old\", key_env = \"A\" }, { kid = \"new\", key_file = \"/k\" }] }\n";
    let c = load_base(text, &[]).unwrap();
    let keys = c.sso.psk_keys();
    assert_eq!(keys[0].0, "old");
    assert_eq!(keys[1].1, SecretSource::File { key: "sso.resolve.keys[1].key_file".into(), path: "/k".into() });
}
