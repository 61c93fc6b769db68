//! The contract's XML encoding, written by hand: element and attribute
//! names exactly as the contract's XML section gives them, text and
//! attributes escaped, "no value" as an omitted element/attribute (or an
//! empty element where the contract's example shows one, like `<Line3/>`).

use amsync_core::{Event, MemberDetails, Membership, SecurityGroupRef};

use super::{rfc3339, ChangedEntry, Page};

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// A small XML writer over a `String`.
struct W(String);

impl W {
    fn new(capacity: usize) -> Self {
        let mut s = String::with_capacity(capacity);
        s.push_str(DECLARATION);
        W(s)
    }

    fn open(&mut self, name: &str) {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
    }

    fn close(&mut self, name: &str) {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
    }

    /// `<name>text</name>`, or nothing when there is no value.
    fn opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.text(name, v);
        }
    }

    /// `<name>text</name>`, or `<name/>` when there is no value.
    fn always(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.text(name, v),
            None => self.empty(name, &[]),
        }
    }

    fn text(&mut self, name: &str, value: &str) {
        self.open(name);
        escape_text(&mut self.0, value);
        self.close(name);
    }

    /// `<name a="…" …>` with attributes that have a value.
    fn start(&mut self, name: &str, attrs: &[(&str, Option<&str>)]) {
        self.0.push('<');
        self.0.push_str(name);
        self.attrs(attrs);
        self.0.push('>');
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, Option<&str>)]) {
        self.0.push('<');
        self.0.push_str(name);
        self.attrs(attrs);
        self.0.push_str("/>");
    }

    fn attrs(&mut self, attrs: &[(&str, Option<&str>)]) {
        for (k, v) in attrs {
            if let Some(v) = v {
                self.0.push(' ');
                self.0.push_str(k);
                self.0.push_str("=\"");
                escape_attr(&mut self.0, v);
                self.0.push('"');
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        self.0.into_bytes()
    }
}

/// Characters XML 1.0 cannot carry at all, even as references.
fn allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

pub fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Escapes an attribute value; whitespace other than spaces is written as
/// character references so attribute-value normalization keeps it.
pub fn escape_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if allowed(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn flag(b: bool) -> Option<&'static str> {
    Some(if b { "true" } else { "false" })
}

pub fn details(d: &MemberDetails) -> Vec<u8> {
    let mut w = W::new(1024);
    w.open("Member");
    w.text("MemberKey", d.key.as_str());
    w.text("Status", d.status.as_str());
    w.opt("Prefix", d.prefix.as_deref());
    w.opt("FirstName", d.first_name.as_deref());
    w.opt("MiddleName", d.middle_name.as_deref());
    w.opt("LastName", d.last_name.as_deref());
    w.opt("InformalName", d.nickname.as_deref());
    w.opt("Suffix", d.suffix.as_deref());
    w.opt("Designation", d.credentials.as_deref());
    w.opt("Email1", d.email.as_deref());
    // More than four phones (only ever set through the control API, to test
    // the reader's data error) continue the numbering: Phone5, Phone5Type.
    for (i, p) in d.phones.iter().enumerate() {
        w.text(&format!("Phone{}", i + 1), &p.number);
        w.opt(&format!("Phone{}Type", i + 1), p.kind.as_deref());
    }
    if let Some(a) = &d.address {
        w.open("Address");
        w.always("Line1", a.line1.as_deref());
        w.always("Line2", a.line2.as_deref());
        w.always("Line3", a.line3.as_deref());
        w.always("City", a.city.as_deref());
        w.always("State", a.state.as_deref());
        w.always("PostalCode", a.postal_code.as_deref());
        w.always("CountryCode", a.country_code.as_deref());
        w.close("Address");
    }
    w.opt("WebsiteUrl", d.website.as_deref());
    if !d.social.is_empty() {
        w.open("SocialMedia");
        for s in &d.social {
            w.start("Site", &[("Network", Some(&s.network))]);
            escape_text(&mut w.0, &s.url);
            w.close("Site");
        }
        w.close("SocialMedia");
    }
    if !d.demographics.is_empty() {
        w.open("Demographics");
        for x in &d.demographics {
            let attrs = [("Name", Some(x.name.as_str())), ("Search", flag(x.search)), ("Network", flag(x.network))];
            match &x.value {
                Some(v) => {
                    w.start("Demographic", &attrs);
                    escape_text(&mut w.0, v);
                    w.close("Demographic");
                }
                None => w.empty("Demographic", &attrs),
            }
        }
        w.close("Demographics");
    }
    w.close("Member");
    w.finish()
}

pub fn communities(list: &[Membership]) -> Vec<u8> {
    let mut w = W::new(128 + list.len() * 256);
    w.open("Memberships");
    for m in list {
        let begin = m.begin.to_string();
        let end = m.end.map(|e| e.to_string());
        w.start("Membership", &[("Begin", Some(&begin)), ("End", end.as_deref()), ("Role", m.role.as_deref())]);
        let c = &m.community;
        let attrs = [
            ("Key", Some(c.key.as_str())),
            ("Type", c.community_type.as_deref()),
            ("GroupType", c.group_type.as_deref()),
            ("GroupSubType", c.group_subtype.as_deref()),
        ];
        match &c.name {
            Some(name) => {
                w.start("Community", &attrs);
                escape_text(&mut w.0, name);
                w.close("Community");
            }
            None => w.empty("Community", &attrs),
        }
        w.close("Membership");
    }
    w.close("Memberships");
    w.finish()
}

pub fn groups(list: &[SecurityGroupRef]) -> Vec<u8> {
    let mut w = W::new(128 + list.len() * 48);
    w.open("SecurityGroups");
    for g in list {
        let attrs = [("Key", Some(g.key.as_str()))];
        match &g.name {
            Some(name) => {
                w.start("Group", &attrs);
                escape_text(&mut w.0, name);
                w.close("Group");
            }
            None => w.empty("Group", &attrs),
        }
    }
    w.close("SecurityGroups");
    w.finish()
}

pub fn changed_members(page: &Page<ChangedEntry>) -> Vec<u8> {
    let mut w = W::new(128 + page.items.len() * 96);
    let as_of = rfc3339(page.as_of);
    w.start("GetChangedMembersResult", &[("AsOf", Some(&as_of)), ("NextCursor", page.next_cursor.as_deref())]);
    for e in &page.items {
        w.open("ChangedMember");
        w.text("MemberKey", &e.key);
        w.text("LastUpdated", &rfc3339(e.changed_at));
        w.close("ChangedMember");
    }
    w.close("GetChangedMembersResult");
    w.finish()
}

pub fn changed_events(page: &Page<Event>) -> Vec<u8> {
    let mut w = W::new(256 + page.items.len() * 512);
    let as_of = rfc3339(page.as_of);
    w.start("GetChangedEventsResult", &[("AsOf", Some(&as_of)), ("NextCursor", page.next_cursor.as_deref())]);
    for e in &page.items {
        w.start("Event", &[("Key", Some(e.key.as_str()))]);
        w.always("Title", e.title.as_deref());
        w.always("Description", e.description.as_deref());
        w.text("StartsAt", &e.starts_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        w.text("EndsAt", &e.ends_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        w.always("TimeZone", e.timezone.as_deref());
        w.always("Location", e.location.as_deref());
        w.always("Url", e.url.as_deref());
        w.always("CommunityKey", e.community_key.as_ref().map(|k| k.as_str()));
        w.text("Status", e.status.as_str());
        w.close("Event");
    }
    w.close("GetChangedEventsResult");
    w.finish()
}

/// The 410 body: `<Gone MergedInto="…"/>`, or `<Gone/>` for a plain removal.
pub fn gone(merged_into: Option<&str>) -> Vec<u8> {
    let mut w = W::new(96);
    w.empty("Gone", &[("MergedInto", merged_into)]);
    w.finish()
}

/// The answer of AuthenticateCredentials and ResolveToken.
pub fn member_key(key: &str) -> Vec<u8> {
    let mut w = W::new(96);
    w.text("MemberKey", key);
    w.finish()
}

pub fn error(message: &str) -> Vec<u8> {
    let mut w = W::new(96);
    w.text("Error", message);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let mut s = String::new();
        escape_text(&mut s, "R&D <x> \"q\" 'a'\u{1}");
        assert_eq!(s, "R&amp;D &lt;x&gt; \"q\" 'a'\u{FFFD}");
        let mut s = String::new();
        escape_attr(&mut s, "a\"b'c<&>\td\ne");
        assert_eq!(s, "a&quot;b&apos;c&lt;&amp;&gt;&#9;d&#10;e");
    }
}
