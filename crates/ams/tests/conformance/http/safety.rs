//! Bodies that break the contract or try to hurt us: malformed documents,
//! a fifth phone, DTDs with external entities, deep nesting, huge bodies.

use std::time::{Duration, Instant};

use amsync_ams::AmsSource;
use amsync_ams::HttpEncoding;
use amsync_core::error::Part;
use amsync_core::FailureKind;

use crate::http::server::{Script, ScriptBody};
use crate::http::support::{config, data_error, key, setup, source, Secrets};

async fn malformed_bodies_are_data_errors_with_excerpt_and_field(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    // Well-formed, but a field has the wrong shape.
    ams.script(
        Script::new(
            "/members/M000123",
            200,
            ams.pick(
                r#"{"key": "M000123", "phones": [{"type": "Work", "number": {"n": 1}}]}"#,
                "<Member><MemberKey>M000123</MemberKey><Phone1><n>1</n></Phone1></Member>",
            ),
        )
        .times(1),
    );
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Data, Part::Details));
    let failure = e.to_failure();
    let (field, message, excerpt) = data_error(e);
    assert_eq!(field, "/phones/0/number");
    assert!(message.contains("M000123"), "names the record: {message}");
    assert!(excerpt.unwrap().contains("M000123"));
    assert_eq!(failure.field.as_deref(), Some("/phones/0/number"));

    // Not even well-formed.
    ams.script(Script::new(
        "/communities",
        200,
        ams.pick(r#"{"memberships": [}"#, "<Memberships><Membership></Memberships>"),
    ));
    let (field, message, excerpt) = data_error(src.member_communities(&key("M000123")).await.unwrap_err());
    assert_eq!(field, "/");
    assert!(message.contains("communities of M000123"), "{message}");
    assert!(excerpt.unwrap().contains("emberships"));

    // An answer about another member.
    ams.script(Script::new(
        "/members/M000777",
        200,
        ams.pick(r#"{"key": "M000123"}"#, "<Member><MemberKey>M000123</MemberKey></Member>"),
    ));
    let (field, _, _) = data_error(src.member_details(&key("M000777")).await.unwrap_err());
    assert_eq!(field, "/key");
}

async fn a_fifth_phone_is_a_data_error_naming_it(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let json_phones: Vec<String> =
        (1..=5).map(|i| format!(r#"{{"type": "T{i}", "number": "+1 555 000{i}"}}"#)).collect();
    let xml_phones: String =
        (1..=5).map(|i| format!("<Phone{i}>+1 555 000{i}</Phone{i}><Phone{i}Type>T{i}</Phone{i}Type>")).collect();
    ams.script(Script::new(
        "/members/M000123",
        200,
        ams.pick(
            &format!(r#"{{"key": "M000123", "phones": [{}]}}"#, json_phones.join(",")),
            &format!("<Member><MemberKey>M000123</MemberKey>{xml_phones}</Member>"),
        ),
    ));
    let (field, message, _) = data_error(src.member_details(&key("M000123")).await.unwrap_err());
    assert_eq!(field, "/phones/4");
    assert!(message.contains("details of M000123"), "{message}");
}

async fn a_doctype_with_an_external_entity_is_refused(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let evil = ams.url.join("api/evil").unwrap();
    let body = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Member [<!ENTITY xxe SYSTEM \"{evil}\">]>\n\
         <Member><MemberKey>M000123</MemberKey><FirstName>&xxe;</FirstName></Member>"
    );
    ams.script(Script::new("/members/M000123", 200, body));
    let (field, message, _) = data_error(src.member_details(&key("M000123")).await.unwrap_err());
    assert_eq!(field, "/");
    if encoding == HttpEncoding::Xml {
        assert!(message.contains("DOCTYPE"), "{message}");
    }
    assert!(ams.hits_to("/evil").is_empty(), "the external entity was fetched");
}

async fn deep_nesting_is_refused(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let depth = 200;
    ams.script(Script::new(
        "/security-groups",
        200,
        ams.pick(
            &format!(r#"{{"groups": {}{}}}"#, "[".repeat(depth), "]".repeat(depth)),
            &format!("<SecurityGroups>{}{}</SecurityGroups>", "<Group>".repeat(depth), "</Group>".repeat(depth)),
        ),
    ));
    let (field, message, _) = data_error(src.member_groups(&key("M000123")).await.unwrap_err());
    assert_eq!(field, "/");
    let expected = match encoding {
        HttpEncoding::Json => "recursion limit",
        HttpEncoding::Xml => "nested more than 32 deep",
    };
    assert!(message.contains(expected), "{message}");
}

async fn a_body_over_max_body_is_refused_without_reading_it_all(encoding: HttpEncoding) {
    let (ams, _) = setup(encoding).await;
    let mut cfg = config(&ams);
    cfg.max_body = 64 * 1024;
    let src = source(&cfg, &mut Secrets::default());

    // Chunked and endless: the source stops reading past the cap.
    ams.script(Script::new("/members/M000123", 200, "").body(ScriptBody::Endless).times(1));
    let started = Instant::now();
    let (field, message, excerpt) = data_error(src.member_details(&key("M000123")).await.unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(field, "/");
    assert!(message.contains("details answer is larger than ams.max_body (65536 bytes)"), "{message}");
    assert!(excerpt.unwrap().starts_with("xxx"));
    // Give the server a moment to notice the closed connection.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let streamed = ams.streamed();
    assert!(streamed < 16 * 1024 * 1024, "the server streamed {streamed} bytes");

    // Declared too large: refused before reading anything.
    let before = ams.streamed();
    ams.script(Script::new("/members/changed", 200, "").body(ScriptBody::Declared(1 << 30)).times(1));
    let (_, message, _) = data_error(src.changed_members(None, None).await.unwrap_err());
    assert!(message.contains("changed_members answer declares 1073741824 bytes"), "{message}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(ams.streamed() - before < 16 * 1024 * 1024);
}

crate::both!(
    malformed_bodies_are_data_errors_with_excerpt_and_field,
    a_fifth_phone_is_a_data_error_naming_it,
    a_doctype_with_an_external_entity_is_refused,
    deep_nesting_is_refused,
    a_body_over_max_body_is_refused_without_reading_it_all,
);
