//! The XML encoding of the contract.
//!
//! The document is first read into a small tree by `tree::parse`, which
//! enforces the safety rules (no DTD, capped depth, size and element count).
//! The tree is then mapped to the core types by hand, element by element as
//! the contract's XML section names them, so that every value is read
//! exactly as the JSON codec reads it: an empty element or attribute is no
//! value, unknown elements are ignored, and errors name the JSON shape's
//! field (`/phones/4`, `/memberships/0/begin`).

pub(crate) mod tree;

use std::collections::BTreeMap;

use amsync_core::error::{DataError, Part};
use amsync_core::group::SecurityGroupRef;
use amsync_core::member::MAX_PHONES;
use amsync_core::{
    Address, AmsStatus, Community, CommunityKey, Demographic, Event, EventKey, EventStatus, GroupKey, MemberDetails,
    MemberKey, Membership, Phone, SocialLink,
};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use quick_xml::escape::escape;
use secrecy::{ExposeSecret, SecretString};

use super::{cursor, entry_record, under, Ctx};
use crate::source::{checked_event, ChangedKey, ChangedPage, EventsPage};
pub(crate) use tree::Element;

/// The caps of the XML reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Deepest element nesting; the contract's documents need 4.
    pub max_depth: usize,
    /// Largest document, in bytes.
    pub max_bytes: u64,
    /// Most elements in one document (bounds the tree's memory).
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> XmlLimits {
        XmlLimits { max_depth: 32, max_bytes: 8 * 1024 * 1024, max_elements: 500_000 }
    }
}

/// Reads the document and checks its root element's name.
pub(crate) fn document(body: &[u8], limits: &XmlLimits, ctx: Ctx<'_>, root: &str) -> Result<Element, DataError> {
    let doc = tree::parse(body, limits).map_err(|r| ctx.err("/", r.to_string()))?;
    if doc.name != root {
        return Err(ctx.err("/", format!("expected the root element <{root}>, found <{}>", doc.name)));
    }
    Ok(doc)
}

pub fn changed_members(body: &[u8], record: &str, limits: &XmlLimits) -> Result<ChangedPage, DataError> {
    let ctx = Ctx { record, part: Part::ChangedMembers };
    let root = document(body, limits, ctx, "GetChangedMembersResult")?;
    let mut out = ChangedPage {
        as_of: root.attr("AsOf").map(|v| timestamp::<Utc>(v, ctx, "/as_of")).transpose()?,
        next_cursor: cursor(root.attr("NextCursor").map(str::to_string)),
        ..ChangedPage::default()
    };
    for (i, entry) in root.all("ChangedMember").enumerate() {
        match changed_member(entry, i) {
            Ok(c) => out.changed.push(c),
            Err(e) => out.rejected.push(e),
        }
    }
    Ok(out)
}

/// The `i`-th `<ChangedMember>` of a listing, or why it cannot be read
/// (named by its key when it has a readable one, else by its place, the
/// field under `/changed/{i}`).
pub(crate) fn changed_member(entry: &Element, i: usize) -> Result<ChangedKey, DataError> {
    let key_text = entry.text_of("MemberKey", Ctx { record: "", part: Part::ChangedMembers }, "/key").ok().flatten();
    let name = key_text.filter(|k| MemberKey::parse(k.as_str()).is_ok()).unwrap_or_else(|| entry_record("changed", i));
    let ectx = Ctx { record: &name, part: Part::ChangedMembers };
    let read = || -> Result<ChangedKey, DataError> {
        let key = required(entry.text_of("MemberKey", ectx, "/key")?, ectx, "/key", "<MemberKey>")?;
        let key = MemberKey::parse(key).map_err(|e| ectx.err("/key", e.to_string()))?;
        let changed_at = entry
            .text_of("LastUpdated", ectx, "/changed_at")?
            .map(|v| timestamp::<Utc>(&v, ectx, "/changed_at"))
            .transpose()?;
        Ok(ChangedKey { key, changed_at })
    };
    read().map_err(|e| under(e, &format!("/changed/{i}")))
}

pub fn member_details(body: &[u8], key: &MemberKey, limits: &XmlLimits) -> Result<MemberDetails, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    member(&document(body, limits, ctx, "Member")?, key)
}

/// The member an element holds as the contract's `<Member>` does, whatever
/// the element is called (a SOAP answer's `…Result`). Not yet checked.
pub(crate) fn member(root: &Element, key: &MemberKey) -> Result<MemberDetails, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    let member_key = required(root.text_of("MemberKey", ctx, "/key")?, ctx, "/key", "<MemberKey>")?;
    let status = match root.text_of("Status", ctx, "/status")?.as_deref() {
        None | Some("active") => AmsStatus::Active,
        Some("disabled") => AmsStatus::Disabled,
        Some(other) => {
            return Err(ctx.err("/status", format!("unknown status {other:?}, expected active or disabled")));
        }
    };
    let address = match root.one("Address", ctx, "/address")? {
        None => None,
        Some(a) => Some(Address {
            line1: a.text_of("Line1", ctx, "/address/line1")?,
            line2: a.text_of("Line2", ctx, "/address/line2")?,
            line3: a.text_of("Line3", ctx, "/address/line3")?,
            city: a.text_of("City", ctx, "/address/city")?,
            state: a.text_of("State", ctx, "/address/state")?,
            postal_code: a.text_of("PostalCode", ctx, "/address/postal_code")?,
            country_code: a.text_of("CountryCode", ctx, "/address/country_code")?,
        }),
    };
    let mut social = Vec::new();
    if let Some(list) = root.one("SocialMedia", ctx, "/social")? {
        for (i, site) in list.all("Site").enumerate() {
            let field = format!("/social/{i}");
            let network =
                required(site.attr("Network").map(str::to_string), ctx, &format!("{field}/network"), "Network")?;
            let url = required(site.leaf(ctx, &format!("{field}/url"))?, ctx, &format!("{field}/url"), "the URL")?;
            social.push(SocialLink { network, url });
        }
    }
    let mut demographics = Vec::new();
    if let Some(list) = root.one("Demographics", ctx, "/demographics")? {
        for (i, d) in list.all("Demographic").enumerate() {
            let field = format!("/demographics/{i}");
            demographics.push(Demographic {
                name: required(d.attr("Name").map(str::to_string), ctx, &format!("{field}/name"), "Name")?,
                value: d.leaf(ctx, &format!("{field}/value"))?,
                search: d.flag("Search", ctx, &format!("{field}/search"))?,
                network: d.flag("Network", ctx, &format!("{field}/network"))?,
            });
        }
    }
    Ok(MemberDetails {
        key: MemberKey::parse(member_key).map_err(|e| ctx.err("/key", e.to_string()))?,
        status,
        prefix: root.text_of("Prefix", ctx, "/prefix")?,
        first_name: root.text_of("FirstName", ctx, "/first_name")?,
        middle_name: root.text_of("MiddleName", ctx, "/middle_name")?,
        last_name: root.text_of("LastName", ctx, "/last_name")?,
        nickname: root.text_of("InformalName", ctx, "/nickname")?,
        suffix: root.text_of("Suffix", ctx, "/suffix")?,
        credentials: root.text_of("Designation", ctx, "/credentials")?,
        email: root.text_of("Email1", ctx, "/email")?,
        phones: phones(root, ctx)?,
        address,
        website: root.text_of("WebsiteUrl", ctx, "/website")?,
        social,
        demographics,
    })
}

/// `Phone1`/`Phone1Type` … `Phone4`/`Phone4Type`, in slot order. A slot with
/// a type but no number is an empty column and skipped; a number in a slot
/// past the fourth is a fifth phone, a data error like in JSON.
fn phones(root: &Element, ctx: Ctx<'_>) -> Result<Vec<Phone>, DataError> {
    let mut slots: BTreeMap<u32, (Option<String>, Option<String>)> = BTreeMap::new();
    for child in &root.children {
        let Some((n, is_type)) = phone_slot(&child.name) else { continue };
        let field = if is_type { format!("/phones/{}/type", n - 1) } else { format!("/phones/{}/number", n - 1) };
        let value = child.leaf(ctx, &field)?;
        let slot = slots.entry(n).or_default();
        let place = if is_type { &mut slot.1 } else { &mut slot.0 };
        if place.is_some() {
            return Err(ctx.err(field, format!("<{}> given more than once", child.name)));
        }
        *place = value;
    }
    let mut out = Vec::new();
    for (n, (number, kind)) in slots {
        let Some(number) = number else { continue };
        if n as usize > MAX_PHONES || out.len() == MAX_PHONES {
            return Err(ctx.err(
                format!("/phones/{}", out.len()),
                format!("<Phone{n}> given: at most {MAX_PHONES} phones (Phone1 to Phone{MAX_PHONES}) are allowed"),
            ));
        }
        out.push(Phone { kind, number });
    }
    Ok(out)
}

/// `Phone3` → (3, false), `Phone3Type` → (3, true).
fn phone_slot(name: &str) -> Option<(u32, bool)> {
    let rest = name.strip_prefix("Phone")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let n: u32 = rest[..digits].parse().ok().filter(|n| *n >= 1)?;
    match &rest[digits..] {
        "" => Some((n, false)),
        "Type" => Some((n, true)),
        _ => None,
    }
}

pub fn gone(body: &[u8], key: &MemberKey, limits: &XmlLimits) -> Result<Option<MemberKey>, DataError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    merged_into(&document(body, limits, ctx, "Gone")?, key)
}

/// The `MergedInto` of a `<Gone>` element.
pub(crate) fn merged_into(root: &Element, key: &MemberKey) -> Result<Option<MemberKey>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Details };
    root.attr("MergedInto").map(|k| MemberKey::parse(k).map_err(|e| ctx.err("/merged_into", e.to_string()))).transpose()
}

pub fn memberships(body: &[u8], key: &MemberKey, limits: &XmlLimits) -> Result<Vec<Membership>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Communities };
    memberships_in(&document(body, limits, ctx, "Memberships")?, key)
}

/// The `<Membership>` children of an element (`<Memberships>`, a SOAP
/// answer's `…Result`). Not yet checked.
pub(crate) fn memberships_in(root: &Element, key: &MemberKey) -> Result<Vec<Membership>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::Communities };
    let mut out = Vec::new();
    for (i, m) in root.all("Membership").enumerate() {
        let field = |f: &str| format!("/memberships/{i}/{f}");
        let c = required(m.one("Community", ctx, &field("community"))?, ctx, &field("community"), "<Community>")?;
        let community_key = required(c.attr("Key").map(str::to_string), ctx, &field("community/key"), "Key")?;
        out.push(Membership {
            community: Community {
                key: CommunityKey::parse(community_key).map_err(|e| ctx.err(field("community/key"), e.to_string()))?,
                name: c.leaf(ctx, &field("community/name"))?,
                community_type: c.attr("Type").map(str::to_string),
                group_type: c.attr("GroupType").map(str::to_string),
                group_subtype: c.attr("GroupSubType").map(str::to_string),
            },
            begin: date(
                required(m.attr("Begin").map(str::to_string), ctx, &field("begin"), "Begin")?.as_str(),
                ctx,
                &field("begin"),
            )?,
            end: m.attr("End").map(|v| date(v, ctx, &field("end"))).transpose()?,
            role: m.attr("Role").map(str::to_string),
        });
    }
    Ok(out)
}

pub fn groups(body: &[u8], key: &MemberKey, limits: &XmlLimits) -> Result<Vec<SecurityGroupRef>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::SecurityGroups };
    groups_in(&document(body, limits, ctx, "SecurityGroups")?, key)
}

/// The `<Group>` children of an element (`<SecurityGroups>`, a SOAP
/// answer's `…Result`). Not yet checked.
pub(crate) fn groups_in(root: &Element, key: &MemberKey) -> Result<Vec<SecurityGroupRef>, DataError> {
    let ctx = Ctx { record: key.as_str(), part: Part::SecurityGroups };
    let mut out = Vec::new();
    for (i, g) in root.all("Group").enumerate() {
        let field = format!("/groups/{i}/key");
        let group_key = required(g.attr("Key").map(str::to_string), ctx, &field, "Key")?;
        out.push(SecurityGroupRef {
            key: GroupKey::parse(group_key).map_err(|e| ctx.err(field, e.to_string()))?,
            name: g.leaf(ctx, &format!("/groups/{i}/name"))?,
        });
    }
    Ok(out)
}

pub fn changed_events(body: &[u8], record: &str, limits: &XmlLimits) -> Result<EventsPage, DataError> {
    let ctx = Ctx { record, part: Part::ChangedEvents };
    let root = document(body, limits, ctx, "GetChangedEventsResult")?;
    let mut out = events_in(&root, record)?;
    out.next_cursor = cursor(root.attr("NextCursor").map(str::to_string));
    Ok(out)
}

/// The `<Event>` children of an element (`<GetChangedEventsResult>`, a SOAP
/// answer's `…Result`), each checked, a bad one rejected; its `AsOf`
/// attribute when it has one.
pub(crate) fn events_in(root: &Element, record: &str) -> Result<EventsPage, DataError> {
    let ctx = Ctx { record, part: Part::ChangedEvents };
    let mut out = EventsPage {
        as_of: root.attr("AsOf").map(|v| timestamp::<Utc>(v, ctx, "/as_of")).transpose()?,
        ..EventsPage::default()
    };
    for (i, ev) in root.all("Event").enumerate() {
        let name = ev
            .attr("Key")
            .filter(|k| EventKey::parse(*k).is_ok())
            .map(str::to_string)
            .unwrap_or_else(|| entry_record("events", i));
        let ectx = Ctx { record: &name, part: Part::ChangedEvents };
        match event(ev, ectx) {
            Ok(e) => out.events.push(e),
            Err(e) => out.rejected.push(under(e, &format!("/events/{i}"))),
        }
    }
    Ok(out)
}

fn event(ev: &Element, ctx: Ctx<'_>) -> Result<Event, DataError> {
    let key = required(ev.attr("Key").map(str::to_string), ctx, "/key", "Key")?;
    let starts_at = required(ev.text_of("StartsAt", ctx, "/starts_at")?, ctx, "/starts_at", "<StartsAt>")?;
    let ends_at = required(ev.text_of("EndsAt", ctx, "/ends_at")?, ctx, "/ends_at", "<EndsAt>")?;
    let status = match ev.text_of("Status", ctx, "/status")?.as_deref() {
        None | Some("scheduled") => EventStatus::Scheduled,
        Some("cancelled") => EventStatus::Cancelled,
        Some(other) => {
            return Err(ctx.err("/status", format!("unknown status {other:?}, expected scheduled or cancelled")));
        }
    };
    let event = Event {
        key: EventKey::parse(key).map_err(|e| ctx.err("/key", e.to_string()))?,
        title: ev.text_of("Title", ctx, "/title")?,
        description: ev.text_of("Description", ctx, "/description")?,
        starts_at: timestamp::<FixedOffset>(&starts_at, ctx, "/starts_at")?,
        ends_at: timestamp::<FixedOffset>(&ends_at, ctx, "/ends_at")?,
        timezone: ev.text_of("TimeZone", ctx, "/timezone")?,
        location: ev.text_of("Location", ctx, "/location")?,
        url: ev.text_of("Url", ctx, "/url")?,
        community_key: ev
            .text_of("CommunityKey", ctx, "/community_key")?
            .map(|k| CommunityKey::parse(k).map_err(|e| ctx.err("/community_key", e.to_string())))
            .transpose()?,
        status,
    };
    checked_event(event)
}

pub fn key_answer(body: &[u8], part: Part, limits: &XmlLimits) -> Result<MemberKey, DataError> {
    let ctx = Ctx { record: "answer", part };
    let root = document(body, limits, ctx, "MemberKey")?;
    let key = required(root.leaf(ctx, "/key")?, ctx, "/key", "the member key")?;
    MemberKey::parse(key).map_err(|e| ctx.err("/key", e.to_string()))
}

/// A member key held as an element's text; `None` when it is empty.
pub(crate) fn key_text(el: &Element, part: Part) -> Result<Option<MemberKey>, DataError> {
    let ctx = Ctx { record: "answer", part };
    el.leaf(ctx, "/key")?.map(|k| MemberKey::parse(k).map_err(|e| ctx.err("/key", e.to_string()))).transpose()
}

pub fn credentials_request(username: &str, password: &SecretString) -> Vec<u8> {
    format!(
        "<Credentials><Username>{}</Username><Password>{}</Password></Credentials>",
        escape(username),
        escape(password.expose_secret())
    )
    .into_bytes()
}

pub fn token_request(token: &str) -> Vec<u8> {
    format!("<ResolveToken><Token>{}</Token></ResolveToken>", escape(token)).into_bytes()
}

/// Reading helpers over the tree; each error names the JSON-shape field.
impl Element {
    /// An attribute's value; an empty attribute is no value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    /// The child elements of that name, in document order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child element of that name, refusing it twice.
    pub(crate) fn one(&self, name: &str, ctx: Ctx<'_>, field: &str) -> Result<Option<&Element>, DataError> {
        let mut it = self.children.iter().filter(|c| c.name == name);
        let first = it.next();
        if it.next().is_some() {
            return Err(ctx.err(field, format!("<{name}> given more than once")));
        }
        Ok(first)
    }

    /// This element's text as a value: empty (or `xsi:nil="true"`) is none,
    /// child elements where a value belongs are an error.
    pub(crate) fn leaf(&self, ctx: Ctx<'_>, field: &str) -> Result<Option<String>, DataError> {
        if let Some(child) = self.children.first() {
            return Err(ctx.err(field, format!("<{}> holds <{}> where a value was expected", self.name, child.name)));
        }
        if self.text.is_empty() || self.attr("nil").is_some_and(|v| v == "true" || v == "1") {
            return Ok(None);
        }
        Ok(Some(self.text.clone()))
    }

    /// The text of the child element of that name.
    fn text_of(&self, name: &str, ctx: Ctx<'_>, field: &str) -> Result<Option<String>, DataError> {
        match self.one(name, ctx, field)? {
            None => Ok(None),
            Some(e) => e.leaf(ctx, field),
        }
    }

    /// An `xs:boolean` attribute; absent or empty is false, like a missing JSON field.
    fn flag(&self, name: &str, ctx: Ctx<'_>, field: &str) -> Result<bool, DataError> {
        match self.attr(name) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(ctx.err(field, format!("{name}={other:?} is not a boolean (true or false)"))),
        }
    }
}

fn required<T>(v: Option<T>, ctx: Ctx<'_>, field: &str, what: &str) -> Result<T, DataError> {
    v.ok_or_else(|| ctx.err(field, format!("{what} is missing or empty")))
}

/// A timestamp read exactly as the JSON codec's serde reads it (`FromStr`).
fn timestamp<Tz>(v: &str, ctx: Ctx<'_>, field: &str) -> Result<DateTime<Tz>, DataError>
where
    Tz: chrono::TimeZone,
    DateTime<Tz>: std::str::FromStr<Err = chrono::ParseError>,
{
    v.parse().map_err(|e| ctx.err(field, format!("{v:?} is not an RFC 3339 timestamp: {e}")))
}

fn date(v: &str, ctx: Ctx<'_>, field: &str) -> Result<NaiveDate, DataError> {
    v.parse().map_err(|e| ctx.err(field, format!("{v:?} is not a date (YYYY-MM-DD): {e}")))
}

#[cfg(test)]
mod tests;
