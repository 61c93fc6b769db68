//! Every method reads the contract's documented examples, and both
//! encodings of the same data read into equal core values.

use std::sync::Arc;

use amsync_ams::config::CredentialKind;
use amsync_ams::{
    AmsSource, BuildError, CredentialConfig, CredentialService, DetailsAnswer, HttpEncoding, HttpSource, SourceKind,
};
use amsync_core::error::Part;
use amsync_core::hash::ContentHash;
use amsync_core::{AmsStatus, EventStatus};
use secrecy::SecretString;

use crate::harness::Recorder;
use crate::http::server::{ServerAuth, TestAms};
use crate::http::support::{api_key, built, config, fixture, key, setup, Secrets};

/// Everything each method answers for the examples, in comparable form.
#[derive(Debug, PartialEq)]
struct Answers {
    changed: Vec<(String, Option<chrono::DateTime<chrono::Utc>>)>,
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    cursor: Option<String>,
    details: DetailsAnswer,
    gone: DetailsAnswer,
    memberships: Vec<amsync_core::Membership>,
    groups: Vec<amsync_core::SecurityGroupRef>,
    events: Vec<amsync_core::Event>,
}

async fn answers(src: &HttpSource) -> Answers {
    let page = src.changed_members(None, None).await.unwrap();
    assert!(page.rejected.is_empty(), "{:?}", page.rejected);
    let events = src.changed_events(None, None).await.unwrap();
    assert!(events.rejected.is_empty(), "{:?}", events.rejected);
    Answers {
        changed: page.changed.into_iter().map(|c| (c.key.into_string(), c.changed_at)).collect(),
        as_of: page.as_of,
        cursor: page.next_cursor,
        details: src.member_details(&key("M000123")).await.unwrap().value,
        gone: src.member_details(&key("M000555")).await.unwrap().value,
        memberships: src.member_communities(&key("M000123")).await.unwrap().value,
        groups: src.member_groups(&key("M000123")).await.unwrap().value,
        events: events.events,
    }
}

#[tokio::test]
async fn both_encodings_read_the_examples_into_equal_values() {
    let (_json_ams, json) = setup(HttpEncoding::Json).await;
    let (_xml_ams, xml) = setup(HttpEncoding::Xml).await;
    let a = answers(&json).await;
    let b = answers(&xml).await;
    assert_eq!(a, b);
    let DetailsAnswer::Found(da) = &a.details else { panic!("{:?}", a.details) };
    let DetailsAnswer::Found(db) = &b.details else { panic!("{:?}", b.details) };
    assert_eq!(ContentHash::of(da), ContentHash::of(db));
    assert_eq!(ContentHash::of(&a.memberships), ContentHash::of(&b.memberships));
    assert_eq!(ContentHash::of(&a.groups), ContentHash::of(&b.groups));
    assert_eq!(ContentHash::of(&a.events), ContentHash::of(&b.events));
}

async fn examples_read_as_documented(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let a = answers(&src).await;
    assert_eq!(a.as_of, Some("2026-11-29T14:00:02Z".parse().unwrap()));
    assert_eq!(a.changed[0], ("M000123".into(), Some("2026-11-29T13:41:07Z".parse().unwrap())));
    assert_eq!(a.changed[1], ("M000777".into(), None));
    assert_eq!(a.cursor.as_deref(), Some("eyJwIjoyfQ"));

    let DetailsAnswer::Found(d) = a.details else { panic!("{:?}", a.details) };
    assert_eq!(d.key, key("M000123"));
    assert_eq!(d.status, AmsStatus::Active);
    assert_eq!(
        (d.prefix.as_deref(), d.first_name.as_deref(), d.middle_name.as_deref(), d.last_name.as_deref()),
        (Some("Dr."), Some("Ada"), Some("King"), Some("Lovelace"))
    );
    assert_eq!((d.nickname.as_deref(), d.suffix.as_deref()), (Some("Ada"), Some("III")));
    assert_eq!((d.credentials.as_deref(), d.email.as_deref()), (Some("PhD, CAE"), Some("ada@example.org")));
    let phones: Vec<_> = d.phones.iter().map(|p| (p.kind.as_deref(), p.number.as_str())).collect();
    assert_eq!(phones, [(Some("Work"), "+1 202 555 0100"), (Some("Mobile"), "+1 202 555 0101")]);
    let addr = d.address.unwrap();
    assert_eq!((addr.line1.as_deref(), addr.line3.as_deref()), (Some("1 Analytical Way"), None));
    assert_eq!((addr.postal_code.as_deref(), addr.country_code.as_deref()), (Some("EC1A 1BB"), Some("GB")));
    assert_eq!(d.website.as_deref(), Some("https://ada.example.org"));
    assert_eq!(
        (d.social[0].network.as_str(), d.social[0].url.as_str()),
        ("linkedin", "https://www.linkedin.com/in/ada")
    );
    let demo: Vec<_> =
        d.demographics.iter().map(|x| (x.name.as_str(), x.value.as_deref(), x.search, x.network)).collect();
    assert_eq!(demo, [("Industry", Some("Computing"), true, true), ("Member Since", Some("1843"), false, true)]);

    assert_eq!(a.gone, DetailsAnswer::Gone { status: 410, merged_into: Some(key("M000999")) });

    let m: Vec<_> = a
        .memberships
        .iter()
        .map(|m| (m.community.key.as_str(), m.community.name.as_deref(), m.begin.to_string(), m.end, m.role.as_deref()))
        .collect();
    assert_eq!(
        m,
        [
            (
                "CH-NYC",
                Some("New York Chapter"),
                "2026-01-01".into(),
                Some("2026-12-31".parse().unwrap()),
                Some("Chair")
            ),
            ("SIG-AI", Some("AI Special Interest Group"), "2025-06-01".into(), None, Some("Member")),
        ]
    );
    assert_eq!(a.memberships[1].community.community_type.as_deref(), Some("Special Interest Group"));
    assert_eq!(a.memberships[1].community.group_subtype, None);

    let g: Vec<_> = a.groups.iter().map(|g| (g.key.as_str(), g.name.as_deref())).collect();
    assert_eq!(g, [("MEMBER", Some("Member")), ("STAFF", Some("Staff"))]);

    let ev = &a.events[0];
    assert_eq!(ev.key.as_str(), "EV-2027-ANNUAL");
    assert_eq!(ev.starts_at, chrono::DateTime::parse_from_rfc3339("2027-05-03T09:00:00-04:00").unwrap());
    assert_eq!(ev.starts_at.offset().local_minus_utc(), -4 * 3600);
    assert_eq!((ev.status, ev.community_key.clone()), (EventStatus::Scheduled, None));

    // Raw payloads are the bodies as received, tagged with the encoding's media type.
    let fetched = src.member_details(&key("M000123")).await.unwrap();
    assert_eq!(fetched.raw.format, encoding.format());
    assert_eq!(fetched.raw.format.as_str(), encoding.media_type());
    assert_eq!(fetched.raw.body, fixture(encoding, "member_M000123"));

    // The right media type was asked for on every call.
    let accept = match encoding {
        HttpEncoding::Json => "application/json",
        HttpEncoding::Xml => "application/xml",
    };
    let hits = ams.hits();
    assert!(hits.len() >= 7);
    assert!(hits.iter().all(|h| h.header("accept") == Some(accept)), "{hits:?}");
    assert!(amsync_ams::USER_AGENT.starts_with("amsync/"));
    assert!(hits.iter().all(|h| h.header("user-agent") == Some(amsync_ams::USER_AGENT)));
    assert!(hits.iter().all(|h| h.path.starts_with("/api/")), "base path kept");
}

async fn kind_names_the_encoding(encoding: HttpEncoding) {
    let (ams, src) = setup(encoding).await;
    let expected = match encoding {
        HttpEncoding::Json => "http-json",
        HttpEncoding::Xml => "http-xml",
    };
    assert_eq!(AmsSource::kind(&src), expected);
    assert_eq!(src.encoding(), encoding);
    assert_eq!(built(&config(&ams), None).source.kind(), expected, "the factory keeps the kind");
    let mut other = config(&ams);
    other.kind = match encoding {
        HttpEncoding::Json => SourceKind::HttpXml,
        HttpEncoding::Xml => SourceKind::HttpJson,
    };
    assert_ne!(built(&other, None).source.kind(), expected);
}

async fn the_factory_builds_trait_objects(encoding: HttpEncoding) {
    let ams = TestAms::start(encoding).await;
    let built = built(&config(&ams), None);
    assert!(built.source.member_details(&key("M000123")).await.is_ok());
    let creds = built.credentials.expect("the source's own credential service");
    assert_eq!(creds.authenticate("ada", &SecretString::from("right-password")).await.unwrap(), Some(key("M000123")));
}

/// The kinds this version does not run are refused by the factory, each
/// naming its key (the command line exits 2 with the message).
async fn the_factory_refuses_the_kinds_it_cannot_build(encoding: HttpEncoding) {
    let ams = TestAms::start(encoding).await;
    for kind in [SourceKind::Sql, SourceKind::Scim, SourceKind::Push] {
        let mut cfg = config(&ams);
        cfg.kind = kind;
        let refused = |e: BuildError| e.to_string();
        let want = format!(
            "ams.kind = \"{}\" is not available in this version; use \"http-json\", \"http-xml\" or \"soap\"",
            kind.as_str()
        );
        let none = &CredentialConfig::default();
        let e = amsync_ams::build(&cfg, none, &mut Secrets::default(), None).err().map(refused);
        assert_eq!(e.as_deref(), Some(want.as_str()));
        let e = amsync_ams::build_source(&cfg, &mut Secrets::default(), None).err().map(refused);
        assert_eq!(e.as_deref(), Some(want.as_str()));
    }
    let soap = CredentialConfig { kind: Some(CredentialKind::Soap), ..CredentialConfig::default() };
    let e = amsync_ams::build(&config(&ams), &soap, &mut Secrets::default(), None).err().map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("ams.soap: required"), "auth.kind = \"soap\" reads [ams.soap]");
    // A secret that cannot be read is named by its key.
    let mut cfg = config(&ams);
    cfg.auth = Some(api_key("X-Api-Key", "AMS_KEY_UNSET"));
    let e = amsync_ams::build_source(&cfg, &mut Secrets::default(), None).err().map(|e| e.to_string());
    assert_eq!(e.as_deref(), Some("ams.auth.value_env: environment variable AMS_KEY_UNSET is not set"));
}

/// A credential service at a base URL of its own is another client: its
/// calls go there, with its own credentials, and are not the AMS's calls
/// in the quarantine's window (the metrics still count them).
async fn a_credential_service_of_its_own_is_built_apart(encoding: HttpEncoding) {
    let ams = TestAms::start(encoding).await;
    let service = TestAms::start(encoding).await;
    service.set_auth(ServerAuth::ApiKey { header: "X-Api-Key".into(), value: "service-key".into() });
    let recorder = Arc::new(Recorder::default());
    let auth = CredentialConfig {
        kind: None,
        base_url: Some(service.url.clone()),
        auth: Some(api_key("X-Api-Key", "SERVICE_KEY")),
    };
    let built = amsync_ams::build(
        &config(&ams),
        &auth,
        &mut Secrets::with("SERVICE_KEY", "service-key"),
        Some(recorder.clone()),
    )
    .unwrap();
    let creds = built.credentials.expect("a credential service");
    assert_eq!(creds.authenticate("ada", &SecretString::from("right-password")).await.unwrap(), Some(key("M000123")));
    assert_eq!(service.hits_to("/auth/credentials").len(), 1);
    assert!(ams.hits().is_empty(), "the AMS was not asked");
    assert!(recorder.outcomes().is_empty(), "not one of the AMS's calls");
    built.source.health().await.unwrap();
    assert_eq!(recorder.outcomes(), [(Part::Health, Ok(()))]);
}

crate::both!(
    examples_read_as_documented,
    kind_names_the_encoding,
    the_factory_builds_trait_objects,
    the_factory_refuses_the_kinds_it_cannot_build,
    a_credential_service_of_its_own_is_built_apart,
);
