//! The same data in JSON and XML reads into equal core values (and equal
//! content hashes): the contract's examples, from the shared fixtures.

use amsync_core::error::Part;
use amsync_core::hash::ContentHash;
use amsync_core::{AmsStatus, EventStatus, MemberKey};

use crate::codec::HttpEncoding;

use super::Codec;

fn fixture(encoding: HttpEncoding, name: &str) -> Vec<u8> {
    let ext = encoding.as_str();
    let path = format!("{}/tests/fixtures/{ext}/{name}.{ext}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn codecs() -> [Codec; 2] {
    [Codec::new(HttpEncoding::Json, 1 << 20), Codec::new(HttpEncoding::Xml, 1 << 20)]
}

fn key(s: &str) -> MemberKey {
    MemberKey::parse(s).unwrap()
}

/// Reads a fixture in both encodings and checks the results are equal.
fn both<T: PartialEq + std::fmt::Debug + serde::Serialize>(name: &str, read: impl Fn(&Codec, &[u8]) -> T) -> T {
    let [json, xml] = codecs().map(|c| read(&c, &fixture(c.encoding(), name)));
    assert_eq!(json, xml, "{name}: JSON and XML differ");
    assert_eq!(ContentHash::of(&json), ContentHash::of(&xml), "{name}: hashes differ");
    json
}

#[test]
fn changed_pages() {
    let page = both("changed_page1", |c, b| {
        let p = c.changed_members(b, "first page").unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        (
            p.as_of,
            p.changed.iter().map(|c| (c.key.as_str().to_string(), c.changed_at)).collect::<Vec<_>>(),
            p.next_cursor,
        )
    });
    assert_eq!(page.0, Some("2026-11-29T14:00:02Z".parse().unwrap()));
    assert_eq!(
        page.1,
        vec![("M000123".to_string(), Some("2026-11-29T13:41:07Z".parse().unwrap())), ("M000777".to_string(), None)]
    );
    assert_eq!(page.2.as_deref(), Some("eyJwIjoyfQ"));
    let last = both("changed_page2", |c, b| {
        let p = c.changed_members(b, "p2").unwrap();
        (p.changed.iter().map(|c| (c.key.as_str().to_string(), c.changed_at)).collect::<Vec<_>>(), p.next_cursor)
    });
    assert_eq!(last.0[0].1, Some("2026-11-29T12:50:00Z".parse().unwrap()));
    assert_eq!(last.0[1].1, None);
    assert_eq!(last.1, None);
}

#[test]
fn member_details() {
    let d = both("member_M000123", |c, b| c.member_details(b, &key("M000123")).unwrap());
    assert_eq!(d.status, AmsStatus::Active);
    assert_eq!(d.nickname.as_deref(), Some("Ada"));
    assert_eq!(d.credentials.as_deref(), Some("PhD, CAE"));
    assert_eq!(d.phones.len(), 2);
    assert_eq!(d.phones[1].kind.as_deref(), Some("Mobile"));
    let a = d.address.as_ref().unwrap();
    assert_eq!((a.line3.as_deref(), a.country_code.as_deref()), (None, Some("GB")));
    assert_eq!(d.social[0].url, "https://www.linkedin.com/in/ada");
    assert_eq!(d.demographics.len(), 2);
    assert!(!d.demographics[1].search && d.demographics[1].network);
}

#[test]
fn gone_body() {
    let target = both("gone_M000555", |c, b| c.gone(b, &key("M000555")).unwrap());
    assert_eq!(target, Some(key("M000999")));
}

#[test]
fn memberships() {
    let list = both("communities_M000123", |c, b| c.memberships(b, &key("M000123")).unwrap());
    // Normalized: sorted by community key.
    assert_eq!(list[0].community.key.as_str(), "CH-NYC");
    assert_eq!(list[1].community.group_subtype, None);
    assert_eq!(list[1].end, None);
    assert_eq!(list[0].role.as_deref(), Some("Chair"));
}

#[test]
fn groups() {
    let list = both("groups_M000123", |c, b| c.groups(b, &key("M000123")).unwrap());
    let keys: Vec<_> = list.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["MEMBER", "STAFF"]);
}

#[test]
fn events() {
    let first = both("events_page1", |c, b| {
        let p = c.changed_events(b, "first page").unwrap();
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        (p.as_of, p.events, p.next_cursor)
    });
    assert_eq!(first.1[0].timezone.as_deref(), Some("America/New_York"));
    assert_eq!(first.1[0].community_key, None);
    assert_eq!(first.2.as_deref(), Some("ev-2"));
    let last = both("events_page2", |c, b| {
        let p = c.changed_events(b, "p2").unwrap();
        (p.events, p.next_cursor)
    });
    assert_eq!(last.0[0].status, EventStatus::Cancelled);
    assert_eq!(last.0[0].description, None);
    assert_eq!(last.0[0].community_key.as_ref().map(|k| k.as_str()), Some("CH-NYC"));
    assert_eq!(last.1, None);
}

#[test]
fn key_answers() {
    let k = both("key_M000123", |c, b| c.key_answer(b, Part::Credentials).unwrap());
    assert_eq!(k, key("M000123"));
}

#[test]
fn five_phones_name_the_fifth_in_both_encodings() {
    let json = br#"{"key": "M1", "phones": [{"number": "1"}, {"number": "2"}, {"number": "3"}, {"number": "4"}, {"number": "5"}]}"#;
    let xml = b"<Member><MemberKey>M1</MemberKey><Phone1>1</Phone1><Phone2>2</Phone2><Phone3>3</Phone3>\
                <Phone4>4</Phone4><Phone5>5</Phone5></Member>";
    let [jc, xc] = codecs();
    for (codec, body) in [(jc, &json[..]), (xc, &xml[..])] {
        let e = codec.member_details(body, &key("M1")).unwrap_err();
        assert_eq!((e.field.as_str(), e.part, e.record.as_str()), ("/phones/4", Part::Details, "M1"), "{e}");
    }
}

#[test]
fn empty_values_read_alike() {
    let json =
        br#"{"key": "M1", "first_name": "", "address": {"city": null}, "phones": [{"type": "", "number": "1"}]}"#;
    let xml = b"<Member><MemberKey>M1</MemberKey><FirstName/><Address><City></City></Address>\
                <Phone1>1</Phone1><Phone1Type/></Member>";
    let [jc, xc] = codecs();
    let a = jc.member_details(json, &key("M1")).unwrap();
    let b = xc.member_details(xml, &key("M1")).unwrap();
    assert_eq!(a, b);
    assert_eq!((a.first_name, a.address, a.phones[0].kind.clone()), (None, None, None));
}
