//! The SOAP 1.1 RefreshService dialect, as an AMS vendor's service speaks
//! it: the envelopes of the sim's `/RefreshService.asmx` (and of the test
//! AMS of amsync's source conformance suite, which serves its fixtures with
//! these writers).
//!
//! An answer is `<soap:Envelope><soap:Body><{Op}Response
//! xmlns="http://HigherLogic.com/"><{Op}Result>…</{Op}Result>` where the
//! result holds what the contract's XML document's root holds (its
//! children: `ChangedMember`s, the member's fields, `Membership`s,
//! `Group`s, `Event`s); a null result (no member, a wrong password) is a
//! response without a result element, as ASMX writes it. A failure is a
//! `soap:Fault` with HTTP 500.

use std::collections::HashMap;

use amsync_core::Event;

use crate::http::request_body::fields;
use crate::render::{rfc3339, xml, ChangedEntry, Page};

/// The namespace of the answers' elements.
pub const RESPONSE_NAMESPACE: &str = "http://HigherLogic.com/";
/// The path the sim serves the dialect at.
pub const PATH: &str = "/RefreshService.asmx";
/// The answers' media type (SOAP 1.1).
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The dialect's operations, as the sim names them (amsync's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    GetChangedMembers,
    GetMemberDetails,
    GetMemberCommunityGroups,
    GetMemberSecurityGroups,
    GetEvents,
    AuthenticateUser,
    ResolveToken,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::GetChangedMembers,
        Operation::GetMemberDetails,
        Operation::GetMemberCommunityGroups,
        Operation::GetMemberSecurityGroups,
        Operation::GetEvents,
        Operation::AuthenticateUser,
        Operation::ResolveToken,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::GetChangedMembers => "GetChangedMembers",
            Operation::GetMemberDetails => "GetMemberDetails",
            Operation::GetMemberCommunityGroups => "GetMemberCommunityGroups",
            Operation::GetMemberSecurityGroups => "GetMemberSecurityGroups",
            Operation::GetEvents => "GetEvents",
            Operation::AuthenticateUser => "AuthenticateUser",
            Operation::ResolveToken => "ResolveToken",
        }
    }

    /// The operation a `SOAPAction` header names: its last path segment,
    /// quotes removed, whatever the prefix.
    pub fn of_action(action: &str) -> Option<Operation> {
        let action = action.trim().trim_matches('"');
        let name = action.rsplit('/').next().unwrap_or(action);
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }
}

/// The parameters of a request: `securityKey` and the operation's own,
/// by their names without case or underscores (`member_key` ↔ `memberKey`).
pub fn params(body: &[u8]) -> Result<HashMap<&'static str, String>, String> {
    fields(body, true, &["security_key", "updated_since", "member_key", "username", "password", "token"])
}

fn open(out: &mut Vec<u8>, op: &str) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soap:Body><");
    out.extend_from_slice(op.as_bytes());
    out.extend_from_slice(b"Response xmlns=\"");
    out.extend_from_slice(RESPONSE_NAMESPACE.as_bytes());
    out.extend_from_slice(b"\">");
}

fn close(out: &mut Vec<u8>, op: &str) {
    out.extend_from_slice(b"</");
    out.extend_from_slice(op.as_bytes());
    out.extend_from_slice(b"Response></soap:Body></soap:Envelope>");
}

/// The answer to `op` whose result holds `inner` (already XML), or a null
/// result (no result element) for `None`.
pub fn response(op: &str, inner: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(320 + op.len() * 4 + inner.map_or(0, <[u8]>::len));
    open(&mut out, op);
    if let Some(inner) = inner {
        out.push(b'<');
        out.extend_from_slice(op.as_bytes());
        out.extend_from_slice(b"Result>");
        out.extend_from_slice(inner);
        out.extend_from_slice(b"</");
        out.extend_from_slice(op.as_bytes());
        out.extend_from_slice(b"Result>");
    }
    close(&mut out, op);
    out
}

/// A `soap:Fault` with `soap:{code}` (`Client`, `Server`) and the faultstring.
pub fn fault(code: &str, string: &str) -> Vec<u8> {
    let mut text = String::new();
    xml::escape_text(&mut text, string);
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\
         <soap:Body><soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring><detail /></soap:Fault>\
         </soap:Body></soap:Envelope>"
    )
    .into_bytes()
}

/// What a rendered contract document's root element holds: the document
/// without its declaration and root tags (empty for `<Root/>`). The
/// renderers write both, so this is exact for their output only.
pub fn root_content(doc: &[u8]) -> &[u8] {
    let body = doc.strip_prefix(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>".as_slice()).unwrap_or(doc);
    let Some(open_end) = body.iter().position(|&b| b == b'>') else { return &[] };
    if body[..open_end].ends_with(b"/") {
        return &[];
    }
    let close_start = body.iter().rposition(|&b| b == b'<').unwrap_or(body.len());
    body.get(open_end + 1..close_start).unwrap_or(&[])
}

/// GetChangedMembers: every entry, `ChangedMember` with `MemberKey` and
/// `LastUpdated` (no paging, no cursor).
pub fn changed_members(entries: &[ChangedEntry]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(entries.len() * 96);
    for e in entries {
        inner.extend_from_slice(b"<ChangedMember><MemberKey>");
        let mut key = String::new();
        xml::escape_text(&mut key, &e.key);
        inner.extend_from_slice(key.as_bytes());
        inner.extend_from_slice(b"</MemberKey><LastUpdated>");
        inner.extend_from_slice(rfc3339(e.changed_at).as_bytes());
        inner.extend_from_slice(b"</LastUpdated></ChangedMember>");
    }
    response(Operation::GetChangedMembers.name(), Some(&inner))
}

/// GetEvents: every event as the contract's `<Event>`.
pub fn events(op: &str, events: Vec<Event>) -> Vec<u8> {
    let doc = xml::changed_events(&Page { as_of: 0, items: events, next_cursor: None });
    response(op, Some(root_content(&doc)))
}

/// GetMemberDetails of a merged member: `<Gone MergedInto="…"/>` as the result.
pub fn gone(op: &str, merged_into: Option<&str>) -> Vec<u8> {
    let doc = xml::gone(merged_into);
    let body = doc.strip_prefix(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>".as_slice()).unwrap_or(&doc);
    response(op, Some(body))
}

/// AuthenticateUser and ResolveToken: the key as the result's text, or a null result.
pub fn member_key(op: &str, key: Option<&str>) -> Vec<u8> {
    let text = key.map(|k| {
        let mut s = String::new();
        xml::escape_text(&mut s, k);
        s
    });
    response(op, text.as_deref().map(str::as_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_content_strips_the_declaration_and_the_root() {
        assert_eq!(root_content(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><A x=\"1\"><B/>t</A>"), b"<B/>t");
        assert_eq!(root_content(b"<A/>"), b"");
        assert_eq!(root_content(b"<A></A>"), b"");
    }

    #[test]
    fn the_action_names_the_operation_whatever_its_prefix() {
        assert_eq!(Operation::of_action("\"http://cobalt.net/GetChangedMembers\""), Some(Operation::GetChangedMembers));
        assert_eq!(Operation::of_action("urn:x/GetEvents"), Some(Operation::GetEvents));
        assert_eq!(Operation::of_action("GetNothing"), None);
    }

    #[test]
    fn a_null_result_has_no_result_element() {
        let body = String::from_utf8(member_key("AuthenticateUser", None)).unwrap();
        assert!(
            body.contains("<AuthenticateUserResponse xmlns=\"http://HigherLogic.com/\"></AuthenticateUserResponse>")
        );
        let body = String::from_utf8(member_key("AuthenticateUser", Some("M&1"))).unwrap();
        assert!(body.contains("<AuthenticateUserResult>M&amp;1</AuthenticateUserResult>"), "{body}");
    }
}
