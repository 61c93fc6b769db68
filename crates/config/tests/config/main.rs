use amsync_config::*;

const BASE: &str = "[ams]\nbase_url = \"https://ams.example.org/api\"\n";

fn probe(extra: &str, env: &[(&str, &str)]) {
    let text = format!("{BASE}{extra}");
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    match Config::from_toml_str(&text, env) {
        Ok(_) => println!("OK: {extra:?}"),
        Err(e) => println!("ERR: {extra:?} => {e}"),
    }
}

#[test]
fn probe_messages() {
    probe("", &[]);
    probe("foo = 1\n", &[]);
    probe("[member_refresh]\nworkers = \"x\"\nbogus = 2\n", &[]);
    probe("[member_refresh]\nbogus = 2\n", &[]);
    probe("[member_refresh]\nworkers = \"x\"\n", &[]);
    probe("auth = { kind = \"tokn\" }\n", &[]);
    probe("[sso]\nresolve = { kind = \"psk\", keys = [{ kid = \"a\", key_env = \"X\", extra = 1 }] }\n", &[]);
    probe("[periodic_refresh]\ninterval = \"1m\"\nschedule = \"0 * * * * *\"\n", &[]);
    probe("[periodic_refresh]\nschedule = \"0 * * *\"\n", &[]);
    probe("", &[("AMSYNC_NOPE__X", "1")]);
    probe("", &[("AMSYNC_MEMBER_REFRESH__WORKERS", "abc")]);
    probe("", &[("AMSYNC_MEMBER_REFRESH__BOGUS", "abc")]);
    probe("", &[("AMSYNC_AMS__AUTH__KIND", "basic")]);
    probe("[web]\nlisten = \"nope\"\n", &[]);
}
