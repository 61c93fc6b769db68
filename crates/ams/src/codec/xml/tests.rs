//! The XML mapping: names, attributes, empties, errors by field.

use amsync_core::error::Part;
use amsync_core::MemberKey;

use super::*;

fn limits() -> XmlLimits {
    XmlLimits::default()
}

fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

fn details(xml: &str) -> Result<MemberDetails, DataError> {
    member_details(xml.as_bytes(), &key("M1"), &limits())
}

#[test]
fn namespaces_are_ignored() {
    let xml = r#"<m:Member xmlns:m="urn:vendor" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <m:MemberKey>M1</m:MemberKey><m:FirstName>Ada</m:FirstName><m:LastName xsi:nil="true"/>
        <m:SocialMedia><m:Site m:Network="x">u</m:Site></m:SocialMedia></m:Member>"#;
    let d = details(xml).unwrap();
    assert_eq!(d.first_name.as_deref(), Some("Ada"));
    assert_eq!(d.last_name, None);
    assert_eq!(d.social[0].network, "x");
}

#[test]
fn phones_follow_their_slots_and_skip_empty_columns() {
    let xml = "<Member><MemberKey>M1</MemberKey><Phone2Type>Home</Phone2Type><Phone2/>\
               <Phone3>3</Phone3><Phone3Type>Fax</Phone3Type><Phone1>1</Phone1></Member>";
    let d = details(xml).unwrap();
    let phones: Vec<_> = d.phones.iter().map(|p| (p.number.as_str(), p.kind.as_deref())).collect();
    assert_eq!(phones, [("1", None), ("3", Some("Fax"))]);
}

#[test]
fn a_phone_past_the_fourth_slot_is_refused() {
    let e = details("<Member><MemberKey>M1</MemberKey><Phone1>1</Phone1><Phone7>7</Phone7></Member>").unwrap_err();
    assert_eq!(e.field, "/phones/1");
    assert!(e.message.contains("Phone7"), "{e}");
    let e = details("<Member><MemberKey>M1</MemberKey><Phone1>1</Phone1><Phone1>2</Phone1></Member>").unwrap_err();
    assert_eq!(e.field, "/phones/0/number");
}

#[test]
fn errors_name_the_json_field() {
    let cases = [
        ("<Member><FirstName>A</FirstName></Member>", "/key"),
        ("<Member><MemberKey/></Member>", "/key"),
        ("<Member><MemberKey>M1</MemberKey><Status>gone</Status></Member>", "/status"),
        ("<Member><MemberKey>M1</MemberKey><FirstName><b>x</b></FirstName></Member>", "/first_name"),
        ("<Member><MemberKey>M1</MemberKey><Email1>a</Email1><Email1>b</Email1></Member>", "/email"),
        ("<Member><MemberKey>M1</MemberKey><SocialMedia><Site>u</Site></SocialMedia></Member>", "/social/0/network"),
        ("<Member><MemberKey>M1</MemberKey><SocialMedia><Site Network=\"n\"/></SocialMedia></Member>", "/social/0/url"),
        (
            "<Member><MemberKey>M1</MemberKey><Demographics><Demographic Name=\"a\" Search=\"yes\"/></Demographics></Member>",
            "/demographics/0/search",
        ),
        ("<Member><MemberKey>M1</MemberKey><Demographics><Demographic/></Demographics></Member>", "/demographics/0/name"),
        ("<Other/>", "/"),
    ];
    for (xml, field) in cases {
        let e = details(xml).err().unwrap_or_else(|| panic!("{xml} was accepted"));
        assert_eq!(e.field, field, "{xml}: {e}");
        assert_eq!((e.part, e.record.as_str()), (Part::Details, "M1"));
    }
}

#[test]
fn country_code_is_validated_after_reading() {
    // The codec reads; the Codec wrapper validates. Check the wrapper.
    let c = crate::codec::Codec::new(crate::codec::HttpEncoding::Xml, 1 << 20);
    let xml = b"<Member><MemberKey>M1</MemberKey><Address><CountryCode>gbr</CountryCode></Address></Member>";
    assert_eq!(c.member_details(xml, &key("M1")).unwrap_err().field, "/address/country_code");
}

#[test]
fn changed_entries_are_rejected_one_by_one() {
    let xml = r#"<GetChangedMembersResult AsOf="2026-11-29T14:00:02Z">
        <ChangedMember><MemberKey>M1</MemberKey></ChangedMember>
        <ChangedMember><MemberKey/></ChangedMember>
        <ChangedMember><MemberKey>M2</MemberKey><LastUpdated>2026-11-29 noon</LastUpdated></ChangedMember>
        <ChangedMember><MemberKey>M3</MemberKey><LastUpdated>2026-11-29T13:41:07-05:00</LastUpdated></ChangedMember>
        <Unknown/>
    </GetChangedMembersResult>"#;
    let page = changed_members(xml.as_bytes(), "first page", &limits()).unwrap();
    let keys: Vec<_> = page.changed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["M1", "M3"]);
    assert_eq!(page.next_cursor, None);
    let fields: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
    assert_eq!(fields, [("changed entry 1", "/changed/1/key"), ("M2", "/changed/2/changed_at")]);
    let e = changed_members(b"<GetChangedMembersResult AsOf=\"x\"/>", "first page", &limits()).unwrap_err();
    assert_eq!((e.field.as_str(), e.record.as_str()), ("/as_of", "first page"));
}

#[test]
fn memberships_and_groups_name_their_fields() {
    let k = key("M1");
    for (xml, field) in [
        ("<Memberships><Membership><Community Key=\"C\"/></Membership></Memberships>", "/memberships/0/begin"),
        (
            "<Memberships><Membership Begin=\"2026-13-01\"><Community Key=\"C\"/></Membership></Memberships>",
            "/memberships/0/begin",
        ),
        ("<Memberships><Membership Begin=\"2026-01-01\"/></Memberships>", "/memberships/0/community"),
        (
            "<Memberships><Membership Begin=\"2026-01-01\"><Community/></Membership></Memberships>",
            "/memberships/0/community/key",
        ),
        (
            "<Memberships><Membership Begin=\"2026-01-01\" End=\"x\"><Community Key=\"C\"/></Membership></Memberships>",
            "/memberships/0/end",
        ),
    ] {
        let e = memberships(xml.as_bytes(), &k, &limits()).unwrap_err();
        assert_eq!((e.field.as_str(), e.part), (field, Part::Communities), "{xml}");
    }
    assert!(memberships(b"<Memberships/>", &k, &limits()).unwrap().is_empty());
    let e = groups(b"<SecurityGroups><Group>x</Group></SecurityGroups>", &k, &limits()).unwrap_err();
    assert_eq!((e.field.as_str(), e.part), ("/groups/0/key", Part::SecurityGroups));
    let g = groups(b"<SecurityGroups><Group Key=\"A\"/></SecurityGroups>", &k, &limits()).unwrap();
    assert_eq!(g[0].name, None);
}

#[test]
fn events_are_rejected_one_by_one() {
    let xml = r#"<GetChangedEventsResult NextCursor="n2">
        <Event Key="E1"><StartsAt>2027-05-03T09:00:00Z</StartsAt><EndsAt>2027-05-03T10:00:00Z</EndsAt></Event>
        <Event Key="E2"><StartsAt>2027-05-03T09:00:00Z</StartsAt></Event>
        <Event><StartsAt>2027-05-03T09:00:00Z</StartsAt><EndsAt>2027-05-03T10:00:00Z</EndsAt></Event>
        <Event Key="E4"><StartsAt>2027-05-03T09:00:00Z</StartsAt><EndsAt>2027-05-03T10:00:00Z</EndsAt><Status>postponed</Status></Event>
        <Event Key="E5"><StartsAt>2027-05-03T09:00:00Z</StartsAt><EndsAt>2027-05-02T10:00:00Z</EndsAt></Event>
    </GetChangedEventsResult>"#;
    let page = changed_events(xml.as_bytes(), "first page", &limits()).unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.next_cursor.as_deref(), Some("n2"));
    let fields: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("E2", "/events/1/ends_at"),
            ("events entry 2", "/events/2/key"),
            ("E4", "/events/3/status"),
            ("E5", "/events/4/ends_at")
        ]
    );
}

#[test]
fn refusals_are_data_errors_naming_the_reason() {
    let k = key("M1");
    let e = member_details(b"<!DOCTYPE Member SYSTEM \"http://evil/x.dtd\"><Member/>", &k, &limits()).unwrap_err();
    assert!(e.message.contains("DOCTYPE"), "{e}");
    assert_eq!(e.field, "/");
    let deep = format!("<Member>{}{}</Member>", "<a>".repeat(40), "</a>".repeat(40));
    let e = member_details(deep.as_bytes(), &k, &limits()).unwrap_err();
    assert!(e.message.contains("nested more than 32"), "{e}");
}

#[test]
fn gone_and_key_answers() {
    let k = key("M1");
    assert_eq!(gone(b"", &k, &limits()).unwrap(), None);
    assert_eq!(gone(b"<Gone/>", &k, &limits()).unwrap(), None);
    assert_eq!(gone(b"<Gone MergedInto=\"\"/>", &k, &limits()).unwrap(), None);
    assert_eq!(gone(b"<x:Gone xmlns:x=\"u\" x:MergedInto=\"M9\"/>", &k, &limits()).unwrap(), Some(key("M9")));
    assert_eq!(key_answer(b"<MemberKey>M7</MemberKey>", Part::ResolveToken, &limits()).unwrap(), key("M7"));
    let e = key_answer(b"<MemberKey/>", Part::Credentials, &limits()).unwrap_err();
    assert_eq!((e.field.as_str(), e.part), ("/key", Part::Credentials));
}

#[test]
fn requests_are_escaped() {
    let body = credentials_request("a<b&c", &SecretString::from("p\"'>"));
    let root = tree::parse(&body, &limits()).unwrap();
    assert_eq!(root.name, "Credentials");
    assert_eq!(root.children[0].text, "a<b&c");
    assert_eq!(root.children[1].text, "p\"'>");
    let root = tree::parse(&token_request("t&k"), &limits()).unwrap();
    assert_eq!(
        (root.name.as_str(), root.children[0].name.as_str(), root.children[0].text.as_str()),
        ("ResolveToken", "Token", "t&k")
    );
}
