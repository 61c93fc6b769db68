//! Reads of members (member documents, search, history, the change feed)
//! on the readers.

use amsync_core::community::Membership;
use amsync_core::MemberKey;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::codec::{self, count, from_json, from_ms, opt_from_ms};
use super::member_io as io;
use super::SqliteBackend;
use crate::backend::{FeedReads, MemberReads};
use crate::error::Result;
use crate::member_pages::{decode_cursor, encode_cursor, page_limit};
use crate::types::*;

fn search(conn: &Connection, q: &MemberQuery) -> Result<Page<MemberSummary>> {
    let limit = page_limit(q.limit);
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or_default();
    let mut sql = String::from(
        "SELECT m.key, m.first_name, m.last_name, m.email, m.status, r.last_refreshed_at
         FROM members m LEFT JOIN member_refresh r ON r.member_key = m.key
         WHERE m.key > ?1",
    );
    let mut args: Vec<Value> = vec![Value::Text(after)];
    let arg = |v: Value, args: &mut Vec<Value>| {
        args.push(v);
        args.len()
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let n = arg(Value::Text(text.to_lowercase()), &mut args);
        sql.push_str(&format!(" AND instr(m.search_text, ?{n}) > 0"));
    }
    if let Some(c) = &q.community {
        let n = arg(Value::Text(c.clone()), &mut args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM memberships ms WHERE ms.member_key = m.key AND ms.community_key = ?{n}"
        ));
        if let Some(day) = q.current_on {
            let d = arg(Value::Text(day.to_string()), &mut args);
            sql.push_str(&format!(" AND ms.begin <= ?{d} AND (ms.end IS NULL OR ms.end >= ?{d})"));
        }
        sql.push(')');
    }
    if let Some(g) = &q.group {
        group_filter(conn, g, &mut sql, &mut args)?;
    }
    let n = arg(Value::Integer(limit as i64 + 1), &mut args);
    sql.push_str(&format!(" ORDER BY m.key LIMIT ?{n}"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (key, first_name, last_name, email, status, refreshed) = row?;
        items.push(MemberSummary {
            key: codec::key("member", key)?,
            first_name,
            last_name,
            email,
            status: codec::member_status(&status)?,
            last_refreshed_at: opt_from_ms(refreshed),
        });
    }
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|m| encode_cursor(m.key.as_str()))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Narrows a search to a group's members. The computed groups are as
/// decisions see them: `Public` is everyone, `Authenticated` every active
/// member, `IsMember` every member [`amsync_core::group::is_member`] counts
/// (active, holding an AMS group that counts: the spellings members carry
/// are judged by the rule, the query only picks the members holding one).
/// Other keys match the stored AMS and local groups (disabled members
/// included), compared case-insensitively through the registered key.
fn group_filter(conn: &Connection, group: &str, sql: &mut String, args: &mut Vec<Value>) -> Result<()> {
    let folded = group.to_lowercase();
    match folded.as_str() {
        "public" => {}
        "authenticated" => sql.push_str(" AND m.status = 'active'"),
        "ismember" => {
            let spellings = is_member_spellings(conn)?;
            if spellings.is_empty() {
                sql.push_str(" AND 0");
                return Ok(());
            }
            let first = args.len() + 1;
            args.extend(spellings.into_iter().map(Value::Text));
            let marks = (first..=args.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            sql.push_str(&format!(
                " AND m.status = 'active' AND EXISTS (SELECT 1 FROM member_ams_groups g
                   WHERE g.member_key = m.key AND g.group_key IN ({marks}))"
            ));
        }
        _ => {
            args.push(Value::Text(group.to_string()));
            let n = args.len();
            args.push(Value::Text(folded));
            let f = args.len();
            let registered = format!("(SELECT key FROM security_groups WHERE key_folded = ?{f})");
            sql.push_str(&format!(
                " AND (EXISTS (SELECT 1 FROM member_ams_groups g WHERE g.member_key = m.key
                                AND g.group_key IN (?{n}, {registered}))
                   OR EXISTS (SELECT 1 FROM member_local_groups l WHERE l.member_key = m.key
                                AND l.group_key IN (?{n}, {registered})))"
            ));
        }
    }
    Ok(())
}

/// The spellings of AMS groups members carry that count as IsMember (few
/// distinct keys; the index by group answers).
fn is_member_spellings(conn: &Connection) -> Result<Vec<String>> {
    let designated = super::groups::designated(conn)?;
    if designated.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached("SELECT DISTINCT group_key FROM member_ams_groups")?;
    let spellings = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(spellings.into_iter().filter(|g| designated.counts(g)).collect())
}

pub(crate) fn history(conn: &Connection, key: &str, limit: usize, before: Option<i64>) -> Result<Vec<HistoryEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, trigger, kind, run_id, fields FROM member_history
         WHERE member_key = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![key, before.unwrap_or(i64::MAX), limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, at, trigger, kind, run_id, fields) = row?;
        out.push(HistoryEntry {
            id,
            at: from_ms(at),
            trigger: codec::trigger(&trigger)?,
            kind: codec::change_kind(&kind)?,
            run_id,
            fields: from_json("history fields", &fields)?,
        });
    }
    Ok(out)
}

fn feed(conn: &Connection, after: i64, limit: usize) -> Result<Vec<FeedItem>> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, member_key, kind, at FROM change_feed WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = stmt.query_map(params![after, limit as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, key, kind, at) = row?;
        out.push(FeedItem { seq, key: codec::key("member", key)?, kind: codec::change_kind(&kind)?, at: from_ms(at) });
    }
    Ok(out)
}

impl MemberReads for SqliteBackend {
    async fn get_member(&self, key: &MemberKey) -> Result<Option<StoredMember>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| io::load_stored(c, &key)).await
    }

    async fn ams_memberships(&self, key: &MemberKey) -> Result<Option<Vec<Membership>>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| {
            let json: Option<String> = c
                .prepare_cached("SELECT ams_memberships FROM members WHERE key = ?1")?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            json.map(|j| from_json("AMS memberships", &j)).transpose()
        })
        .await
    }

    async fn search_members(&self, query: &MemberQuery) -> Result<Page<MemberSummary>> {
        let query = query.clone();
        self.read_op(move |c| search(c, &query)).await
    }

    async fn member_history(&self, key: &MemberKey, limit: usize, before_id: Option<i64>) -> Result<Vec<HistoryEntry>> {
        let key = key.as_str().to_owned();
        self.read_op(move |c| history(c, &key, limit, before_id)).await
    }

    async fn active_member_keys(&self) -> Result<Vec<MemberKey>> {
        self.read_op(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM members WHERE status = 'active' ORDER BY key")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                out.push(codec::key("member", row?)?);
            }
            Ok(out)
        })
        .await
    }

    async fn member_count(&self) -> Result<u64> {
        self.read_op(|c| Ok(count(c.prepare_cached("SELECT COUNT(*) FROM members")?.query_row([], |r| r.get(0))?)))
            .await
    }
}

impl FeedReads for SqliteBackend {
    async fn changes_after(&self, after: i64, limit: usize) -> Result<Vec<FeedItem>> {
        self.read_op(move |c| feed(c, after, limit)).await
    }
}
