//! The JSON encoding of the contract.
//!
//! Bodies are read into a `serde_json::Value` first, `null` and `""` members
//! are dropped (the contract says a missing field and `null` mean the same;
//! an empty string is "no value" too, as an empty element is in XML, so both
//! encodings read the same data alike), and
//! the typed value is then read with `serde_path_to_error`, so a bad field is
//! named as a JSON pointer (`/phones/0/number`). Listing pages are read entry
//! by entry: one bad entry is rejected, the rest of the page is used.

use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::{Event, MemberDetails, MemberKey, Membership};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{cursor, entry_record, under, Ctx};
use crate::source::{checked_event, ChangedKey, ChangedPage, EventsPage};

#[derive(Deserialize)]
struct ChangedPageJson {
    #[serde(default)]
    as_of: Option<DateTime<Utc>>,
    changed: Vec<Value>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct ChangedEntryJson {
    key: MemberKey,
    #[serde(default)]
    changed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct EventsPageJson {
    #[serde(default)]
    as_of: Option<DateTime<Utc>>,
    events: Vec<Value>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// `memberships` is required: an answer without it must not end every
/// membership of the member.
#[derive(Deserialize)]
struct MembershipsJson {
    memberships: Vec<Membership>,
}

#[derive(Deserialize)]
struct GroupsJson {
    groups: Vec<SecurityGroupRef>,
}

#[derive(Deserialize)]
struct GoneJson {
    #[serde(default)]
    merged_into: Option<MemberKey>,
}

#[derive(Deserialize)]
struct KeyJson {
    key: MemberKey,
}

pub fn changed_members(body: &[u8], record: &str) -> Result<ChangedPage, DataError> {
    let ctx = Ctx { record, part: Part::ChangedMembers };
    let page: ChangedPageJson = typed(document(body, ctx)?, ctx)?;
    let mut out = ChangedPage { as_of: page.as_of, next_cursor: cursor(page.next_cursor), ..ChangedPage::default() };
    for (i, entry) in page.changed.into_iter().enumerate() {
        let prefix = format!("/changed/{i}");
        // Name the entry by its key when the key itself is fine.
        let name = entry
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| MemberKey::parse(*k).is_ok())
            .map(str::to_string)
            .unwrap_or_else(|| entry_record("changed", i));
        let ectx = Ctx { record: &name, part: Part::ChangedMembers };
        match typed::<ChangedEntryJson>(entry, ectx) {
            Ok(e) => out.changed.push(ChangedKey { key: e.key, changed_at: e.changed_at }),
            Err(e) => out.rejected.push(under(e, &prefix)),
        }
    }
    Ok(out)
}

pub fn member_details(body: &[u8], key: &MemberKey) -> Result<MemberDetails, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    if let Some(d) = direct(body) {
        return Ok(d);
    }
    typed(document(body, ctx)?, ctx)
}

pub fn gone(body: &[u8], key: &MemberKey) -> Result<Option<MemberKey>, DataError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    let gone: GoneJson = typed(document(body, ctx)?, ctx)?;
    Ok(gone.merged_into)
}

pub fn memberships(body: &[u8], key: &MemberKey) -> Result<Vec<Membership>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Communities };
    if let Some(m) = direct::<MembershipsJson>(body) {
        return Ok(m.memberships);
    }
    Ok(typed::<MembershipsJson>(document(body, ctx)?, ctx)?.memberships)
}

pub fn groups(body: &[u8], key: &MemberKey) -> Result<Vec<SecurityGroupRef>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::SecurityGroups };
    if let Some(g) = direct::<GroupsJson>(body) {
        return Ok(g.groups);
    }
    Ok(typed::<GroupsJson>(document(body, ctx)?, ctx)?.groups)
}

pub fn changed_events(body: &[u8], record: &str) -> Result<EventsPage, DataError> {
    let ctx = Ctx { record, part: Part::ChangedEvents };
    let page: EventsPageJson = typed(document(body, ctx)?, ctx)?;
    let mut out = EventsPage { as_of: page.as_of, next_cursor: cursor(page.next_cursor), ..EventsPage::default() };
    for (i, entry) in page.events.into_iter().enumerate() {
        let prefix = format!("/events/{i}");
        let name = entry
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| amsync_core::EventKey::parse(*k).is_ok())
            .map(str::to_string)
            .unwrap_or_else(|| entry_record("events", i));
        let ectx = Ctx { record: &name, part: Part::ChangedEvents };
        let event = typed::<Event>(entry, ectx).and_then(checked_event);
        match event {
            Ok(ev) => out.events.push(ev),
            Err(e) => out.rejected.push(under(e, &prefix)),
        }
    }
    Ok(out)
}

pub fn key_answer(body: &[u8], part: Part) -> Result<MemberKey, DataError> {
    let ctx = Ctx { record: "answer", part };
    Ok(typed::<KeyJson>(document(body, ctx)?, ctx)?.key)
}

pub fn credentials_request(username: &str, password: &SecretString) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"username": username, "password": password.expose_secret()}))
        .expect("a JSON object of two strings serializes")
}

pub fn token_request(token: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "token": token })).expect("a JSON object of one string serializes")
}

/// The fast path of the per-member documents: straight into the typed
/// value, skipping the `Value` tree. Taken only when the body has no empty
/// string, so that it reads exactly what the slow path would: with no `""`,
/// dropping `null` members changes nothing that reads successfully (a `null`
/// `Option` is `None` either way; a `null` anywhere else fails here too).
/// Any failure falls back to the slow path, which names the bad field.
fn direct<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    if body.windows(2).any(|w| w == b"\"\"") {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// Parses the body as JSON and drops `null` and `""` object members.
fn document(body: &[u8], ctx: Ctx<'_>) -> Result<Value, DataError> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "the JSON ends early",
            serde_json::error::Category::Io => "the JSON could not be read",
            serde_json::error::Category::Syntax | serde_json::error::Category::Data => "the body is not valid JSON",
        };
        ctx.err("/", format!("{what} (line {}, column {}): {e}", e.line(), e.column()))
    })?;
    strip_no_values(&mut value);
    Ok(value)
}

/// `{"a": null, "b": ""}` becomes `{}`, at every depth. Nulls inside arrays
/// stay: they are not "no value" of a field but a broken list entry.
fn strip_no_values(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(str::is_empty)));
            map.values_mut().for_each(strip_no_values);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_no_values),
        _ => {}
    }
}

/// Reads a typed value, naming the failing field as a JSON pointer.
fn typed<T: DeserializeOwned>(value: Value, ctx: Ctx<'_>) -> Result<T, DataError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut field = pointer(e.path());
        let message = e.inner().to_string();
        // serde reports a missing field at its parent; name the field itself.
        if let Some(name) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            field = if field == "/" { format!("/{name}") } else { format!("{field}/{name}") };
        }
        ctx.err(field, message)
    })
}

/// `serde_path_to_error`'s path as an RFC 6901 JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out.push('/');
        match segment {
            Segment::Seq { index } => out.push_str(&index.to_string()),
            Segment::Map { key } => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Enum { variant } => out.push_str(variant),
            Segment::Unknown => out.push('?'),
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use amsync_core::{AmsStatus, EventStatus};

    use super::*;

    fn key(s: &str) -> MemberKey {
        MemberKey::parse(s).unwrap()
    }

    #[test]
    fn changed_page_with_a_bad_entry_keeps_the_rest() {
        let body = br#"{"as_of": "2026-11-29T14:00:02Z", "changed": [
            {"key": "M1", "changed_at": "2026-11-29T13:41:07+01:00"},
            {"key": ""},
            {"key": "M2", "changed_at": "yesterday"},
            {"nokey": 1},
            {"key": "M3", "changed_at": null}
        ], "next_cursor": "abc"}"#;
        let page = changed_members(body, "first page").unwrap();
        let keys: Vec<_> = page.changed.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["M1", "M3"]);
        assert_eq!(page.changed[0].changed_at, Some("2026-11-29T12:41:07Z".parse().unwrap()));
        assert_eq!(page.next_cursor.as_deref(), Some("abc"));
        let fields: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("changed entry 1", "/changed/1/key"),
                ("M2", "/changed/2/changed_at"),
                ("changed entry 3", "/changed/3/key")
            ]
        );
    }

    #[test]
    fn empty_and_null_cursor_end_the_listing() {
        for body in
            [r#"{"changed": [], "next_cursor": ""}"#, r#"{"changed": [], "next_cursor": null}"#, r#"{"changed": []}"#]
        {
            assert_eq!(changed_members(body.as_bytes(), "p").unwrap().next_cursor, None, "{body}");
        }
    }

    #[test]
    fn a_page_without_its_list_is_refused() {
        let e = changed_members(br#"{"as_of": "2026-11-29T14:00:02Z"}"#, "first page").unwrap_err();
        assert_eq!(e.field, "/changed");
        let e = changed_members(br#"{"changed": [], "as_of": "noon"}"#, "first page").unwrap_err();
        assert_eq!(e.field, "/as_of");
        let e = memberships(br#"{}"#, &key("M1")).unwrap_err();
        assert_eq!((e.field.as_str(), e.part), ("/memberships", Part::Communities));
        let e = groups(br#"{"groups": null}"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/groups");
    }

    #[test]
    fn nulls_are_no_value() {
        let body = br#"{"key": "M1", "status": null, "first_name": null, "phones": null, "email": "",
            "address": {"line1": null, "city": "X"},
            "demographics": [{"name": "N", "value": null, "search": null}]}"#;
        let d = member_details(body, &key("M1")).unwrap();
        assert_eq!(d.status, AmsStatus::Active);
        assert_eq!(d.first_name, None);
        assert!(d.phones.is_empty());
        assert_eq!(d.address.unwrap().city.as_deref(), Some("X"));
        assert!(!d.demographics[0].search);
    }

    #[test]
    fn bad_fields_are_named_by_pointer() {
        let e = member_details(br#"{"key": "M1", "phones": [{"type": "Work", "number": 5}]}"#, &key("M1")).unwrap_err();
        assert_eq!((e.field.as_str(), e.record.as_str(), e.part), ("/phones/0/number", "M1", Part::Details));
        let e = member_details(br#"{"key": "M1", "phones": [{"type": "Work"}]}"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/phones/0/number");
        let e = member_details(br#"{"status": "active"}"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/key");
        let e = member_details(br#"{"key": "M1", "status": "gone"}"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/status");
        let e = member_details(br#"{"key": "M1", "social": [{"network/x~": 1, "url": "u"}]}"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/social/0/network");
        let e = member_details(br#"{"key": "M1",, }"#, &key("M1")).unwrap_err();
        assert_eq!(e.field, "/");
        assert!(e.message.contains("line 1"), "{}", e.message);
        let e = member_details(b"[1, 2", &key("M1")).unwrap_err();
        assert!(e.message.contains("ends early"), "{}", e.message);
    }

    #[test]
    fn events_are_normalized_validated_and_rejected_one_by_one() {
        let body = br#"{"events": [
            {"key": "E1", "title": "", "starts_at": "2027-05-03T09:00:00-04:00", "ends_at": "2027-05-05T17:00:00-04:00", "status": "cancelled"},
            {"key": "E2", "starts_at": "2027-05-03T09:00:00Z", "ends_at": "2027-05-01T09:00:00Z"},
            {"key": "E3", "starts_at": "2027-05-03T09:00:00Z", "ends_at": "2027-05-03T10:00:00Z", "timezone": "Mars/Olympus"},
            {"key": "E4", "ends_at": "2027-05-03T10:00:00Z"},
            {"key": "E5", "starts_at": "2027-05-03T09:00:00Z", "ends_at": "2027-05-03T10:00:00Z", "community_key": "x\u0001"},
            {"key": "E6", "starts_at": "2027-05-03T09:00:00Z", "ends_at": "2027-05-03T10:00:00Z", "community_key": ""}
        ], "next_cursor": null}"#;
        let page = changed_events(body, "first page").unwrap();
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.events[1].community_key, None);
        assert_eq!(page.events[0].title, None);
        assert_eq!(page.events[0].status, EventStatus::Cancelled);
        let fields: Vec<_> = page.rejected.iter().map(|e| (e.record.as_str(), e.field.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("E2", "/events/1/ends_at"),
                ("E3", "/events/2/timezone"),
                ("E4", "/events/3/starts_at"),
                ("E5", "/events/4/community_key")
            ]
        );
    }

    #[test]
    fn gone_bodies() {
        assert_eq!(gone(b"", &key("M1")).unwrap(), None);
        assert_eq!(gone(b"{}", &key("M1")).unwrap(), None);
        assert_eq!(gone(br#"{"merged_into": "M9"}"#, &key("M1")).unwrap(), Some(key("M9")));
        assert_eq!(gone(br#"{"merged_into": ""}"#, &key("M1")).unwrap(), None);
        assert_eq!(gone(br#"{"merged_into": "a\u0000"}"#, &key("M1")).unwrap_err().field, "/merged_into");
    }

    #[test]
    fn credential_bodies() {
        let body = credentials_request("ada\"", &SecretString::from("p\u{e4}ss"));
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v, serde_json::json!({"username": "ada\"", "password": "p\u{e4}ss"}));
        assert_eq!(key_answer(br#"{"key": "M000123"}"#, Part::Credentials).unwrap(), key("M000123"));
        assert_eq!(key_answer(br#"{"key": 1}"#, Part::ResolveToken).unwrap_err().field, "/key");
        let v: Value = serde_json::from_slice(&token_request("t")).unwrap();
        assert_eq!(v, serde_json::json!({"token": "t"}));
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    fn slow<T: DeserializeOwned>(body: &[u8]) -> T {
        let ctx = Ctx { record: "M000123", part: Part::Details };
        typed(document(body, ctx).unwrap(), ctx).unwrap()
    }

    #[test]
    fn the_fast_path_reads_what_the_slow_path_reads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/json/");
        let member = std::fs::read(format!("{dir}member_M000123.json")).unwrap();
        let direct_member: MemberDetails = direct(&member).expect("the fixture has no empty string");
        assert_eq!(direct_member, slow::<MemberDetails>(&member));
        let communities = std::fs::read(format!("{dir}communities_M000123.json")).unwrap();
        assert_eq!(
            direct::<MembershipsJson>(&communities).unwrap().memberships,
            slow::<MembershipsJson>(&communities).memberships
        );
        let groups = std::fs::read(format!("{dir}groups_M000123.json")).unwrap();
        assert_eq!(direct::<GroupsJson>(&groups).unwrap().groups, slow::<GroupsJson>(&groups).groups);
    }

    #[test]
    fn empty_strings_and_null_lists_take_the_slow_path() {
        assert!(direct::<MemberDetails>(br#"{"key": "M1", "first_name": ""}"#).is_none());
        assert!(direct::<MemberDetails>(br#"{"key": "M1", "phones": null}"#).is_none());
        let slow_read: MemberDetails = slow(br#"{"key": "M1", "phones": null, "first_name": ""}"#);
        assert!(slow_read.phones.is_empty() && slow_read.first_name.is_none());
    }
}
