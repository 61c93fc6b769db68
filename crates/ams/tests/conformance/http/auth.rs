//! Authentication to the AMS: api key, basic, OAuth2 client credentials
//! (token cached, renewed after expiry, one fetch for concurrent callers, a
//! 401 renews once). Secrets never appear in errors or `Debug`.

use std::sync::Arc;
use std::time::Duration;

use amsync_ams::config::HttpAuth;
use amsync_ams::{AmsSource, CredentialService, HttpEncoding, HttpSource, SourceError};
use amsync_core::secret::SecretCell;
use amsync_core::FailureKind;
use secrecy::SecretString;

use crate::http::server::{Script, ServerAuth, TestAms, CLIENT_ID, CLIENT_SECRET};
use crate::http::support::{api_key, basic, config, key, oauth2, source, Secrets};

/// The variable every check names its secret by.
const VAR: &str = "AMS_SECRET";

/// A test AMS wanting `server`, and a source configured with the
/// authentication `client` makes, its secret in `secret`'s cell.
async fn with_auth(
    encoding: HttpEncoding,
    server: ServerAuth,
    client: impl FnOnce(&TestAms) -> HttpAuth,
    secret: impl Into<SecretCell>,
) -> (TestAms, HttpSource) {
    let ams = TestAms::start(encoding).await;
    ams.set_auth(server);
    let mut cfg = config(&ams);
    cfg.auth = Some(client(&ams));
    let src = source(&cfg, &mut Secrets::with(VAR, secret));
    (ams, src)
}

/// OAuth2 with our client id, its secret in `VAR`.
fn oauth(ams: &TestAms) -> HttpAuth {
    oauth2(ams, CLIENT_ID, VAR)
}

async fn api_key_uses_the_default_header(encoding: HttpEncoding) {
    let server = ServerAuth::ApiKey { header: "X-Api-Key".into(), value: "k-123".into() };
    let (ams, src) = with_auth(encoding, server, |_| api_key("X-Api-Key", VAR), "k-123").await;
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.hits()[0].header("x-api-key"), Some("k-123"));
}

async fn api_key_with_a_custom_header_and_a_wrong_key(encoding: HttpEncoding) {
    let server = ServerAuth::ApiKey { header: "Ocp-Apim-Subscription-Key".into(), value: "right".into() };
    let client = |_: &TestAms| api_key("Ocp-Apim-Subscription-Key", VAR);
    let (_ams, src) = with_auth(encoding, server.clone(), client, "right").await;
    src.member_groups(&key("M000123")).await.unwrap();
    let (_ams, src) = with_auth(encoding, server, client, "wrong").await;
    let e = src.member_groups(&key("M000123")).await.unwrap_err();
    assert_eq!((e.kind(), e.to_failure().status), (FailureKind::Unauthorized, Some(401)));
    assert!(!e.to_string().contains("wrong") && !format!("{e:?}").contains("wrong"), "{e:?}");
}

async fn basic_auth(encoding: HttpEncoding) {
    let server = ServerAuth::Basic { username: "community".into(), password: "pä55:word".into() };
    let client = |_: &TestAms| basic("community", VAR);
    let (_ams, src) = with_auth(encoding, server.clone(), client, "pä55:word").await;
    src.member_communities(&key("M000123")).await.unwrap();
    let (_ams, src) = with_auth(encoding, server, client, "nope").await;
    assert_eq!(src.member_communities(&key("M000123")).await.unwrap_err().kind(), FailureKind::Unauthorized);
}

async fn oauth2_token_is_cached_across_calls(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    *ams.state.token_expires_in.lock().unwrap() = Some(3600);
    for _ in 0..3 {
        src.member_details(&key("M000123")).await.unwrap();
        src.changed_members(None, None).await.unwrap();
    }
    assert_eq!(ams.token_fetches(), 1);
    assert_eq!(src.token_fetches(), 1);
    assert!(ams.hits().iter().all(|h| h.header("authorization") == Some("Bearer tok-1")));
    // The token request: client credentials grant, scope, client_secret_basic.
    let (headers, form) = ams.state.token_requests.lock().unwrap()[0].clone();
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())), "{form:?}");
    assert!(form.contains(&("scope".into(), "ams.read".into())), "{form:?}");
    assert!(headers.get("authorization").unwrap().to_str().unwrap().starts_with("Basic "));
}

async fn oauth2_token_is_renewed_after_expiry(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    *ams.state.token_expires_in.lock().unwrap() = Some(1);
    src.member_details(&key("M000123")).await.unwrap();
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.token_fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.token_fetches(), 2);
    assert_eq!(ams.hits().last().unwrap().header("authorization"), Some("Bearer tok-2"));
}

async fn oauth2_concurrent_callers_share_one_fetch(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    *ams.state.token_delay.lock().unwrap() = Duration::from_millis(200);
    let src = Arc::new(src);
    let calls = (0..16).map(|_| {
        let src = src.clone();
        tokio::spawn(async move { src.member_details(&key("M000123")).await.map(|_| ()) })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(ams.token_fetches(), 1);
}

async fn oauth2_a_401_renews_the_token_once(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    src.member_details(&key("M000123")).await.unwrap();
    ams.revoke_tokens();
    // The revoked token gets a 401; the source fetches a new one and repeats.
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.token_fetches(), 2);
    let auths: Vec<_> = ams.hits().iter().map(|h| h.header("authorization").unwrap().to_string()).collect();
    assert_eq!(auths, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);

    // An AMS that keeps refusing gets exactly one repeat, then Unauthorized.
    ams.script(Script::new("/members/M000123", 401, "no"));
    let before = ams.hits().len();
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Unauthorized);
    assert_eq!(ams.hits().len() - before, 2);
    assert_eq!(ams.token_fetches(), 3);
}

async fn oauth2_credential_401_is_an_answer_unless_the_token_was_refused(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    let wrong = SecretString::from("wrong-password");
    assert_eq!(src.authenticate("ada", &wrong).await.unwrap(), None);
    assert_eq!(src.authenticate("ada", &wrong).await.unwrap(), None);
    assert_eq!(ams.token_fetches(), 1, "a wrong password must not cost a token fetch");
    // A revoked token is refused with a Bearer challenge: renewed once.
    ams.revoke_tokens();
    let right = SecretString::from("right-password");
    assert_eq!(src.authenticate("ada", &right).await.unwrap(), Some(key("M000123")));
    assert_eq!(ams.token_fetches(), 2);
}

async fn oauth2_a_huge_expires_in_is_clamped_not_an_overflow(encoding: HttpEncoding) {
    // `Instant + u64::MAX seconds` overflows: the call used to panic, and
    // with it the task that made it (the periodic poll).
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    *ams.state.token_expires_in.lock().unwrap() = Some(u64::MAX);
    for _ in 0..3 {
        src.member_details(&key("M000123")).await.unwrap();
    }
    assert_eq!(ams.token_fetches(), 1, "the token is cached (for at most a day)");
}

async fn replaced_secrets_are_sent_from_the_next_call(encoding: HttpEncoding) {
    // An API key and a basic password, replaced in their cells as a SIGHUP
    // reload does: the next call sends the new value.
    let server = ServerAuth::ApiKey { header: "X-Api-Key".into(), value: "key-1".into() };
    let cell = SecretCell::from("key-1");
    let (ams, src) = with_auth(encoding, server, |_| api_key("X-Api-Key", VAR), cell.clone()).await;
    src.member_details(&key("M000123")).await.unwrap();
    ams.set_auth(ServerAuth::ApiKey { header: "X-Api-Key".into(), value: "key-2".into() });
    assert_eq!(src.member_details(&key("M000123")).await.unwrap_err().kind(), FailureKind::Unauthorized);
    cell.replace(SecretString::from("key-2"));
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.hits().last().unwrap().header("x-api-key"), Some("key-2"));

    let server = ServerAuth::Basic { username: "community".into(), password: "pw-1".into() };
    let cell = SecretCell::from("pw-1");
    let (ams, src) = with_auth(encoding, server, |_| basic("community", VAR), cell.clone()).await;
    src.member_details(&key("M000123")).await.unwrap();
    ams.set_auth(ServerAuth::Basic { username: "community".into(), password: "pw-2".into() });
    cell.replace(SecretString::from("pw-2"));
    src.member_details(&key("M000123")).await.unwrap();
}

async fn oauth2_a_new_client_secret_drops_the_cached_token(encoding: HttpEncoding) {
    let cell = SecretCell::from(CLIENT_SECRET);
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, cell.clone()).await;
    *ams.state.token_expires_in.lock().unwrap() = Some(3600);
    src.member_details(&key("M000123")).await.unwrap();
    // The authorization server takes a new secret; tokens it issued stay
    // good until they expire, as most do.
    *ams.state.client_secret.lock().unwrap() = Some("rotated-s3cret".into());
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.token_fetches(), 1, "the same secret keeps its token");
    cell.replace(SecretString::from("rotated-s3cret"));
    src.member_details(&key("M000123")).await.unwrap();
    src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(ams.token_fetches(), 2, "a new secret fetches one new token");
    let (headers, _) = ams.state.token_requests.lock().unwrap()[1].clone();
    let basic =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("{CLIENT_ID}:rotated-s3cret"));
    assert_eq!(headers.get("authorization").unwrap().to_str().unwrap(), format!("Basic {basic}"));
    let auths: Vec<_> = ams.hits().iter().map(|h| h.header("authorization").unwrap().to_string()).collect();
    assert_eq!(auths, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]);
}

async fn oauth2_token_endpoint_failures(encoding: HttpEncoding) {
    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, "not-the-secret").await;
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!((e.kind(), e.to_failure().status), (FailureKind::Unauthorized, Some(401)));
    assert!(!format!("{e:?}").contains("not-the-secret"));
    assert!(ams.hits().is_empty(), "no AMS call without a token");

    let (ams, src) = with_auth(encoding, ServerAuth::OAuth2, oauth, CLIENT_SECRET).await;
    *ams.state.token_status.lock().unwrap() = Some(503);
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Transient);
    *ams.state.token_status.lock().unwrap() = None;
    src.member_details(&key("M000123")).await.unwrap();
}

async fn secrets_stay_out_of_debug_and_errors(encoding: HttpEncoding) {
    let ams = TestAms::start(encoding).await;
    ams.script(Script::new("/members/", 500, "boom"));
    for auth in [api_key("X-Api-Key", VAR), basic("u", VAR), oauth(&ams)] {
        let mut cfg = config(&ams);
        cfg.auth = Some(auth);
        // The configuration names the secret; only the cell holds its value.
        assert!(!format!("{cfg:?}").contains("SECRET-1"), "{cfg:?}");
        let src = source(&cfg, &mut Secrets::with(VAR, "SECRET-1"));
        let e: SourceError = src.member_details(&key("M000123")).await.unwrap_err();
        assert!(!format!("{e:?}{e}").contains("SECRET-1"));
    }
}

crate::both!(
    api_key_uses_the_default_header,
    api_key_with_a_custom_header_and_a_wrong_key,
    basic_auth,
    oauth2_token_is_cached_across_calls,
    oauth2_token_is_renewed_after_expiry,
    oauth2_concurrent_callers_share_one_fetch,
    oauth2_a_401_renews_the_token_once,
    oauth2_credential_401_is_an_answer_unless_the_token_was_refused,
    oauth2_token_endpoint_failures,
    oauth2_a_huge_expires_in_is_clamped_not_an_overflow,
    replaced_secrets_are_sent_from_the_next_call,
    oauth2_a_new_client_secret_drops_the_cached_token,
    secrets_stay_out_of_debug_and_errors,
);
