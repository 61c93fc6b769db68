//! Reading and writing a member's rows: the `members` row, its child tables
//! (phones, social links, demographics, memberships, AMS groups, local
//! groups), payloads, history, the change feed and refresh bookkeeping.
//!
//! Every function takes the connection it runs on, so the same code serves
//! the writer (inside its savepoint) and the readers.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::ChangeKind;
use amsync_core::member::{Address, Demographic, MemberDetails, Phone, SocialLink};
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{Failure, GroupKey, MemberKey, RawPayload, SecurityGroupRef, Trigger};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{self, from_json, from_ms, opt_from_ms};
use crate::error::{Result, StoreError};
use crate::types::{PartHashes, StoredMember};

/// What the unchanged check needs of a stored member.
pub(crate) struct Fingerprint {
    pub disabled_reason: Option<DisabledReason>,
    pub hashes: PartHashes,
}

fn hash(b: &[u8]) -> amsync_core::hash::ContentHash {
    amsync_core::hash::ContentHash::from_bytes(b).unwrap_or_default()
}

pub(crate) fn fingerprint(conn: &Connection, key: &str) -> Result<Option<Fingerprint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT disabled_reason, details_hash, memberships_hash, groups_hash FROM members WHERE key = ?1",
    )?;
    let row = stmt
        .query_row([key], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })
        .optional()?;
    Ok(row.map(|(reason, d, m, g)| Fingerprint {
        disabled_reason: reason.as_deref().and_then(DisabledReason::parse),
        hashes: PartHashes { details: hash(&d), memberships: hash(&m), groups: hash(&g) },
    }))
}

/// The stored row of a member and its times.
pub(crate) struct Loaded {
    pub record: MemberRecord,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Loads everything a refresh can change, plus local groups.
pub(crate) fn load_record(conn: &Connection, key: &str) -> Result<Option<Loaded>> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, disabled_reason, merged_into, ams_status, prefix, first_name, middle_name, last_name,
                nickname, suffix, credentials, email, address_line1, address_line2, address_line3, address_city,
                address_state, address_postal_code, address_country_code, website, created_at, updated_at,
                ams_memberships
         FROM members WHERE key = ?1",
    )?;
    let row = stmt
        .query_row([key], |r| {
            let address = Address {
                line1: r.get(12)?,
                line2: r.get(13)?,
                line3: r.get(14)?,
                city: r.get(15)?,
                state: r.get(16)?,
                postal_code: r.get(17)?,
                country_code: r.get(18)?,
            };
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                [r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?],
                address,
                r.get::<_, Option<String>>(19)?,
                r.get::<_, i64>(20)?,
                r.get::<_, i64>(21)?,
                r.get::<_, String>(22)?,
            ))
        })
        .optional()?;
    let Some((status, reason, merged_into, ams_status, names, address, website, created_at, updated_at, ams_json)) =
        row
    else {
        return Ok(None);
    };
    let member_key: MemberKey = codec::key("member", key.to_string())?;
    let [prefix, first_name, middle_name, last_name, nickname, suffix, credentials, email]: [Option<String>; 8] = names;
    let details = MemberDetails {
        key: member_key,
        status: codec::ams_status(&ams_status)?,
        prefix,
        first_name,
        middle_name,
        last_name,
        nickname,
        suffix,
        credentials,
        email,
        phones: load_phones(conn, key)?,
        address: if address.is_empty() { None } else { Some(address) },
        website,
        social: load_social(conn, key)?,
        demographics: load_demographics(conn, key)?,
    };
    let all: Vec<Membership> = from_json("AMS memberships", &ams_json)?;
    let kept = load_membership_ids(conn, key)?;
    let memberships = all.into_iter().filter(|m| kept.contains(&(m.community.key.to_string(), m.begin))).collect();
    let record = MemberRecord {
        details,
        status: codec::member_status(&status)?,
        disabled_reason: match reason {
            Some(r) => Some(DisabledReason::parse(&r).ok_or_else(|| {
                StoreError::Database(format!("stored disabled reason {r:?} is not known to this version"))
            })?),
            None => None,
        },
        merged_into: merged_into.map(|k| codec::key("merged_into", k)).transpose()?,
        memberships,
        ams_groups: load_ams_groups(conn, key)?,
        local_groups: load_local_groups(conn, key)?,
    };
    Ok(Some(Loaded { record, created_at, updated_at }))
}

fn load_phones(conn: &Connection, key: &str) -> Result<Vec<Phone>> {
    let mut stmt = conn.prepare_cached("SELECT type, number FROM member_phones WHERE member_key = ?1 ORDER BY pos")?;
    let rows = stmt.query_map([key], |r| Ok(Phone { kind: r.get(0)?, number: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn load_social(conn: &Connection, key: &str) -> Result<Vec<SocialLink>> {
    let mut stmt = conn.prepare_cached("SELECT network, url FROM member_social WHERE member_key = ?1 ORDER BY pos")?;
    let rows = stmt.query_map([key], |r| Ok(SocialLink { network: r.get(0)?, url: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn load_demographics(conn: &Connection, key: &str) -> Result<Vec<Demographic>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, value, search, network FROM member_demographics WHERE member_key = ?1 ORDER BY pos",
    )?;
    let rows = stmt.query_map([key], |r| {
        Ok(Demographic { name: r.get(0)?, value: r.get(1)?, search: r.get(2)?, network: r.get(3)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// (community, begin) of the memberships the rules let through.
pub(crate) fn load_membership_ids(conn: &Connection, key: &str) -> Result<HashSet<(String, chrono::NaiveDate)>> {
    let mut stmt = conn.prepare_cached("SELECT community_key, begin FROM memberships WHERE member_key = ?1")?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashSet::new();
    for row in rows {
        let (c, b) = row?;
        let begin =
            b.parse().map_err(|_| StoreError::Database(format!("stored membership begin {b:?} is not a date")))?;
        out.insert((c, begin));
    }
    Ok(out)
}

fn load_ams_groups(conn: &Connection, key: &str) -> Result<Vec<SecurityGroupRef>> {
    let mut stmt =
        conn.prepare_cached("SELECT group_key, name FROM member_ams_groups WHERE member_key = ?1 ORDER BY group_key")?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (k, name) = row?;
        out.push(SecurityGroupRef { key: codec::key("group", k)?, name });
    }
    Ok(out)
}

fn load_local_groups(conn: &Connection, key: &str) -> Result<Vec<GroupKey>> {
    let mut stmt =
        conn.prepare_cached("SELECT group_key FROM member_local_groups WHERE member_key = ?1 ORDER BY group_key")?;
    let rows = stmt.query_map([key], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(codec::key("group", row?)?);
    }
    Ok(out)
}

/// The member as the API shows it: record plus bookkeeping.
pub(crate) fn load_stored(conn: &Connection, key: &str) -> Result<Option<StoredMember>> {
    let Some(loaded) = load_record(conn, key)? else { return Ok(None) };
    let mut stmt = conn.prepare_cached(
        "SELECT last_refreshed_at, last_trigger, last_error, last_error_at FROM member_refresh WHERE member_key = ?1",
    )?;
    let book = stmt
        .query_row([key], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let (refreshed, trigger, error, error_at) = book.unwrap_or_default();
    Ok(Some(StoredMember {
        record: loaded.record,
        created_at: from_ms(loaded.created_at),
        updated_at: from_ms(loaded.updated_at),
        last_refreshed_at: opt_from_ms(refreshed),
        last_trigger: trigger.as_deref().map(codec::trigger).transpose()?,
        last_error: error.as_deref().map(|t| from_json::<Failure>("last error", t)).transpose()?,
        last_error_at: opt_from_ms(error_at),
    }))
}

/// What search matches: key, names and email, lower-cased, separated by a
/// character no query can usefully contain.
pub(crate) fn search_text(d: &MemberDetails) -> String {
    let parts = [Some(d.key.as_str()), d.first_name.as_deref(), d.last_name.as_deref(), d.email.as_deref()];
    parts.iter().map(|p| p.unwrap_or("").to_lowercase()).collect::<Vec<_>>().join("\u{1f}")
}

/// Writes the `members` row (insert or full update; `created_at` is kept).
pub(crate) fn upsert_member_row(
    conn: &Connection,
    rec: &MemberRecord,
    hashes: &PartHashes,
    ams_memberships_json: &str,
    at: i64,
) -> Result<()> {
    let d = &rec.details;
    let empty = Address::default();
    let a = d.address.as_ref().unwrap_or(&empty);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO members (key, status, disabled_reason, details_hash, memberships_hash, groups_hash, merged_into,
            ams_status, prefix, first_name, middle_name, last_name, nickname, suffix, credentials, email,
            address_line1, address_line2, address_line3, address_city, address_state, address_postal_code,
            address_country_code, website, search_text, created_at, updated_at, ams_memberships)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
            ?23, ?24, ?25, ?26, ?26, ?27)
         ON CONFLICT (key) DO UPDATE SET status = excluded.status, disabled_reason = excluded.disabled_reason,
            details_hash = excluded.details_hash, memberships_hash = excluded.memberships_hash,
            groups_hash = excluded.groups_hash, merged_into = excluded.merged_into, ams_status = excluded.ams_status,
            prefix = excluded.prefix, first_name = excluded.first_name, middle_name = excluded.middle_name,
            last_name = excluded.last_name, nickname = excluded.nickname, suffix = excluded.suffix,
            credentials = excluded.credentials, email = excluded.email, address_line1 = excluded.address_line1,
            address_line2 = excluded.address_line2, address_line3 = excluded.address_line3,
            address_city = excluded.address_city, address_state = excluded.address_state,
            address_postal_code = excluded.address_postal_code, address_country_code = excluded.address_country_code,
            website = excluded.website, search_text = excluded.search_text, updated_at = excluded.updated_at,
            ams_memberships = excluded.ams_memberships",
    )?;
    stmt.execute(params![
        d.key.as_str(),
        rec.status.as_str(),
        rec.disabled_reason.map(DisabledReason::as_str),
        hashes.details.to_bytes(),
        hashes.memberships.to_bytes(),
        hashes.groups.to_bytes(),
        rec.merged_into.as_ref().map(MemberKey::as_str),
        d.status.as_str(),
        d.prefix,
        d.first_name,
        d.middle_name,
        d.last_name,
        d.nickname,
        d.suffix,
        d.credentials,
        d.email,
        a.line1,
        a.line2,
        a.line3,
        a.city,
        a.state,
        a.postal_code,
        a.country_code,
        d.website,
        search_text(d),
        at,
        ams_memberships_json,
    ])?;
    Ok(())
}

/// Writes only the effective state (a Gone refresh changes nothing else).
pub(crate) fn update_state(conn: &Connection, rec: &MemberRecord, at: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE members SET status = ?2, disabled_reason = ?3, merged_into = ?4, updated_at = ?5 WHERE key = ?1",
    )?
    .execute(params![
        rec.key().as_str(),
        rec.status.as_str(),
        rec.disabled_reason.map(DisabledReason::as_str),
        rec.merged_into.as_ref().map(MemberKey::as_str),
        at
    ])?;
    Ok(())
}

pub(crate) fn replace_phones(conn: &Connection, key: &str, list: &[Phone], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM member_phones WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt =
        conn.prepare_cached("INSERT INTO member_phones (member_key, pos, type, number) VALUES (?1, ?2, ?3, ?4)")?;
    for (i, p) in list.iter().enumerate() {
        stmt.execute(params![key, i as i64, p.kind, p.number])?;
    }
    Ok(())
}

pub(crate) fn replace_social(conn: &Connection, key: &str, list: &[SocialLink], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM member_social WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt =
        conn.prepare_cached("INSERT INTO member_social (member_key, pos, network, url) VALUES (?1, ?2, ?3, ?4)")?;
    for (i, s) in list.iter().enumerate() {
        stmt.execute(params![key, i as i64, s.network, s.url])?;
    }
    Ok(())
}

pub(crate) fn replace_demographics(conn: &Connection, key: &str, list: &[Demographic], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM member_demographics WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO member_demographics (member_key, pos, name, value, search, network)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, d) in list.iter().enumerate() {
        stmt.execute(params![key, i as i64, d.name, d.value, d.search, d.network])?;
    }
    Ok(())
}

pub(crate) fn replace_memberships(conn: &Connection, key: &str, list: &[Membership], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM memberships WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO memberships (member_key, community_key, begin, end, role) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for m in list {
        stmt.execute(params![
            key,
            m.community.key.as_str(),
            m.begin.to_string(),
            m.end.map(|e| e.to_string()),
            m.role
        ])?;
    }
    Ok(())
}

pub(crate) fn replace_ams_groups(conn: &Connection, key: &str, list: &[SecurityGroupRef], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM member_ams_groups WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt =
        conn.prepare_cached("INSERT INTO member_ams_groups (member_key, group_key, name) VALUES (?1, ?2, ?3)")?;
    for g in list {
        stmt.execute(params![key, g.key.as_str(), g.name])?;
    }
    Ok(())
}

pub(crate) fn upsert_payload(conn: &Connection, key: &str, part: &str, raw: &RawPayload, at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO member_payloads (member_key, part, encoding, body, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (member_key, part) DO UPDATE SET encoding = excluded.encoding, body = excluded.body,
            fetched_at = excluded.fetched_at",
    )?
    .execute(params![key, part, raw.encoding.as_str(), raw.body, at])?;
    Ok(())
}

pub(crate) fn insert_history(
    conn: &Connection,
    key: &str,
    at: i64,
    trigger: Trigger,
    kind: ChangeKind,
    run_id: Option<i64>,
    fields_json: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![key, at, trigger.as_str(), kind.as_str(), run_id, fields_json])?;
    Ok(())
}

pub(crate) fn insert_feed(conn: &Connection, key: &str, kind: ChangeKind, at: i64) -> Result<()> {
    conn.prepare_cached("INSERT INTO change_feed (member_key, kind, at) VALUES (?1, ?2, ?3)")?.execute(params![
        key,
        kind.as_str(),
        at
    ])?;
    Ok(())
}

/// A successful refresh: when and why, and the last error cleared.
pub(crate) fn note_refreshed(conn: &Connection, key: &str, at: i64, trigger: Trigger) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO member_refresh (member_key, last_refreshed_at, last_trigger) VALUES (?1, ?2, ?3)
         ON CONFLICT (member_key) DO UPDATE SET last_refreshed_at = excluded.last_refreshed_at,
            last_trigger = excluded.last_trigger, last_error = NULL, last_error_at = NULL",
    )?
    .execute(params![key, at, trigger.as_str()])?;
    Ok(())
}

/// A failed refresh: the failure is kept until a refresh succeeds.
pub(crate) fn note_failure(conn: &Connection, key: &str, failure_json: &str, at: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO member_refresh (member_key, last_error, last_error_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (member_key) DO UPDATE SET last_error = excluded.last_error,
            last_error_at = excluded.last_error_at",
    )?
    .execute(params![key, failure_json, at])?;
    Ok(())
}
