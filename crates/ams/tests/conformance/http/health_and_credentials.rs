//! Health (with the GetChangedMembers fallback) and the credential methods.

use amsync_ams::HttpEncoding;
use amsync_ams::{AmsSource, CredentialService};
use amsync_core::error::Part;
use amsync_core::FailureKind;
use chrono::Utc;
use secrecy::SecretString;

use crate::http::server::Script;
use crate::http::support::{key, setup};

async fn health_uses_the_health_method(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    src.health().await.unwrap();
    assert_eq!(ams.hits().len(), 1);
    assert_eq!(ams.hits()[0].path, "/api/health");
    ams.script(Script::new("/health", 503, "down").times(1));
    let e = src.health().await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Transient, Part::Health));
}

async fn health_without_the_method_probes_changed_members_since_now(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    ams.script(Script::new("/health", 404, "no such method"));
    let before = Utc::now().timestamp();
    src.health().await.unwrap();
    let probe = ams.hits_to("/members/changed");
    assert_eq!(probe.len(), 1);
    let query = probe[0].query.clone().unwrap();
    let since = query.strip_prefix("since=").unwrap().replace("%3A", ":");
    let since: chrono::DateTime<Utc> = since.parse().unwrap();
    assert!((since.timestamp() - before).abs() <= 2, "{since}");
    // A failing probe is the health's failure.
    ams.script(Script::new("/members/changed", 401, "no").times(1));
    assert_eq!(src.health().await.unwrap_err().kind(), FailureKind::Unauthorized);
}

async fn authenticate_credentials(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let right = SecretString::from("right-password");
    assert_eq!(src.authenticate("ada", &right).await.unwrap(), Some(key("M000123")));
    let wrong = SecretString::from("wrong-password");
    assert_eq!(src.authenticate("ada", &wrong).await.unwrap(), None);
    let hit = &ams.hits_to("/auth/credentials")[0];
    assert_eq!(hit.method, "POST");
    let (content_type, accept) = match encoding {
        HttpEncoding::Json => ("application/json; charset=utf-8", "application/json"),
        HttpEncoding::Xml => ("application/xml; charset=utf-8", "application/xml"),
    };
    assert_eq!((hit.header("content-type"), hit.header("accept")), (Some(content_type), Some(accept)));
    let sent = String::from_utf8(hit.body.to_vec()).unwrap();
    let expected = match encoding {
        HttpEncoding::Json => r#"{"password":"right-password","username":"ada"}"#,
        HttpEncoding::Xml => "<Credentials><Username>ada</Username><Password>right-password</Password></Credentials>",
    };
    assert_eq!(sent, expected);
    // 403 is about us, not the member.
    ams.script(Script::new("/auth/credentials", 403, "forbidden").times(1));
    let e = src.authenticate("ada", &wrong).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Unauthorized, Part::Credentials));
    assert!(!format!("{e:?}").contains("wrong-password"));
    // A broken answer is a data error, without the password in it.
    ams.script(Script::new("/auth/credentials", 200, "{{{<<<").times(1));
    let e = src.authenticate("ada", &wrong).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Data, Part::Credentials));
    assert!(!format!("{e:?}").contains("wrong-password"));
}

async fn resolve_token(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    assert_eq!(src.resolve_token("good-token").await.unwrap(), Some(key("M000123")));
    assert_eq!(src.resolve_token("expired").await.unwrap(), None);
    assert_eq!(ams.hits_to("/auth/resolve-token").len(), 2);
    ams.script(Script::new("/auth/resolve-token", 500, "boom").times(1));
    let e = src.resolve_token("good-token").await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Transient, Part::ResolveToken));
}

crate::both!(
    health_uses_the_health_method,
    health_without_the_method_probes_changed_members_since_now,
    authenticate_credentials,
    resolve_token,
);
