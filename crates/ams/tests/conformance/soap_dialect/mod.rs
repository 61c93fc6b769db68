//! What only the `soap` kind has: the envelope and `SOAPAction` it sends
//! (with the dialect's names overridden), SOAP faults named by operation
//! and faultstring, a server error that is no SOAP fault, and the full
//! listing's own size cap. The shared suite runs on it through
//! `kinds::soap`.

use amsync_ams::config::SoapOperations;
use amsync_ams::{AmsSource, CredentialConfig, SourceError};
use amsync_config_kit::ResolveNow;
use amsync_core::error::Part;
use amsync_core::FailureKind;
use amsync_sim::soap;

use crate::fixtures::{contract, key};
use crate::kinds::soap::SoapAms;

fn source(cfg: amsync_ams::AmsConfig) -> std::sync::Arc<dyn AmsSource> {
    amsync_ams::build(&cfg, &CredentialConfig::default(), &mut ResolveNow(&SoapAms::env()), None).unwrap().source
}

#[tokio::test]
async fn requests_name_the_operation_in_the_action_and_the_namespace_as_configured() {
    let ams = SoapAms::start(contract()).await;
    let src = source(ams.config());
    src.changed_members(Some("2026-11-29T13:30:00Z".parse().unwrap()), None).await.unwrap();
    src.member_groups(&key("M000123")).await.unwrap();
    let hits = ams.hits();
    assert_eq!(hits[0].0, "\"http://cobalt.net/GetChangedMembers\"");
    let body = String::from_utf8(hits[0].1.to_vec()).unwrap();
    assert!(
        body.contains("<GetChangedMembers xmlns=\"http://cobalt.net/\"><securityKey>conformance-security-key</securityKey><updatedSince>2026-11-29T13:30:00Z</updatedSince></GetChangedMembers>"),
        "{body}"
    );
    assert_eq!(hits[1].0, "\"http://cobalt.net/GetMemberSecurityGroups\"");
    assert!(String::from_utf8_lossy(&hits[1].1).contains("<memberKey>M000123</memberKey>"));

    // A full listing sends no updatedSince.
    src.changed_members(None, None).await.unwrap();
    assert!(!String::from_utf8_lossy(&ams.hits()[2].1).contains("updatedSince"));

    // Another vendor's names: the test AMS only knows the default names, so
    // the overridden operation gets its "unknown SOAPAction" fault.
    let mut cfg = ams.config();
    let soap_cfg = cfg.soap.as_mut().unwrap();
    soap_cfg.request_namespace = "urn:vendor".into();
    soap_cfg.action_prefix = Some("urn:vendor/actions/".into());
    soap_cfg.operations =
        SoapOperations { get_member_security_groups: "ListGroups".into(), ..SoapOperations::default() };
    let vendor = source(cfg);
    let e = vendor.member_groups(&key("M000123")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Permanent, "{e}");
    assert!(e.to_string().contains("ListGroups answered the SOAP fault soap:Client: \"Unknown SOAPAction\""), "{e}");
    let last = ams.hits().pop().unwrap();
    assert_eq!(last.0, "\"urn:vendor/actions/ListGroups\"");
    assert!(String::from_utf8_lossy(&last.1).contains("<ListGroups xmlns=\"urn:vendor\">"));
}

#[tokio::test]
async fn faults_are_errors_naming_the_operation_and_the_faultstring() {
    let ams = SoapAms::start(contract()).await;
    let src = source(ams.config());
    ams.script(500, soap::fault("Server", "Timeout expired. The database is busy."));
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Transient);
    assert_eq!(
        e.to_string(),
        "details: GetMemberDetails answered the SOAP fault soap:Server: \"Timeout expired. The database is busy.\""
    );
    let e = src.changed_members(None, None).await.unwrap_err();
    assert_eq!((e.kind(), e.part()), (FailureKind::Transient, Part::ChangedMembers));
    assert!(e.to_string().contains("GetChangedMembers answered the SOAP fault soap:Server"), "{e}");

    // A 500 that is no SOAP envelope (a proxy's page) is the server failing.
    ams.script(500, "<html>Service Unavailable</html>");
    let e = src.member_groups(&key("M000123")).await.unwrap_err();
    assert!(matches!(e, SourceError::Transient { status: Some(500), .. }), "{e:?}");
    let e = src.changed_members(None, None).await.unwrap_err();
    assert!(matches!(e, SourceError::Transient { status: Some(500), .. }), "{e:?}");

    // A 200 that is no SOAP envelope breaks the contract.
    ams.script(200, "<Member><MemberKey>M000123</MemberKey></Member>");
    let e = src.member_details(&key("M000123")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Data);
    assert!(e.to_string().contains("GetMemberDetails: expected a SOAP <Envelope>, found <Member>"), "{e}");
}

#[tokio::test]
async fn the_full_listing_has_its_own_cap_and_no_cursor() {
    let mut fixture = contract();
    fixture.members = (0..200).map(|i| crate::fixtures::plain(&format!("M{i:06}"), "2026-11-29T13:00:00Z")).collect();
    let ams = SoapAms::start(fixture).await;
    let mut cfg = ams.config();
    // Per-member answers still fit ams.max_body; the listing does not fit its cap.
    cfg.soap.as_mut().unwrap().max_listing_bytes = 4096;
    let src = source(cfg);
    let e = src.changed_members(None, None).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Data);
    assert!(e.to_string().contains("larger than ams.soap.max_listing_bytes (4096 bytes"), "{e}");
    src.member_details(&key("M000001")).await.unwrap();

    let src = source(ams.config());
    let page = src.changed_members(None, None).await.unwrap();
    assert_eq!(page.changed.len(), 200);
    let e = src.changed_members(None, Some("at-2")).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Permanent);
    assert!(e.to_string().contains("a SOAP listing has no pages"), "{e}");
}

/// `[auth] kind = "soap"` beside a source of another kind: AuthenticateUser
/// and ResolveToken go to `[ams.soap]`, with its security key.
#[tokio::test]
async fn a_soap_credential_service_signs_members_in_for_another_kind_of_source() {
    use amsync_ams::config::{CredentialKind, SourceKind};
    use secrecy::SecretString;

    let ams = SoapAms::start(contract()).await;
    let mut cfg = ams.config();
    cfg.kind = SourceKind::HttpJson;
    cfg.base_url = Some("http://127.0.0.1:9/not-called".parse().unwrap());
    let auth = CredentialConfig { kind: Some(CredentialKind::Soap), ..CredentialConfig::default() };
    let built = amsync_ams::build(&cfg, &auth, &mut ResolveNow(&SoapAms::env()), None).unwrap();
    assert_eq!(built.source.kind(), "http-json");
    let creds = built.credentials.expect("the SOAP credential service");
    assert_eq!(creds.authenticate("ada", &SecretString::from("right-password")).await.unwrap(), Some(key("M000123")));
    assert_eq!(creds.authenticate("ada", &SecretString::from("nope")).await.unwrap(), None);
    assert_eq!(creds.resolve_token("good-token").await.unwrap(), Some(key("M000123")));
    let hits = ams.hits();
    assert_eq!(hits[0].0, "\"http://cobalt.net/AuthenticateUser\"");
    let body = String::from_utf8_lossy(&hits[0].1);
    assert!(body.contains("<username>ada</username><password>right-password</password>"), "{body}");
    assert_eq!(hits[2].0, "\"http://cobalt.net/ResolveToken\"");
}
