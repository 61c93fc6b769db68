//! Where the SQLite schema keeps a member's key, table by table, and what
//! a member's erase (`erase.rs`) and export (`export.rs`) do with those
//! rows; and every table that holds no member key, with why.
//!
//! This list is what keeps erase and export complete as the schema grows:
//! a conformance test reads the tables of a freshly migrated database
//! (`sqlite_master`) and fails on a table that is in neither list, on a
//! column named like a member's key (`member`, `member_*`, `merged_into`)
//! that is not listed here, and on a listed table whose rows about a
//! member an erase leaves or an export misses. A table added by a
//! migration therefore comes with its line here, and with its part of the
//! erase and the export.

use crate::data_protection::MemberExport;

/// What a member's erase does with the rows a column names it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnErase {
    /// Every row naming the member is deleted.
    Delete,
    /// Deleted, but for the rows matching `kept_where` (an SQL condition on
    /// the table), which stay for the reason given.
    DeleteExcept { kept_where: &'static str, why: &'static str },
    /// The column is set to NULL: the rows stay without the key, for the
    /// reason given.
    ClearKey { why: &'static str },
    /// The rows stay as they are, for the reason given.
    Keep { why: &'static str },
}

/// A column that holds a member's key.
#[derive(Debug, Clone, Copy)]
pub struct MemberKeyColumn {
    pub table: &'static str,
    pub column: &'static str,
    pub on_erase: OnErase,
    /// How many of the member's rows of this table (or the parts they hold)
    /// its export carries. `None` only where the column names the member in
    /// another member's row, which is that member's to export (the reason
    /// is in `on_erase`).
    pub in_export: Option<fn(&MemberExport) -> usize>,
}

const fn erased(table: &'static str, column: &'static str, in_export: fn(&MemberExport) -> usize) -> MemberKeyColumn {
    MemberKeyColumn { table, column, on_erase: OnErase::Delete, in_export: Some(in_export) }
}

/// Every column of the schema that holds a member's key.
pub const MEMBER_KEY_COLUMNS: &[MemberKeyColumn] = &[
    erased("members", "key", |e| usize::from(e.member.is_some())),
    MemberKeyColumn {
        table: "members",
        column: "merged_into",
        on_erase: OnErase::Keep {
            why: "names the erased key in the record of another member, the one its AMS merged into it (as does a \
                  held 410 of that member, in its held change's signal): that member's data, exported and erased \
                  with it; the erased key's tombstone keeps the key itself from coming back",
        },
        in_export: None,
    },
    erased("memberships", "member_key", |e| e.member.as_ref().map_or(0, |m| m.record.memberships.len())),
    erased("member_ams_groups", "member_key", |e| e.member.as_ref().map_or(0, |m| m.record.ams_groups.len())),
    erased("member_local_groups", "member_key", |e| e.local_groups.len()),
    erased("member_payloads", "member_key", |e| e.payloads.len()),
    erased("member_refresh", "member_key", |e| usize::from(e.refresh.is_some())),
    erased("member_history", "member_key", |e| e.history.len()),
    MemberKeyColumn {
        table: "change_feed",
        column: "member_key",
        on_erase: OnErase::DeleteExcept {
            kept_where: "kind = 'erased' OR seq = (SELECT MAX(seq) FROM change_feed)",
            why: "the `erased` entry is how the community site learns to drop what it holds about the member; the \
                  feed's newest entry stays, or its sequence number would be handed out again (it is the `erased` \
                  entry whenever a record was erased)",
        },
        in_export: Some(|e| e.change_feed.len()),
    },
    erased("refresh_queue", "member_key", |e| e.queue.len()),
    erased("sessions", "member", |e| e.sessions.len()),
    erased("mobile_tokens", "member", |e| e.mobile_tokens.len()),
    erased("held_changes", "member_key", |e| e.held_changes.len()),
    MemberKeyColumn {
        table: "threshold_ledger",
        column: "member_key",
        on_erase: OnErase::ClearKey {
            why: "the rows are what the thresholds' window counts: deleting them would let an erase loosen the \
                  deletion threshold; without the key they say nothing about the member",
        },
        in_export: Some(|e| e.threshold_ledger.len()),
    },
    MemberKeyColumn {
        table: "tombstones",
        column: "member_key",
        on_erase: OnErase::Keep {
            why: "the tombstone is what the erase leaves: the key, when, who and why, so no refresh brings the \
                  record back until an admin lifts it",
        },
        in_export: Some(|e| usize::from(e.tombstone.is_some())),
    },
    MemberKeyColumn {
        table: "audit_log",
        column: "target",
        on_erase: OnErase::Keep {
            why: "accountability for admin actions about the member, the erase included; an entry holds the key \
                  and the action, never member data",
        },
        in_export: Some(|e| e.audit.len()),
    },
];

/// Every table that holds no member key, with why.
pub const TABLES_WITHOUT_MEMBER_KEYS: &[(&str, &str)] = &[
    ("schema_migrations", "the schema versions applied"),
    ("communities", "communities as the AMS describes them, not who belongs to them (memberships do)"),
    ("security_groups", "group definitions; who is in a group is in member_ams_groups and member_local_groups"),
    ("runs", "counts and parameters of a run (how many keys, never which), its owner and lease, and a listing checkpoint holding the AMS's opaque cursor, pruned with the run by retention"),
    ("watermarks", "the time each listing last reached"),
    ("source_state", "whether the source is paused, and why"),
    ("nodes", "the amsync processes serving this database"),
    ("events", "the association's events"),
    ("settings", "configuration changed through the API (rules, designations)"),
    ("counters", "the fencing and access-version counters"),
    ("community_grants", "which groups may see a community"),
    ("content_items", "the site's content and navigation items"),
    ("content_groups", "which groups may see a content item"),
    ("sso_token_ids", "the ids of used single-use sign-on tokens, until they expire: no key"),
    ("approvals", "one per held run or rule change: the reason and counts; the members are in held_changes"),
];

/// Whether a column's name says it holds a member's key: such a column
/// must be listed in [`MEMBER_KEY_COLUMNS`].
pub fn named_like_a_member_key(column: &str) -> bool {
    column == "member" || column.starts_with("member_") || column == "merged_into"
}
