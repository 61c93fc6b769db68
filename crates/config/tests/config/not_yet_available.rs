//! Keys that this version does not run are refused at load, naming the key,
//! whether the file or an environment override writes them; nothing else
//! is refused because of them.

use amsync_config::{ConfigError, NOT_YET_AVAILABLE};

use crate::{load_base, BASE};

/// The TOML that writes `value` at the dotted `key` (`[a.b]` then `c = …`;
/// a top-level key before any table).
fn writing(key: &str, value: &str) -> String {
    match key.rsplit_once('.') {
        Some((table, leaf)) => format!("{BASE}[{table}]\n{leaf} = {value}\n"),
        None => format!("{key} = {value}\n{BASE}"),
    }
}

/// The refusal of `text`, as the keys named and the whole message.
fn refusal(text: &str, vars: &[(&str, &str)]) -> (Vec<String>, String) {
    match crate::load(text, vars) {
        Ok(_) => panic!("accepted:\n{text}\nwith {vars:?}"),
        Err(e @ ConfigError::Invalid(_)) => {
            let ConfigError::Invalid(p) = &e else { unreachable!() };
            (p.iter().map(|p| p.key.clone()).collect(), e.to_string())
        }
        Err(e @ ConfigError::Env { .. }) => {
            let ConfigError::Env { key, .. } = &e else { unreachable!() };
            (vec![key.clone()], e.to_string())
        }
        Err(other) => panic!("not a refusal of a key: {other}\n{text}"),
    }
}

#[test]
fn each_key_of_the_list_is_refused_naming_it() {
    assert!(!NOT_YET_AVAILABLE.is_empty());
    for entry in NOT_YET_AVAILABLE {
        // The entry itself, written as a value (a section written as a
        // value is still that section).
        let (keys, message) = refusal(&writing(entry.key, "\"x\""), &[]);
        assert_eq!(keys, [entry.key], "{message}");
        assert!(message.contains("not available in this version") && message.contains(entry.reason), "{message}");
        assert!(message.contains("(line "), "the line is named: {message}");

        // A key under it, as product.md names them.
        let under = format!("{}.next_token_env", entry.key);
        let (keys, message) = refusal(&writing(&under, "\"NEXT\""), &[]);
        assert_eq!(keys, [under.as_str()], "{message}");

        // Written as an empty table.
        let (keys, _) = refusal(&format!("{BASE}[{}]\n", entry.key), &[]);
        assert_eq!(keys, [entry.key]);
    }
}

#[test]
fn each_key_of_the_list_is_refused_from_the_environment_naming_the_variable() {
    for entry in NOT_YET_AVAILABLE {
        let under = format!("{}.token_env", entry.key);
        let var = format!("AMSYNC_{}", under.to_ascii_uppercase().replace('.', "__"));
        let (keys, message) = refusal(BASE, &[(var.as_str(), "SOME_VARIABLE")]);
        assert_eq!(keys, [under.as_str()], "{message}");
        assert!(message.starts_with(&format!("{var} (sets {under}): not available in this version")), "{message}");
    }
}

/// What product.md (and earlier templates) showed for these sections is
/// refused as written, every key at once, before any type is checked.
#[test]
fn what_earlier_templates_wrote_is_refused_whole() {
    let text = "[web.limits]\npush_max_body = \"16MiB\"\n\
                [webhooks]\nsecret_env = \"AMSYNC_WEBHOOK_SECRET\"\nnext_secret_file = \"/run/secrets/next\"\n\
                outbound = [{ url = \"https://community.example.org/hooks\", secret_env = \"HOOK\", events = [\"member.changed\"] }]\n\
                [push]\ntoken_env = \"AMSYNC_PUSH_TOKEN\"\nnext_token_env = \"AMSYNC_NEXT_PUSH_TOKEN\"\n\
                [scim]\nenabled = \"yes\"\ntoken_env = \"AMSYNC_SCIM_TOKEN\"\nnext_token_file = \"/run/secrets/scim\"\n";
    let (keys, message) = refusal(&format!("{BASE}{text}"), &[]);
    assert_eq!(
        keys,
        [
            "push.next_token_env",
            "push.token_env",
            "scim.enabled",
            "scim.next_token_file",
            "scim.token_env",
            "web.limits.push_max_body",
            "webhooks.next_secret_file",
            "webhooks.outbound",
            "webhooks.secret_env",
        ],
        "{message}"
    );
    assert!(message.contains("webhooks.outbound (line 8): not available in this version"), "{message}");
    assert!(message.contains("web.limits.push_max_body (line 4)"), "{message}");
}

#[test]
fn neighbours_of_the_listed_keys_still_load() {
    let c = load_base("[web.limits]\nmax_body = \"4MiB\"\n", &[("AMSYNC_WEB__LISTEN", "127.0.0.1:9999")]).unwrap();
    assert_eq!(c.web.limits.max_body, 4 << 20);
    // A variable that holds a secret is not an override, whatever its name.
    load_base("", &[("AMSYNC_PUSH_TOKEN", "t"), ("AMSYNC_WEBHOOK_SECRET", "s")]).unwrap();
}
