//! A member's rows in PostgreSQL: the single operations of `MemberTx` and
//! the reads of `MemberReads` (the same statements as `sqlite/member_io.rs`
//! and `sqlite/members.rs`, with PostgreSQL's types: JSON columns are jsonb
//! written from text, memberships' dates are `date`).
//!
//! Child rows are replaced with one `UNNEST` insert per table (one round
//! trip for all of a member's memberships, not one per row).

use std::collections::HashSet;

use amsync_core::community::Membership;
use amsync_core::diff::{ChangeKind, FieldChange, MembershipId};
use amsync_core::member::{Address, MemberDetails};
use amsync_core::record::{DisabledReason, MemberRecord};
use amsync_core::{Failure, GroupKey, MemberKey, RawPayload, SecurityGroupRef, Trigger};
use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::types::ToSql;

use super::codec::{self, from_json, get, to_json, ts};
use super::{PgBackend, PgTx};
use crate::backend::{Fingerprint, MemberReads, MemberRowText, MemberTx};
use crate::error::{Result, StoreError};
use crate::member_pages::{decode_cursor, encode_cursor, page_limit};
use crate::types::*;

fn hash(b: &[u8]) -> amsync_core::hash::ContentHash {
    amsync_core::hash::ContentHash::from_bytes(b).unwrap_or_default()
}

async fn fingerprint(tx: &mut PgTx, key: &str) -> Result<Option<Fingerprint>> {
    let Some(row) = tx
        .query_opt(
            "SELECT disabled_reason, details_hash, memberships_hash, groups_hash FROM members WHERE key = $1",
            &[&key],
        )
        .await?
    else {
        return Ok(None);
    };
    let reason: Option<String> = get(&row, 0)?;
    let (d, m, g): (Vec<u8>, Vec<u8>, Vec<u8>) = (get(&row, 1)?, get(&row, 2)?, get(&row, 3)?);
    Ok(Some(Fingerprint {
        disabled_reason: reason.as_deref().and_then(DisabledReason::parse),
        hashes: PartHashes { details: hash(&d), memberships: hash(&m), groups: hash(&g) },
    }))
}

/// The stored row of a member and its times.
pub(crate) struct Loaded {
    pub record: MemberRecord,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) async fn load_record(tx: &mut PgTx, key: &str) -> Result<Option<Loaded>> {
    let Some(r) = tx
        .query_opt(
            "SELECT status, disabled_reason, merged_into, ams_status, prefix, first_name, middle_name, last_name,
                nickname, suffix, credentials, email, address_line1, address_line2, address_line3, address_city,
                address_state, address_postal_code, address_country_code, website, created_at, updated_at,
                ams_memberships::text, phones::text, social::text, demographics::text
             FROM members WHERE key = $1",
            &[&key],
        )
        .await?
    else {
        return Ok(None);
    };
    let address = Address {
        line1: get(&r, 12)?,
        line2: get(&r, 13)?,
        line3: get(&r, 14)?,
        city: get(&r, 15)?,
        state: get(&r, 16)?,
        postal_code: get(&r, 17)?,
        country_code: get(&r, 18)?,
    };
    let status: String = get(&r, 0)?;
    let reason: Option<String> = get(&r, 1)?;
    let merged_into: Option<String> = get(&r, 2)?;
    let ams_status: String = get(&r, 3)?;
    let ams_json: String = get(&r, 22)?;
    let details = MemberDetails {
        key: codec::key("member", key.to_string())?,
        status: codec::ams_status(&ams_status)?,
        prefix: get(&r, 4)?,
        first_name: get(&r, 5)?,
        middle_name: get(&r, 6)?,
        last_name: get(&r, 7)?,
        nickname: get(&r, 8)?,
        suffix: get(&r, 9)?,
        credentials: get(&r, 10)?,
        email: get(&r, 11)?,
        phones: from_json("phones", &get::<String>(&r, 23)?)?,
        address: if address.is_empty() { None } else { Some(address) },
        website: get(&r, 19)?,
        social: from_json("social links", &get::<String>(&r, 24)?)?,
        demographics: from_json("demographics", &get::<String>(&r, 25)?)?,
    };
    let (created_at, updated_at) = (get(&r, 20)?, get(&r, 21)?);
    let all: Vec<Membership> = from_json("AMS memberships", &ams_json)?;
    let kept = load_membership_ids(tx, key).await?;
    let memberships = all.into_iter().filter(|m| kept.contains(&(m.community.key.to_string(), m.begin))).collect();
    let record = MemberRecord {
        details,
        status: codec::member_status(&status)?,
        disabled_reason: codec::disabled_reason(reason)?,
        merged_into: merged_into.map(|k| codec::key("merged_into", k)).transpose()?,
        memberships,
        ams_groups: load_ams_groups(tx, key).await?,
        local_groups: load_local_groups(tx, key).await?,
    };
    Ok(Some(Loaded { record, created_at, updated_at }))
}

/// (community, begin) of the memberships the rules let through.
async fn load_membership_ids(tx: &mut PgTx, key: &str) -> Result<HashSet<(String, NaiveDate)>> {
    let rows = tx.query("SELECT community_key, begin FROM memberships WHERE member_key = $1", &[&key]).await?;
    rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect()
}

pub(crate) async fn load_ams_groups(tx: &mut PgTx, key: &str) -> Result<Vec<SecurityGroupRef>> {
    let rows = tx
        .query("SELECT group_key, name FROM member_ams_groups WHERE member_key = $1 ORDER BY group_key", &[&key])
        .await?;
    rows.iter().map(|r| Ok(SecurityGroupRef { key: codec::key("group", get(r, 0)?)?, name: get(r, 1)? })).collect()
}

pub(crate) async fn load_local_groups(tx: &mut PgTx, key: &str) -> Result<Vec<GroupKey>> {
    let rows =
        tx.query("SELECT group_key FROM member_local_groups WHERE member_key = $1 ORDER BY group_key", &[&key]).await?;
    rows.iter().map(|r| codec::key("group", get(r, 0)?)).collect()
}

/// The member as the API shows it: record plus bookkeeping.
pub(crate) async fn load_stored(tx: &mut PgTx, key: &str) -> Result<Option<StoredMember>> {
    let Some(loaded) = load_record(tx, key).await? else { return Ok(None) };
    let book = tx
        .query_opt(
            "SELECT last_refreshed_at, last_trigger, last_error::text, last_error_at FROM member_refresh
             WHERE member_key = $1",
            &[&key],
        )
        .await?;
    type Book = (Option<DateTime<Utc>>, Option<String>, Option<String>, Option<DateTime<Utc>>);
    let (refreshed, trigger, error, error_at): Book = match &book {
        Some(r) => (get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?),
        None => (None, None, None, None),
    };
    Ok(Some(StoredMember {
        record: loaded.record,
        created_at: loaded.created_at,
        updated_at: loaded.updated_at,
        last_refreshed_at: refreshed,
        last_trigger: trigger.as_deref().map(codec::trigger).transpose()?,
        last_error: error.as_deref().map(|t| from_json::<Failure>("last error", t)).transpose()?,
        last_error_at: error_at,
    }))
}

const UPSERT_MEMBER: &str = "INSERT INTO members (key, status, disabled_reason, details_hash, memberships_hash,
    groups_hash, merged_into, ams_status, prefix, first_name, middle_name, last_name, nickname, suffix, credentials,
    email, address_line1, address_line2, address_line3, address_city, address_state, address_postal_code,
    address_country_code, website, phones, social, demographics, search_text, created_at, updated_at,
    ams_memberships)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
    $23, $24, $25::text::jsonb, $26::text::jsonb, $27::text::jsonb, $28, $29, $29, $30::text::jsonb)
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
    ams_memberships = excluded.ams_memberships";

impl MemberTx for PgTx {
    async fn fingerprint(&mut self, key: &str) -> Result<Option<Fingerprint>> {
        fingerprint(self, key).await
    }

    async fn load_record(&mut self, key: &str) -> Result<Option<MemberRecord>> {
        Ok(load_record(self, key).await?.map(|l| l.record))
    }

    async fn upsert_member_row(
        &mut self,
        rec: &MemberRecord,
        hashes: &PartHashes,
        text: &MemberRowText,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let d = &rec.details;
        let empty = Address::default();
        let a = d.address.as_ref().unwrap_or(&empty);
        let (hd, hm, hg) = (hashes.details.to_bytes(), hashes.memberships.to_bytes(), hashes.groups.to_bytes());
        let (hd, hm, hg) = (&hd[..], &hm[..], &hg[..]);
        let reason = rec.disabled_reason.map(DisabledReason::as_str);
        let merged = rec.merged_into.as_ref().map(MemberKey::as_str);
        let at = ts(at);
        let params: [&(dyn ToSql + Sync); 30] = [
            &d.key.as_str(),
            &rec.status.as_str(),
            &reason,
            &hd,
            &hm,
            &hg,
            &merged,
            &d.status.as_str(),
            &d.prefix,
            &d.first_name,
            &d.middle_name,
            &d.last_name,
            &d.nickname,
            &d.suffix,
            &d.credentials,
            &d.email,
            &a.line1,
            &a.line2,
            &a.line3,
            &a.city,
            &a.state,
            &a.postal_code,
            &a.country_code,
            &d.website,
            &text.phones,
            &text.social,
            &text.demographics,
            &text.search_text,
            &at,
            &text.ams_memberships,
        ];
        self.exec(UPSERT_MEMBER, &params).await?;
        Ok(())
    }

    async fn update_member_state(&mut self, rec: &MemberRecord, at: DateTime<Utc>) -> Result<()> {
        let reason = rec.disabled_reason.map(DisabledReason::as_str);
        let merged = rec.merged_into.as_ref().map(MemberKey::as_str);
        self.exec(
            "UPDATE members SET status = $2, disabled_reason = $3, merged_into = $4, updated_at = $5 WHERE key = $1",
            &[&rec.key().as_str(), &rec.status.as_str(), &reason, &merged, &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn replace_memberships(&mut self, key: &str, list: &[Membership], clear: bool) -> Result<()> {
        if clear {
            self.exec("DELETE FROM memberships WHERE member_key = $1", &[&key]).await?;
        }
        if list.is_empty() {
            return Ok(());
        }
        let communities: Vec<&str> = list.iter().map(|m| m.community.key.as_str()).collect();
        let begins: Vec<NaiveDate> = list.iter().map(|m| m.begin).collect();
        let ends: Vec<Option<NaiveDate>> = list.iter().map(|m| m.end).collect();
        let roles: Vec<Option<&str>> = list.iter().map(|m| m.role.as_deref()).collect();
        self.exec(
            "INSERT INTO memberships (member_key, community_key, begin, \"end\", role)
             SELECT $1, * FROM UNNEST($2::text[], $3::date[], $4::date[], $5::text[])",
            &[&key, &communities, &begins, &ends, &roles],
        )
        .await?;
        Ok(())
    }

    async fn replace_ams_groups(&mut self, key: &str, list: &[SecurityGroupRef], clear: bool) -> Result<()> {
        if clear {
            self.exec("DELETE FROM member_ams_groups WHERE member_key = $1", &[&key]).await?;
        }
        if list.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = list.iter().map(|g| g.key.as_str()).collect();
        let names: Vec<Option<&str>> = list.iter().map(|g| g.name.as_deref()).collect();
        self.exec(
            "INSERT INTO member_ams_groups (member_key, group_key, name)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[])",
            &[&key, &keys, &names],
        )
        .await?;
        Ok(())
    }

    async fn upsert_payloads(&mut self, key: &str, parts: [Option<&RawPayload>; 3], at: DateTime<Utc>) -> Result<()> {
        let at = ts(at);
        let when = |p: Option<&RawPayload>| p.map(|_| at);
        fn enc(p: Option<&RawPayload>) -> Option<&str> {
            p.map(|r| r.format.as_str())
        }
        fn body(p: Option<&RawPayload>) -> Option<&[u8]> {
            p.map(|r| r.body.as_slice())
        }
        let [d, c, g] = parts;
        self.exec(
            "INSERT INTO member_payloads AS p (member_key, details_at, communities_at, groups_at, details_encoding,
                communities_encoding, groups_encoding, details, communities, groups)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (member_key) DO UPDATE SET
                details_at = COALESCE(excluded.details_at, p.details_at),
                communities_at = COALESCE(excluded.communities_at, p.communities_at),
                groups_at = COALESCE(excluded.groups_at, p.groups_at),
                details_encoding = COALESCE(excluded.details_encoding, p.details_encoding),
                communities_encoding = COALESCE(excluded.communities_encoding, p.communities_encoding),
                groups_encoding = COALESCE(excluded.groups_encoding, p.groups_encoding),
                details = COALESCE(excluded.details, p.details),
                communities = COALESCE(excluded.communities, p.communities),
                groups = COALESCE(excluded.groups, p.groups)",
            &[&key, &when(d), &when(c), &when(g), &enc(d), &enc(c), &enc(g), &body(d), &body(c), &body(g)],
        )
        .await?;
        Ok(())
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
        self.exec(
            "INSERT INTO member_history (member_key, at, trigger, kind, run_id, fields)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
            &[&key, &ts(at), &trigger.as_str(), &kind.as_str(), &run_id, &to_json(fields)],
        )
        .await?;
        Ok(())
    }

    async fn note_refreshed(&mut self, key: &str, at: DateTime<Utc>, trigger: Trigger) -> Result<()> {
        self.exec(
            "INSERT INTO member_refresh (member_key, last_refreshed_at, last_trigger) VALUES ($1, $2, $3)
             ON CONFLICT (member_key) DO UPDATE SET last_refreshed_at = excluded.last_refreshed_at,
                last_trigger = excluded.last_trigger, last_error = NULL, last_error_at = NULL",
            &[&key, &ts(at), &trigger.as_str()],
        )
        .await?;
        Ok(())
    }

    async fn note_failure(&mut self, key: &str, failure: &Failure, at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "INSERT INTO member_refresh (member_key, last_error, last_error_at) VALUES ($1, $2::text::jsonb, $3)
             ON CONFLICT (member_key) DO UPDATE SET last_error = excluded.last_error,
                last_error_at = excluded.last_error_at",
            &[&key, &to_json(failure), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn stored_ams_memberships(&mut self, key: &str) -> Result<Vec<Membership>> {
        let row = self
            .query_opt("SELECT ams_memberships::text FROM members WHERE key = $1", &[&key])
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("member {key}")))?;
        from_json("AMS memberships", &get::<String>(&row, 0)?)
    }

    async fn set_ams_memberships(&mut self, key: &str, list: &[Membership], at: DateTime<Utc>) -> Result<()> {
        self.exec(
            "UPDATE members SET ams_memberships = $2::text::jsonb, updated_at = $3 WHERE key = $1",
            &[&key, &to_json(list), &ts(at)],
        )
        .await?;
        Ok(())
    }

    async fn ams_memberships_after(&mut self, after: &str, limit: usize) -> Result<Vec<(MemberKey, Vec<Membership>)>> {
        let rows = self
            .query(
                "SELECT key, ams_memberships::text FROM members WHERE key > $1 ORDER BY key LIMIT $2",
                &[&after, &(limit as i64)],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((codec::key("member", get(r, 0)?)?, from_json("AMS memberships", &get::<String>(r, 1)?)?)))
            .collect()
    }

    async fn kept_membership_ids(&mut self, key: &str) -> Result<HashSet<MembershipId>> {
        load_membership_ids(self, key).await
    }

    async fn touch_member(&mut self, key: &str, at: DateTime<Utc>) -> Result<()> {
        self.exec("UPDATE members SET updated_at = $2 WHERE key = $1", &[&key, &ts(at)]).await?;
        Ok(())
    }
}

/// Every member IsMember counts holds an AMS group whose spelling the rule
/// counts: the spellings members carry that it counts.
async fn is_member_spellings(tx: &mut PgTx) -> Result<Vec<String>> {
    let rows = tx.query("SELECT key FROM security_groups WHERE is_member AND source = 'ams'", &[]).await?;
    let keys: Vec<GroupKey> = rows.iter().map(|r| codec::key("group", get(r, 0)?)).collect::<Result<_>>()?;
    let designated = amsync_core::group::IsMemberGroups::new(&keys);
    if designated.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx.query("SELECT DISTINCT group_key FROM member_ams_groups", &[]).await?;
    let spellings: Vec<String> = rows.iter().map(|r| get(r, 0)).collect::<Result<_>>()?;
    Ok(spellings.into_iter().filter(|g| designated.counts(g)).collect())
}

async fn search(tx: &mut PgTx, q: &MemberQuery) -> Result<Page<MemberSummary>> {
    let limit = page_limit(q.limit);
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?.unwrap_or_default();
    let mut sql = String::from(
        "SELECT m.key, m.first_name, m.last_name, m.email, m.status, r.last_refreshed_at
         FROM members m LEFT JOIN member_refresh r ON r.member_key = m.key
         WHERE m.key > $1",
    );
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(after)];
    let arg = |v: Box<dyn ToSql + Sync + Send>, args: &mut Vec<Box<dyn ToSql + Sync + Send>>| {
        args.push(v);
        args.len()
    };
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let n = arg(Box::new(text.to_lowercase()), &mut args);
        sql.push_str(&format!(" AND strpos(m.search_text, ${n}) > 0"));
    }
    if let Some(c) = &q.community {
        let n = arg(Box::new(c.clone()), &mut args);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM memberships ms WHERE ms.member_key = m.key AND ms.community_key = ${n}"
        ));
        if let Some(day) = q.current_on {
            let d = arg(Box::new(day), &mut args);
            sql.push_str(&format!(" AND ms.begin <= ${d} AND (ms.\"end\" IS NULL OR ms.\"end\" >= ${d})"));
        }
        sql.push(')');
    }
    if let Some(g) = &q.group {
        let folded = g.to_lowercase();
        match folded.as_str() {
            "public" => {}
            "authenticated" => sql.push_str(" AND m.status = 'active'"),
            "ismember" => {
                let spellings = is_member_spellings(tx).await?;
                let n = arg(Box::new(spellings), &mut args);
                sql.push_str(&format!(
                    " AND m.status = 'active' AND EXISTS (SELECT 1 FROM member_ams_groups g
                       WHERE g.member_key = m.key AND g.group_key = ANY(${n}::text[]))"
                ));
            }
            _ => {
                let n = arg(Box::new(g.clone()), &mut args);
                let f = arg(Box::new(folded), &mut args);
                let registered = format!("(SELECT key FROM security_groups WHERE key_folded = ${f})");
                sql.push_str(&format!(
                    " AND (EXISTS (SELECT 1 FROM member_ams_groups g WHERE g.member_key = m.key
                                    AND g.group_key IN (${n}, {registered}))
                       OR EXISTS (SELECT 1 FROM member_local_groups l WHERE l.member_key = m.key
                                    AND l.group_key IN (${n}, {registered})))"
                ));
            }
        }
    }
    let n = arg(Box::new(limit as i64 + 1), &mut args);
    sql.push_str(&format!(" ORDER BY m.key LIMIT ${n}"));
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| &**b as &(dyn ToSql + Sync)).collect();
    let rows = tx.query(&sql, &refs).await?;
    let mut items = Vec::new();
    for r in &rows {
        let status: String = get(r, 4)?;
        items.push(MemberSummary {
            key: codec::key("member", get(r, 0)?)?,
            first_name: get(r, 1)?,
            last_name: get(r, 2)?,
            email: get(r, 3)?,
            status: codec::member_status(&status)?,
            last_refreshed_at: get(r, 5)?,
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

pub(crate) async fn history(tx: &mut PgTx, key: &str, limit: usize, before: Option<i64>) -> Result<Vec<HistoryEntry>> {
    let rows = tx
        .query(
            "SELECT id, at, trigger, kind, run_id, fields::text FROM member_history
             WHERE member_key = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            &[&key, &before.unwrap_or(i64::MAX), &(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: get(r, 0)?,
                at: get(r, 1)?,
                trigger: codec::trigger(&get::<String>(r, 2)?)?,
                kind: codec::change_kind(&get::<String>(r, 3)?)?,
                run_id: get(r, 4)?,
                fields: from_json("history fields", &get::<String>(r, 5)?)?,
            })
        })
        .collect()
}

impl MemberReads for PgBackend {
    async fn get_member(&self, key: &MemberKey) -> Result<Option<StoredMember>> {
        let mut tx = self.snapshot().await?;
        let v = load_stored(&mut tx, key.as_str()).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn ams_memberships(&self, key: &MemberKey) -> Result<Option<Vec<Membership>>> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_opt("SELECT ams_memberships::text FROM members WHERE key = $1", &[&key.as_str()]).await?;
        row.map(|r| from_json("AMS memberships", &get::<String>(&r, 0)?)).transpose()
    }

    async fn search_members(&self, query: &MemberQuery) -> Result<Page<MemberSummary>> {
        let mut tx = self.snapshot().await?;
        let v = search(&mut tx, query).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn member_history(&self, key: &MemberKey, limit: usize, before_id: Option<i64>) -> Result<Vec<HistoryEntry>> {
        let mut tx = self.autocommit().await?;
        history(&mut tx, key.as_str(), limit, before_id).await
    }

    async fn active_member_keys(&self) -> Result<Vec<MemberKey>> {
        let mut tx = self.autocommit().await?;
        let rows = tx.query("SELECT key FROM members WHERE status = 'active' ORDER BY key", &[]).await?;
        rows.iter().map(|r| codec::key("member", get(r, 0)?)).collect()
    }

    async fn member_count(&self) -> Result<u64> {
        let mut tx = self.autocommit().await?;
        let row = tx.query_one("SELECT COUNT(*) FROM members", &[]).await?;
        Ok(codec::count(get(&row, 0)?))
    }
}
