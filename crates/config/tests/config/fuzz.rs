//! Whatever text or environment comes in, loading answers with a
//! configuration or an error, never a panic.

use amsync_config::{Config, TEMPLATE};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // A fixed seed: a failure shows up on every run, not once in a while.
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x636f_6e66_6967),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        let _ = Config::from_toml_str(&text, []);
    }

    #[test]
    fn tomlish_text_never_panics(text in r#"(\[[a-z_.]{1,20}\]\n|[a-z_]{1,12} = ("[^"\n]{0,20}"|[0-9.-]{1,6}|true|\[\]|\{ kind = "[a-z_-]{1,10}" \})\n){0,12}"#) {
        let _ = Config::from_toml_str(&text, []);
    }

    #[test]
    fn a_template_line_replaced_never_panics(line in 0usize..400, replacement in ".{0,60}") {
        let mut lines: Vec<&str> = TEMPLATE.lines().collect();
        let i = line % lines.len();
        lines[i] = &replacement;
        let _ = Config::from_toml_str(&lines.join("\n"), []);
    }

    #[test]
    fn arbitrary_overrides_never_panic(
        name in r"AMSYNC_[A-Za-z_]{0,20}__[A-Za-z_]{0,20}(__[A-Za-z_]{0,10})?",
        value in ".{0,40}",
    ) {
        let _ = Config::from_toml_str(TEMPLATE, [(name, value)]);
    }
}
