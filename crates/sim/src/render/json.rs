//! The contract's JSON encoding (serde over the core types, whose serde
//! shape is the contract's).

use amsync_core::{Event, MemberDetails, Membership, SecurityGroupRef};
use serde::Serialize;

use super::{rfc3339, ChangedEntry, Page};

pub fn details(d: &MemberDetails) -> Vec<u8> {
    serde_json::to_vec(d).expect("details serialize")
}

pub fn communities(list: &[Membership]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        memberships: &'a [Membership],
    }
    serde_json::to_vec(&Body { memberships: list }).expect("memberships serialize")
}

pub fn groups(list: &[SecurityGroupRef]) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        groups: &'a [SecurityGroupRef],
    }
    serde_json::to_vec(&Body { groups: list }).expect("groups serialize")
}

pub fn changed_members(page: &Page<ChangedEntry>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Entry<'a> {
        key: &'a str,
        changed_at: String,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        as_of: String,
        changed: Vec<Entry<'a>>,
        next_cursor: Option<&'a str>,
    }
    let body = Body {
        as_of: rfc3339(page.as_of),
        changed: page.items.iter().map(|e| Entry { key: &e.key, changed_at: rfc3339(e.changed_at) }).collect(),
        next_cursor: page.next_cursor.as_deref(),
    };
    serde_json::to_vec(&body).expect("page serializes")
}

pub fn changed_events(page: &Page<Event>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        as_of: String,
        events: &'a [Event],
        next_cursor: Option<&'a str>,
    }
    let body = Body { as_of: rfc3339(page.as_of), events: &page.items, next_cursor: page.next_cursor.as_deref() };
    serde_json::to_vec(&body).expect("page serializes")
}

/// The 410 body of a merged record.
pub fn gone(merged_into: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "merged_into": merged_into })).expect("gone serializes")
}

/// The answer of AuthenticateCredentials and ResolveToken.
pub fn member_key(key: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "key": key })).expect("key serializes")
}

pub fn error(message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "error": message })).expect("error serializes")
}
