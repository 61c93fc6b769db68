//! The test AMS's answers from a [`SourceFixture`]: the contract's
//! documents rendered by the simulator's renderers in the server's
//! encoding, listings paged by the fixture's page size with a cursor of our
//! own, `since` applied as the contract says (at or after).

use amsync_ams::memory::{FixtureMember, SourceFixture};
use amsync_ams::HttpEncoding;
use amsync_core::MemberKey;
use amsync_sim::render::{json, xml, ChangedEntry, Page};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

fn document(encoding: HttpEncoding, status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, encoding.media_type())], body).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such member").into_response()
}

/// A request the test AMS refuses: its status and why.
type Refusal = (StatusCode, &'static str);

/// The page at `cursor` of `len` entries, or the 400 of a cursor we did not hand out.
fn page(len: usize, size: usize, cursor: &Option<String>) -> Result<(usize, usize, Option<String>), Refusal> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix("at-")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n <= len)
            .ok_or((StatusCode::BAD_REQUEST, "unknown cursor"))?,
    };
    let end = (start + size.max(1)).min(len);
    Ok((start, end, (end < len).then(|| format!("at-{end}"))))
}

fn since_of(since: &Option<String>) -> Result<Option<DateTime<Utc>>, Refusal> {
    since.as_deref().map(|s| s.parse().map_err(|_| (StatusCode::BAD_REQUEST, "bad since"))).transpose()
}

fn as_of(data: &SourceFixture) -> i64 {
    data.as_of.unwrap_or_else(Utc::now).timestamp()
}

pub fn changed_members(
    encoding: HttpEncoding,
    data: &SourceFixture,
    since: &Option<String>,
    cursor: &Option<String>,
) -> Response {
    let answer = || -> Result<Response, Refusal> {
        let all = data.listing(since_of(since)?);
        let (start, end, next_cursor) = page(all.len(), data.page_size, cursor)?;
        let items = all[start..end]
            .iter()
            .map(|(k, at)| ChangedEntry { key: k.text().to_string(), changed_at: at.timestamp() })
            .collect();
        let page = Page { as_of: as_of(data), items, next_cursor };
        let body = match encoding {
            HttpEncoding::Json => json::changed_members(&page),
            HttpEncoding::Xml => xml::changed_members(&page),
        };
        Ok(document(encoding, StatusCode::OK, body))
    };
    answer().unwrap_or_else(IntoResponse::into_response)
}

pub fn changed_events(
    encoding: HttpEncoding,
    data: &SourceFixture,
    since: &Option<String>,
    cursor: &Option<String>,
) -> Response {
    let answer = || -> Result<Response, Refusal> {
        let all = data.event_listing(since_of(since)?);
        let (start, end, next_cursor) = page(all.len(), data.page_size, cursor)?;
        let page = Page { as_of: as_of(data), items: all[start..end].to_vec(), next_cursor };
        let body = match encoding {
            HttpEncoding::Json => json::changed_events(&page),
            HttpEncoding::Xml => xml::changed_events(&page),
        };
        Ok(document(encoding, StatusCode::OK, body))
    };
    answer().unwrap_or_else(IntoResponse::into_response)
}

fn member<'a>(data: &'a SourceFixture, key: &str) -> Option<&'a FixtureMember> {
    MemberKey::parse(key).ok().and_then(|k| data.members.iter().find(|m| *m.key() == k))
}

pub fn member_details(encoding: HttpEncoding, data: &SourceFixture, key: &str) -> Response {
    if let Some(m) = member(data, key) {
        let body = match encoding {
            HttpEncoding::Json => json::details(&m.details),
            HttpEncoding::Xml => xml::details(&m.details),
        };
        return document(encoding, StatusCode::OK, body);
    }
    let gone = MemberKey::parse(key).ok().and_then(|k| data.gone.iter().find(|g| g.key == k).cloned());
    match gone {
        Some(g) if g.status == 410 => {
            let target = g.merged_into.as_ref().map(|k| k.as_str());
            let body = match encoding {
                HttpEncoding::Json => json::gone(target),
                HttpEncoding::Xml => xml::gone(target),
            };
            document(encoding, StatusCode::GONE, body)
        }
        _ => not_found(),
    }
}

pub fn communities(encoding: HttpEncoding, data: &SourceFixture, key: &str) -> Response {
    let Some(m) = member(data, key) else { return not_found() };
    let body = match encoding {
        HttpEncoding::Json => json::communities(&m.memberships),
        HttpEncoding::Xml => xml::communities(&m.memberships),
    };
    document(encoding, StatusCode::OK, body)
}

pub fn groups(encoding: HttpEncoding, data: &SourceFixture, key: &str) -> Response {
    let Some(m) = member(data, key) else { return not_found() };
    let body = match encoding {
        HttpEncoding::Json => json::groups(&m.groups),
        HttpEncoding::Xml => xml::groups(&m.groups),
    };
    document(encoding, StatusCode::OK, body)
}

/// AuthenticateCredentials' and ResolveToken's answer: the key, or 401.
pub fn key_answer(encoding: HttpEncoding, key: Option<&MemberKey>) -> Response {
    let Some(key) = key else { return (StatusCode::UNAUTHORIZED, "no").into_response() };
    let body = match encoding {
        HttpEncoding::Json => json::member_key(key.as_str()),
        HttpEncoding::Xml => xml::member_key(key.as_str()),
    };
    document(encoding, StatusCode::OK, body)
}
