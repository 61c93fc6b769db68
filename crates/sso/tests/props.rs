//! Property tests of the two readers of untrusted input in sign-on: the
//! pre-shared-key token reader and the return-URL check. Whatever comes in,
//! they answer without panicking; what they accept keeps their promises (a
//! token only with every claim in order, a return URL only on amsync's own
//! origin or an allowed host). Fixed seeds and case counts: every run
//! checks the same inputs.

use std::time::Duration;

use amsync_sso::psk::{mint, Claims, PskKey, PskVerifier};
use amsync_sso::ReturnUrlPolicy;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use url::Url;

const AUD: &str = "https://community.example.org";
const NOW: i64 = 1_764_426_000;

fn config(seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases: 512,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

fn key() -> PskKey {
    PskKey::new("k1", [7; 32]).unwrap()
}

fn verifier() -> PskVerifier {
    PskVerifier::new(vec![key(), PskKey::new("k-2", [9; 32]).unwrap()], AUD, Duration::from_secs(300))
}

fn now() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).unwrap()
}

/// Token-shaped text: the version, a key id (valid or not), and a body of
/// base64url-ish characters.
fn tokenish() -> impl Strategy<Value = String> {
    let version = prop::sample::select(vec!["v1", "v2", "", "V1", "v1.v1"]);
    let kid = prop_oneof![Just("k1".to_string()), Just("k-2".to_string()), "[A-Za-z0-9_.$-]{0,40}"];
    let body = "[A-Za-z0-9_=+/.-]{0,200}";
    (version, kid, body).prop_map(|(v, k, b)| format!("{v}.{k}.{b}"))
}

/// Claims JSON as an association's page might get wrong: any fields, any
/// types, any times around now.
fn plaintext() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        Just(serde_json::json!("M000123")),
        Just(serde_json::json!(AUD)),
        Just(serde_json::json!(format!("{AUD}/"))),
        Just(serde_json::json!("")),
        "[ -~\\u{0}\\u{e9}]{0,80}".prop_map(serde_json::Value::String),
    ];
    let time = prop_oneof![
        (-1000i64..1000).prop_map(|d| serde_json::json!(NOW + d)),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::json!(1.5)),
        Just(serde_json::Value::Null),
    ];
    let field = prop::sample::select(vec!["key", "iat", "exp", "jti", "aud", "extra"]);
    let value = prop_oneof![text, time, Just(serde_json::json!([])), Just(serde_json::json!({}))];
    // Complete claims, each field right or slightly wrong: about a third verify.
    let complete = (
        prop_oneof![Just("M000123".to_string()), Just(String::new()), "[ -~]{60,70}"],
        prop_oneof![
            Just(AUD.to_string()),
            Just(format!("{AUD}/")),
            Just(format!("{AUD}//")),
            Just("https://evil.example".to_string())
        ],
        -400i64..100,
        0i64..400,
        prop_oneof![Just("j1".to_string()), Just(String::new()), "[a-z]{129}"],
    )
        .prop_map(|(key, aud, iat, life, jti)| {
            serde_json::to_vec(
                &serde_json::json!({"key": key, "aud": aud, "iat": NOW + iat, "exp": NOW + iat + life, "jti": jti}),
            )
            .unwrap()
        });
    prop_oneof![
        complete,
        prop::collection::vec((field, value), 0..8).prop_map(|kv| {
            let map: serde_json::Map<String, serde_json::Value> =
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            serde_json::to_vec(&map).unwrap()
        }),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Seals `plaintext` with `key()` exactly as a token's body is sealed, so
/// the reader gets past decryption to the claims.
fn seal(plaintext: &[u8]) -> String {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&[7; 32]).unwrap();
    let nonce = [3u8; 12];
    let sealed = cipher.encrypt(&nonce.into(), Payload { msg: plaintext, aad: b"v1.k1" }).unwrap();
    let mut body = nonce.to_vec();
    body.extend_from_slice(&sealed);
    format!("v1.k1.{}", URL_SAFE_NO_PAD.encode(body))
}

proptest! {
    #![proptest_config(config(0x7073_6b31))]

    #[test]
    fn any_text_is_refused_or_verified_never_a_panic(token in ".{0,300}") {
        let _ = verifier().verify(&token, now());
    }

    #[test]
    fn token_shaped_text_never_verifies(token in tokenish()) {
        // Without the key, nothing made up decrypts.
        prop_assert!(verifier().verify(&token, now()).is_err());
    }

    #[test]
    fn sealed_claims_verify_only_when_every_check_holds(plain in plaintext()) {
        let token = seal(&plain);
        if let Ok(v) = verifier().verify(&token, now()) {
            let claims: Claims = serde_json::from_slice(&plain).expect("accepted claims are the claims JSON");
            prop_assert_eq!(claims.aud.trim_end_matches('/'), AUD);
            prop_assert!(claims.iat <= NOW + 60 && NOW - claims.iat <= 300);
            prop_assert!(claims.exp - claims.iat <= 300 && NOW < claims.exp);
            prop_assert!(!claims.jti.is_empty() && claims.jti.len() <= 128);
            prop_assert_eq!(v.member.as_str(), claims.key.as_str());
        }
    }

    #[test]
    fn one_changed_character_of_a_good_token_is_refused(index in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.-]") {
        let good = mint(&key(), &Claims::new("M000123", AUD, now(), Duration::from_secs(120)));
        let mut chars: Vec<char> = good.chars().collect();
        let i = index.index(chars.len());
        let replacement = c.chars().next().unwrap();
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let bad: String = chars.into_iter().collect();
        let same_body = |t: &str| t.rsplit('.').next().and_then(|b| URL_SAFE_NO_PAD.decode(b).ok());
        // The last character of unpadded base64 carries spare bits: a change
        // there may decode to the very same bytes, which is the same token.
        let identical = bad.starts_with("v1.k1.") && same_body(&bad).is_some() && same_body(&bad) == same_body(&good);
        prop_assert!(identical || verifier().verify(&bad, now()).is_err(), "{bad} verified");
    }
}

fn policy() -> ReturnUrlPolicy {
    ReturnUrlPolicy::new(Url::parse("https://community.example.org/app/").unwrap(), &["www.example.org".to_string()])
}

/// Pieces of return URLs, tricks included: other hosts, encoded slashes and
/// backslashes, user info, dot segments, control characters.
fn urlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "/",
        "//",
        "\\",
        "/\\",
        "http:",
        "https:",
        "https://",
        "http://",
        "javascript:",
        "data:",
        "evil.example",
        "www.example.org",
        "community.example.org",
        "community.example.org:444",
        "@",
        ":",
        "?",
        "#",
        ".",
        "..",
        "/..",
        "/./",
        "%2e%2e",
        "%2e",
        "%2f",
        "%2F",
        "%5c",
        "%252f",
        "%09",
        "%0a",
        "%00",
        "%40",
        "x",
        "path",
        "a=b",
        "&",
        " ",
        "\t",
        "\n",
        "\u{e9}",
        "\u{3000}",
        "[::1]",
        "127.0.0.1",
        ";",
        "=",
    ]);
    prop::collection::vec(atoms, 0..12).prop_map(|parts| parts.concat())
}

/// Return URLs built around dot segments: a path that may climb (`..`,
/// `.`, and their percent-encoded forms), then slashes or backslashes, then
/// a host-like segment and a tail. Normalising `/..//evil.example` gives
/// `//evil.example`, another host: the shape that the check once accepted.
fn dotted() -> impl Strategy<Value = String> {
    let lead = prop::sample::select(vec![
        "/",
        "",
        "\\",
        "https://community.example.org/",
        "https:",
        "http://www.example.org/",
    ]);
    let dots = prop::collection::vec(
        prop::sample::select(vec![
            "..",
            ".",
            "%2e%2e",
            "%2E%2E",
            ".%2e",
            "%2e.",
            "%2e",
            "%252e%252e",
            "x",
            "a/b",
            "",
            "..%2f",
            "..%5c",
        ]),
        1..4,
    );
    let joint =
        prop::sample::select(vec!["/", "/", "//", "///", "\\", "/\\", "\\/", "%2f", "%2F/", "%5c", "/%09/", "/\t/"]);
    let host = prop::sample::select(vec!["evil.example", "www.example.org", "community.example.org", "x", ""]);
    let tail = prop::sample::select(vec!["", "/", "/path", "?q=/..//evil.example", "#//evil.example", "@evil.example"]);
    (lead, dots, joint, host, tail)
        .prop_map(|(lead, dots, joint, host, tail)| format!("{lead}{}{joint}{host}{tail}", dots.join("/")))
}

/// Where a browser lands when it follows an accepted return URL from a
/// `Location` header on one of amsync's pages: the URL resolved against
/// amsync's own URL (the `url` crate implements the WHATWG URL standard
/// browsers follow), or `None` when it does not resolve at all.
fn destination(accepted: &str) -> Option<Url> {
    let base = Url::parse("https://community.example.org/app/").unwrap();
    base.join(accepted).ok()
}

fn allowed_origin(u: &Url) -> bool {
    let host = u.host_str().unwrap_or_default();
    (u.scheme() == "https" && host == "community.example.org" && u.port_or_known_default() == Some(443))
        || (host == "www.example.org" && u.port().is_none() && matches!(u.scheme(), "http" | "https"))
}

/// The promises about what `check` returns, as a browser would read it.
fn assert_lands_on_an_allowed_host(raw: &str, out: &str) -> Result<(), TestCaseError> {
    prop_assert!(!out.contains('\\') && !out.chars().any(char::is_control), "{raw:?} → {out:?}");
    if Url::parse(out).is_err() {
        // Relative: a browser resolves it against the page, so it must be a
        // path that names no host.
        prop_assert!(out.starts_with('/'), "{raw:?} → {out:?}: neither absolute nor a path");
        prop_assert!(!out.starts_with("//") && !out.starts_with("/\\"), "{raw:?} → {out:?}");
    }
    let landing = destination(out);
    prop_assert!(landing.as_ref().is_some_and(allowed_origin), "{raw:?} → {out:?} lands on {landing:?}");
    Ok(())
}

proptest! {
    #![proptest_config(config(0x7265_7475_726e))]

    #[test]
    fn any_text_is_checked_without_a_panic(raw in ".{0,300}") {
        if let Ok(out) = policy().check(&raw) {
            assert_lands_on_an_allowed_host(&raw, &out)?;
        }
    }

    #[test]
    fn an_accepted_return_url_never_leaves_the_allowed_hosts(raw in urlish()) {
        if let Ok(out) = policy().check(&raw) {
            assert_lands_on_an_allowed_host(&raw, &out)?;
        }
    }

    #[test]
    fn dot_segments_never_lead_off_site(raw in dotted()) {
        if let Ok(out) = policy().check(&raw) {
            assert_lands_on_an_allowed_host(&raw, &out)?;
        }
    }
}
