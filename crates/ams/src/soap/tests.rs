//! The envelope writer and reader, the fault classification and the
//! streamed listing, on bodies written out here (the conformance suite
//! runs the whole source against the simulator's SOAP face).

use amsync_core::error::Part;

use super::envelope::{self, Answer, Fault};
use super::fault::{Meaning, Phrases};
use super::listing::{self, Listed, Stop};
use crate::codec::xml::XmlLimits;
use crate::config::SoapFaults;

fn limits() -> XmlLimits {
    XmlLimits::default()
}

#[test]
fn the_request_is_the_operation_in_its_namespace_with_the_key_first() {
    let body = envelope::request(
        "GetChangedMembers",
        "http://cobalt.net/",
        "k<&>\"ey",
        &[("updatedSince", Some("2026-11-29T13:00:00Z")), ("skipped", None)],
    );
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap:Body><GetChangedMembers xmlns=\"http://cobalt.net/\"><securityKey>k&lt;&amp;&gt;&quot;ey</securityKey>\
         <updatedSince>2026-11-29T13:00:00Z</updatedSince></GetChangedMembers></soap:Body></soap:Envelope>"
    );
}

const RESULT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <s:Body>
    <h:GetMemberSecurityGroupsResponse xmlns:h="http://HigherLogic.com/">
      <h:GetMemberSecurityGroupsResult><h:Group h:Key="STAFF">Staff</h:Group></h:GetMemberSecurityGroupsResult>
    </h:GetMemberSecurityGroupsResponse>
  </s:Body>
</s:Envelope>"#;

#[test]
fn answers_are_read_whatever_their_prefixes_and_namespaces() {
    let read = envelope::read(RESULT.as_bytes(), "GetMemberSecurityGroups", Part::SecurityGroups, "M1", &limits());
    let Ok(Answer::Result(Some(result))) = read else { panic!("{read:?}") };
    assert_eq!(result.name, "GetMemberSecurityGroupsResult");
    assert_eq!(result.children[0].name, "Group");
    assert_eq!(result.children[0].attr("Key"), Some("STAFF"));
    assert_eq!(result.children[0].text, "Staff");
}

#[test]
fn an_empty_or_nil_or_missing_result_is_nothing() {
    for result in [
        "",
        "<GetMemberDetailsResult/>",
        "<GetMemberDetailsResult>  </GetMemberDetailsResult>",
        "<GetMemberDetailsResult xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>",
    ] {
        let body = format!(
            "<Envelope><Body><GetMemberDetailsResponse xmlns=\"urn:x\">{result}</GetMemberDetailsResponse></Body></Envelope>"
        );
        let read = envelope::read(body.as_bytes(), "GetMemberDetails", Part::Details, "M1", &limits()).unwrap();
        assert_eq!(read, Answer::Result(None), "{result}");
    }
}

#[test]
fn a_fault_is_read_with_its_code_and_string() {
    let body = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>
        <faultcode>soap:Server</faultcode><faultstring>Server was unable to process request. ---&gt; Invalid security key.</faultstring>
        <detail/></soap:Fault></soap:Body></soap:Envelope>"#;
    let read = envelope::read(body.as_bytes(), "GetChangedMembers", Part::ChangedMembers, "listing", &limits());
    let want = Fault {
        code: "Server".into(),
        string: "Server was unable to process request. ---> Invalid security key.".into(),
    };
    assert_eq!(read.unwrap(), Answer::Fault(want));
}

#[test]
fn a_wrong_answer_names_the_operation() {
    for (body, what) in [
        ("<Envelope><Body><OtherResponse/></Body></Envelope>", "expected <GetEventsResponse>"),
        ("<Envelope><Header/></Envelope>", "no <Body>"),
        ("<Envelope><Body/></Envelope>", "<Body> is empty"),
        ("<GetEventsResponse/>", "expected a SOAP <Envelope>"),
        ("<Envelope><Body>", "ends inside"),
    ] {
        let e = envelope::read(body.as_bytes(), "GetEvents", Part::ChangedEvents, "listing", &limits()).unwrap_err();
        assert!(e.message.starts_with("GetEvents: ") && e.message.contains(what), "{body}: {e}");
        assert_eq!((e.part, e.record.as_str()), (Part::ChangedEvents, "listing"));
    }
}

#[test]
fn faults_are_classified_by_phrase_then_code() {
    let phrases = Phrases::new(&SoapFaults::default());
    let fault = |code: &str, string: &str| Fault { code: code.into(), string: string.into() };
    for (f, want) in [
        (fault("Server", "Invalid Security Key"), Meaning::Unauthorized),
        (fault("Client", "Access denied for this caller"), Meaning::Unauthorized),
        (fault("Server", "Member M1 was not found"), Meaning::NotFound),
        (fault("Server.Database", "Timeout expired"), Meaning::Transient),
        (fault("Client", "updatedSince is not a date"), Meaning::Permanent),
        (fault("", "something"), Meaning::Permanent),
    ] {
        assert_eq!(phrases.meaning(&f), want, "{f:?}");
    }
    let e = phrases.failure(&fault("Server", "Invalid security key"), "GetMemberDetails", Part::Details, 500);
    assert_eq!(e.kind(), amsync_core::FailureKind::Unauthorized);
    assert_eq!(
        e.to_string(),
        "details: the AMS refused our credentials (GetMemberDetails answered the SOAP fault soap:Server: \"Invalid security key\")"
    );
    let e = phrases.failure(&fault("Client", "bad\nrequest"), "GetEvents", Part::ChangedEvents, 500);
    assert_eq!(e.kind(), amsync_core::FailureKind::Permanent);
    assert!(e.to_string().contains("GetEvents answered the SOAP fault soap:Client: \"bad\\nrequest\""), "{e}");
    let custom = Phrases::new(&SoapFaults { unauthorized: vec!["Ungültiger Schlüssel".into()], not_found: vec![] });
    assert_eq!(custom.meaning(&fault("Server", "UNGÜLTIGER SCHLÜSSEL")), Meaning::Unauthorized);
    assert_eq!(custom.meaning(&fault("Server", "not found")), Meaning::Transient);
}

/// Serves `body` once on 127.0.0.1, in chunks of `chunk` bytes, and answers the response.
async fn served(body: Vec<u8>, chunk: usize) -> reqwest::Response {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move || {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
            async move { axum::body::Body::from_stream(futures::stream::iter(chunks)) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    crate::install_crypto_provider();
    reqwest::Client::new().post(format!("http://{addr}/")).send().await.unwrap()
}

fn listing_body(entries: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <soap:Body><GetChangedMembersResponse xmlns=\"http://HigherLogic.com/\"><GetChangedMembersResult>{entries}\
         </GetChangedMembersResult></GetChangedMembersResponse></soap:Body></soap:Envelope>"
    )
    .into_bytes()
}

#[tokio::test]
async fn the_listing_is_read_across_chunks_and_a_bad_entry_is_rejected() {
    let entries =
        "<ChangedMember><MemberKey>M1</MemberKey><LastUpdated>2026-11-29T13:00:00Z</LastUpdated></ChangedMember>\
                   <ChangedMember><MemberKey></MemberKey></ChangedMember>\
                   <x:ChangedMember xmlns:x=\"urn:y\"><x:MemberKey>M&amp;2</x:MemberKey></x:ChangedMember>";
    // Chunks of 7 bytes split names, entities and the entries themselves.
    let response = served(listing_body(entries), 7).await;
    let Listed::Page(page) = listing::read(response, "GetChangedMembers", "listing", 1 << 20).await.unwrap() else {
        panic!("a fault")
    };
    let keys: Vec<_> = page.changed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["M1", "M&2"]);
    assert_eq!(page.changed[0].changed_at, Some("2026-11-29T13:00:00Z".parse().unwrap()));
    assert_eq!(page.rejected.len(), 1);
    assert_eq!(
        (page.rejected[0].record.as_str(), page.rejected[0].field.as_str()),
        ("changed entry 1", "/changed/1/key")
    );
    assert_eq!(page.next_cursor, None);
}

#[tokio::test]
async fn a_listing_fault_is_read_from_the_stream() {
    let body = b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>\
                 <faultcode>soap:Client</faultcode><faultstring>Bad date</faultstring></soap:Fault></soap:Body></soap:Envelope>";
    let response = served(body.to_vec(), 5).await;
    let listed = listing::read(response, "GetChangedMembers", "listing", 1 << 20).await.unwrap();
    let Listed::Fault(f) = listed else { panic!("{listed:?}") };
    assert_eq!(f, Fault { code: "Client".into(), string: "Bad date".into() });
}

#[tokio::test]
async fn the_listing_stops_at_its_cap_and_at_unsafe_or_broken_xml() {
    let entry = "<ChangedMember><MemberKey>M1</MemberKey></ChangedMember>";
    let big = listing_body(&entry.repeat(1000));
    let response = served(big.clone(), 4096).await;
    let stop = listing::read(response, "GetChangedMembers", "listing", 10_000).await.unwrap_err();
    assert!(matches!(stop, Stop::TooLarge(n) if n > 10_000), "{stop:?}");

    for (body, what) in [
        (b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><Envelope/>".to_vec(), "DOCTYPE"),
        (listing_body("<ChangedMember><MemberKey>&x;</MemberKey></ChangedMember>"), "&x;"),
        (listing_body("<ChangedMember><MemberKey>M1</Other></ChangedMember>"), "well-formed"),
        (b"<Envelope><Body><GetEventsResponse/></Body></Envelope>".to_vec(), "expected <GetChangedMembersResponse>"),
        (b"<Envelope><Body>".to_vec(), "ends inside"),
        (b"".to_vec(), "empty"),
    ] {
        let response = served(body.clone(), 3).await;
        let stop = listing::read(response, "GetChangedMembers", "listing", 1 << 20).await.unwrap_err();
        let Stop::Data(e) = stop else { panic!("{stop:?}") };
        assert!(e.message.starts_with("GetChangedMembers: ") && e.message.contains(what), "{what}: {e}");
    }
}
