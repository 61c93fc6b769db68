//! Reading and writing a member's rows: the `members` row (details, with
//! phones, social links and demographics as JSON), its child tables
//! (memberships, AMS groups, local groups), payloads, history, the change
//! feed and refresh bookkeeping.
//!
//! Every function takes the connection it runs on, so the same code serves
//! the writer (inside its savepoint) and the readers; on the writer they
//! are the single operations of `MemberTx` and `FeedTx`.

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{ChangeKind, FieldChange, MembershipId};
use amsync_core::member::{Address, MemberDetails};
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{Failure, GroupKey, MemberKey, RawPayload, SecurityGroupRef, Trigger};
use rusqlite::{params, Connection, OptionalExtension};

use chrono::{DateTime, Utc};

use super::codec::{self, from_json, from_ms, ms, opt_from_ms, to_json};
use super::SqliteTx;
use crate::backend::{FeedTx, Fingerprint, MemberRowText, MemberTx};
use crate::error::{Result, StoreError};
use crate::types::{PartHashes, RunId, StoredMember};

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
                ams_memberships, phones, social, demographics
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
                [r.get::<_, String>(23)?, r.get::<_, String>(24)?, r.get::<_, String>(25)?],
            ))
        })
        .optional()?;
    let Some((
        status,
        reason,
        merged_into,
        ams_status,
        names,
        address,
        website,
        created_at,
        updated_at,
        ams_json,
        lists,
    )) = row
    else {
        return Ok(None);
    };
    let member_key: MemberKey = codec::key("member", key.to_string())?;
    let [prefix, first_name, middle_name, last_name, nickname, suffix, credentials, email]: [Option<String>; 8] = names;
    let [phones, social, demographics] = lists;
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
        phones: from_json("phones", &phones)?,
        address: if address.is_empty() { None } else { Some(address) },
        website,
        social: from_json("social links", &social)?,
        demographics: from_json("demographics", &demographics)?,
    };
    let all: Vec<Membership> = from_json("AMS memberships", &ams_json)?;
    let kept = load_membership_ids(conn, key)?;
    let memberships = all.into_iter().filter(|m| kept.contains(&(m.community.key.to_string(), m.begin))).collect();
    let record = MemberRecord {
        details,
        status: codec::member_status(&status)?,
        disabled_reason: codec::disabled_reason(reason)?,
        merged_into: merged_into.map(|k| codec::key("merged_into", k)).transpose()?,
        memberships,
        ams_groups: load_ams_groups(conn, key)?,
        local_groups: load_local_groups(conn, key)?,
    };
    Ok(Some(Loaded { record, created_at, updated_at }))
}

/// (community, begin) of the memberships the rules let through.
pub(crate) fn load_membership_ids(conn: &Connection, key: &str) -> Result<HashSet<MembershipId>> {
    let mut stmt = conn.prepare_cached("SELECT community_key, begin FROM memberships WHERE member_key = ?1")?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashSet::new();
    for row in rows {
        let (c, b) = row?;
        out.insert((c, parse_date(&b)?));
    }
    Ok(out)
}

/// A stored membership's begin (see [`date_text`]).
pub(crate) fn parse_date(b: &str) -> Result<chrono::NaiveDate> {
    b.parse().map_err(|_| StoreError::Database(format!("stored membership begin {b:?} is not a date")))
}

pub(crate) fn load_ams_groups(conn: &Connection, key: &str) -> Result<Vec<SecurityGroupRef>> {
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

pub(crate) fn load_local_groups(conn: &Connection, key: &str) -> Result<Vec<GroupKey>> {
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

/// Writes the `members` row (insert or full update; `created_at` is kept).
/// `text` must have been computed from `rec.details`.
pub(crate) fn upsert_member_row(
    conn: &Connection,
    rec: &MemberRecord,
    hashes: &PartHashes,
    text: &MemberRowText,
    at: i64,
) -> Result<()> {
    let d = &rec.details;
    let empty = Address::default();
    let a = d.address.as_ref().unwrap_or(&empty);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO members (key, status, disabled_reason, details_hash, memberships_hash, groups_hash, merged_into,
            ams_status, prefix, first_name, middle_name, last_name, nickname, suffix, credentials, email,
            address_line1, address_line2, address_line3, address_city, address_state, address_postal_code,
            address_country_code, website, phones, social, demographics, search_text, created_at, updated_at,
            ams_memberships)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,
            ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?29, ?30)
         ON CONFLICT (key) DO UPDATE SET status = excluded.status, disabled_reason = excluded.disabled_reason,
            details_hash = excluded.details_hash, memberships_hash = excluded.memberships_hash,
            groups_hash = excluded.groups_hash, merged_into = excluded.merged_into, ams_status = excluded.ams_status,
            prefix = excluded.prefix, first_name = excluded.first_name, middle_name = excluded.middle_name,
            last_name = excluded.last_name, nickname = excluded.nickname, suffix = excluded.suffix,
            credentials = excluded.credentials, email = excluded.email, address_line1 = excluded.address_line1,
            address_line2 = excluded.address_line2, address_line3 = excluded.address_line3,
            address_city = excluded.address_city, address_state = excluded.address_state,
            address_postal_code = excluded.address_postal_code, address_country_code = excluded.address_country_code,
            website = excluded.website, phones = excluded.phones, social = excluded.social,
            demographics = excluded.demographics, search_text = excluded.search_text, updated_at = excluded.updated_at,
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
        text.phones,
        text.social,
        text.demographics,
        text.search_text,
        at,
        text.ams_memberships,
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

/// `YYYY-MM-DD`, the stored form of a date (sorts as the date does).
/// Written by hand: chrono's `Display` showed in the writer's profile.
pub(crate) fn date_text(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        return d.to_string();
    }
    let y = y as u32;
    let digits = [y / 1000, y / 100 % 10, y / 10 % 10, y % 10, m / 10, m % 10, day / 10, day % 10];
    let b = |i: usize| char::from(b'0' + digits[i] as u8);
    [b(0), b(1), b(2), b(3), '-', b(4), b(5), '-', b(6), b(7)].iter().collect()
}

pub(crate) fn replace_memberships(conn: &Connection, key: &str, list: &[Membership], clear: bool) -> Result<()> {
    if clear {
        conn.prepare_cached("DELETE FROM memberships WHERE member_key = ?1")?.execute([key])?;
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO memberships (member_key, community_key, begin, end, role) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for m in list {
        stmt.execute(params![key, m.community.key.as_str(), date_text(m.begin), m.end.map(date_text), m.role])?;
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

/// Stores the raw answers of the parts given (`None` keeps the stored one).
pub(crate) fn upsert_payloads(conn: &Connection, key: &str, parts: [Option<&RawPayload>; 3], at: i64) -> Result<()> {
    fn enc(p: Option<&RawPayload>) -> Option<&str> {
        p.map(|r| r.format.as_str())
    }
    fn body(p: Option<&RawPayload>) -> Option<&[u8]> {
        p.map(|r| r.body.as_slice())
    }
    let when = |p: Option<&RawPayload>| p.map(|_| at);
    let [d, c, g] = parts;
    conn.prepare_cached(
        "INSERT INTO member_payloads (member_key, details_at, communities_at, groups_at, details_encoding,
            communities_encoding, groups_encoding, details, communities, groups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (member_key) DO UPDATE SET
            details_at = COALESCE(excluded.details_at, details_at),
            communities_at = COALESCE(excluded.communities_at, communities_at),
            groups_at = COALESCE(excluded.groups_at, groups_at),
            details_encoding = COALESCE(excluded.details_encoding, details_encoding),
            communities_encoding = COALESCE(excluded.communities_encoding, communities_encoding),
            groups_encoding = COALESCE(excluded.groups_encoding, groups_encoding),
            details = COALESCE(excluded.details, details),
            communities = COALESCE(excluded.communities, communities),
            groups = COALESCE(excluded.groups, groups)",
    )?
    .execute(params![key, when(d), when(c), when(g), enc(d), enc(c), enc(g), body(d), body(c), body(g)])?;
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

impl MemberTx for SqliteTx {
    async fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        fingerprint(&self.conn, key)
    }

    async fn load_record(&mut self, key: &str) -> Result<Option<MemberRecord>> {
        Ok(load_record(&self.conn, key)?.map(|l| l.record))
    }

    async fn upsert_member_row(
        &mut self,
        record: &MemberRecord,
        hashes: &PartHashes,
        text: &MemberRowText,
        at: DateTime<Utc>,
    ) -> Result<()> {
        upsert_member_row(&self.conn, record, hashes, text, ms(at))
    }

    async fn update_member_state(&mut self, record: &MemberRecord, at: DateTime<Utc>) -> Result<()> {
        update_state(&self.conn, record, ms(at))
    }

    async fn replace_memberships(&mut self, key: &str, list: &[Membership], clear: bool) -> Result<()> {
        replace_memberships(&self.conn, key, list, clear)
    }

    async fn replace_ams_groups(&mut self, key: &str, list: &[SecurityGroupRef], clear: bool) -> Result<()> {
        replace_ams_groups(&self.conn, key, list, clear)
    }

    async fn upsert_payloads(&mut self, key: &str, parts: [Option<&RawPayload>; 3], at: DateTime<Utc>) -> Result<()> {
        upsert_payloads(&self.conn, key, parts, ms(at))
    }

    async fn insert_history(
        &mut self,
        key: &str,
        at: DateTime<Utc>,
        trigger: Trigger,
        kind: ChangeKind,
        run_id: Option<RunId>,
        fields: &[FieldChange],
    ) -> Result<()> {
        insert_history(&self.conn, key, ms(at), trigger, kind, run_id, &to_json(fields))
    }

    async fn note_refreshed(&mut self, key: &str, at: DateTime<Utc>, trigger: Trigger) -> Result<()> {
        note_refreshed(&self.conn, key, ms(at), trigger)
    }

    async fn note_failure(&mut self, key: &str, failure: &Failure, at: DateTime<Utc>) -> Result<()> {
        note_failure(&self.conn, key, &to_json(failure), ms(at))
    }

    async fn stored_ams_memberships(&mut self, key: &str) -> Result<Vec<Membership>> {
        let all: String = self
            .conn
            .prepare_cached("SELECT ams_memberships FROM members WHERE key = ?1")?
            .query_row([key], |r| r.get(0))?;
        from_json("AMS memberships", &all)
    }

    async fn set_ams_memberships(&mut self, key: &str, list: &[Membership], at: DateTime<Utc>) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE members SET ams_memberships = ?2, updated_at = ?3 WHERE key = ?1")?
            .execute(params![key, to_json(list), ms(at)])?;
        Ok(())
    }

    async fn ams_memberships_after(&mut self, after: &str, limit: usize) -> Result<Vec<(MemberKey, Vec<Membership>)>> {
        let rows: Vec<(String, String)> = self
            .conn
            .prepare_cached("SELECT key, ams_memberships FROM members WHERE key > ?1 ORDER BY key LIMIT ?2")?
            .query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(key, json)| Ok((codec::key("member", key)?, from_json("AMS memberships", &json)?)))
            .collect()
    }

    async fn kept_membership_ids(&mut self, key: &str) -> Result<HashSet<MembershipId>> {
        load_membership_ids(&self.conn, key)
    }

    async fn touch_member(&mut self, key: &str, at: DateTime<Utc>) -> Result<()> {
        self.conn.prepare_cached("UPDATE members SET updated_at = ?2 WHERE key = ?1")?.execute(params![key, ms(at)])?;
        Ok(())
    }
}

impl FeedTx for SqliteTx {
    /// `max + 1` (SQLite's `INTEGER PRIMARY KEY` without AUTOINCREMENT), on
    /// the one writer: sequence order is commit order.
    async fn append_to_feed(&mut self, key: &str, kind: ChangeKind, at: DateTime<Utc>) -> Result<()> {
        insert_feed(&self.conn, key, kind, ms(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_iso() {
        for d in ["2026-01-01", "0001-12-31", "9999-09-09", "2024-02-29"] {
            assert_eq!(date_text(d.parse().unwrap()), d);
        }
    }
}
