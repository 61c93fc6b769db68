-- The first schema of amsync's SQLite store.
--
-- Conventions: times are INTEGER unix milliseconds; JSON is TEXT; content
-- hashes are 16-byte BLOBs (xxh3-128, big-endian); enums are their
-- snake_case names. Tables keyed by a member and written per refresh are
-- WITHOUT ROWID when their rows are small, so a member's rows sit together
-- in one b-tree and a refresh touches one or two pages per table.
-- Only what is queried by itself gets its own table (memberships by
-- community, groups by key); lists that change as a whole live on the row.
-- There are no FOREIGN KEY clauses: the single writer keeps the tables
-- consistent, and a parent lookup per child row would tax every refresh.

-- A member as the AMS last gave it, and its effective state. Columns a
-- refresh reads first (status, reason, hashes) come before the wide ones so
-- the unchanged check never reads the JSON at the end of the row.
CREATE TABLE members (
    key                  TEXT PRIMARY KEY NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    disabled_reason      TEXT,
    details_hash         BLOB NOT NULL,
    memberships_hash     BLOB NOT NULL,
    groups_hash          BLOB NOT NULL,
    merged_into          TEXT,
    ams_status           TEXT NOT NULL CHECK (ams_status IN ('active', 'disabled')),
    prefix               TEXT,
    first_name           TEXT,
    middle_name          TEXT,
    last_name            TEXT,
    nickname             TEXT,
    suffix               TEXT,
    credentials          TEXT,
    email                TEXT,
    address_line1        TEXT,
    address_line2        TEXT,
    address_line3        TEXT,
    address_city         TEXT,
    address_state        TEXT,
    address_postal_code  TEXT,
    address_country_code TEXT,
    website              TEXT,
    -- Phones, social links and demographics: lists without keys that the
    -- contract and history treat as whole values, kept as JSON arrays on the
    -- row (one write instead of a dozen child rows per changed member).
    phones               TEXT NOT NULL,
    social               TEXT NOT NULL,
    demographics         TEXT NOT NULL,
    -- Lower-cased key, names and email, separated by U+001F: what search matches.
    search_text          TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- Every membership the AMS listed, before the community rules: re-applying
    -- rules reads this, never the AMS.
    ams_memberships      TEXT NOT NULL
);
-- Covers active_member_keys and member_count without reading wide rows.
CREATE INDEX members_by_status ON members (status, key);

-- Every community seen in an AMS answer (excluded ones too: a rule change
-- may bring them in). Written only when its attributes change.
CREATE TABLE communities (
    key           TEXT PRIMARY KEY NOT NULL,
    name          TEXT,
    type          TEXT,
    group_type    TEXT,
    group_subtype TEXT,
    first_seen    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- The memberships the community rules let through. Identity is
-- (community, begin); begin/end are 'YYYY-MM-DD', which sort as dates.
-- Deliberately no index by community: its entries land all over the b-tree
-- (one hot page per community per transaction), which measured nearly half
-- of the pages a first load writes. Reads by community (search filter,
-- community member lists) walk members in key order and probe this primary
-- key instead; add the index in a migration if those reads become hot.
CREATE TABLE memberships (
    member_key    TEXT NOT NULL,
    community_key TEXT NOT NULL,
    begin         TEXT NOT NULL,
    end           TEXT,
    role          TEXT,
    PRIMARY KEY (member_key, community_key, begin)
) WITHOUT ROWID;

-- Built-in, AMS-managed and local groups. Keys are unique case-insensitively
-- (key_folded is the lower-cased key) so an AMS group can never shadow a
-- built-in or local one.
CREATE TABLE security_groups (
    key_folded TEXT PRIMARY KEY NOT NULL,
    key        TEXT NOT NULL UNIQUE,
    name       TEXT,
    source     TEXT NOT NULL CHECK (source IN ('builtin', 'ams', 'local')),
    is_member  INTEGER NOT NULL DEFAULT 0,
    -- Display order of the built-ins.
    position   INTEGER,
    -- When a refresh first saw an AMS group; NULL for built-ins and for a
    -- designation seeded before any member carried the group.
    first_seen INTEGER
);
INSERT INTO security_groups (key_folded, key, name, source, position) VALUES
    ('public', 'Public', 'Public', 'builtin', 0),
    ('authenticated', 'Authenticated', 'Authenticated', 'builtin', 1),
    ('ismember', 'IsMember', 'IsMember', 'builtin', 2),
    ('superadmin', 'SuperAdmin', 'SuperAdmin', 'builtin', 3);

-- The AMS groups of a member that were accepted (no collision), with the
-- name that member's answer gave.
CREATE TABLE member_ams_groups (
    member_key TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    name       TEXT,
    PRIMARY KEY (member_key, group_key)
) WITHOUT ROWID;
CREATE INDEX member_ams_groups_by_group ON member_ams_groups (group_key);

-- Local groups (SuperAdmin included) an admin put a member in. A refresh
-- never writes here.
CREATE TABLE member_local_groups (
    member_key TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    added_at   INTEGER NOT NULL,
    PRIMARY KEY (member_key, group_key)
) WITHOUT ROWID;
CREATE INDEX member_local_groups_by_group ON member_local_groups (group_key);

-- The last raw answer of each part, written only when that part changed.
-- One row per member with a column group per part: a first load writes one
-- row instead of three, and a NULL in an upsert keeps the stored part.
CREATE TABLE member_payloads (
    member_key           TEXT PRIMARY KEY NOT NULL,
    details_at           INTEGER,
    communities_at       INTEGER,
    groups_at            INTEGER,
    details_encoding     TEXT,
    communities_encoding TEXT,
    groups_encoding      TEXT,
    details              BLOB,
    communities          BLOB,
    groups               BLOB
);

-- Refresh bookkeeping: the only member table an unchanged refresh writes.
CREATE TABLE member_refresh (
    member_key        TEXT PRIMARY KEY NOT NULL,
    last_refreshed_at INTEGER,
    last_trigger      TEXT,
    last_error        TEXT,
    last_error_at     INTEGER
) WITHOUT ROWID;

CREATE TABLE member_history (
    id         INTEGER PRIMARY KEY,
    member_key TEXT NOT NULL,
    at         INTEGER NOT NULL,
    trigger    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    run_id     INTEGER,
    fields     TEXT NOT NULL
);
CREATE INDEX member_history_by_member ON member_history (member_key, id);

-- The site's change feed, in commit order (one writer). Not AUTOINCREMENT
-- (its sqlite_sequence update costs a row per insert): a sequence number
-- is max + 1, so pruning must always keep the newest row for numbers never
-- to be reused.
CREATE TABLE change_feed (
    seq        INTEGER PRIMARY KEY,
    member_key TEXT NOT NULL,
    kind       TEXT NOT NULL,
    at         INTEGER NOT NULL
);

-- The Refresh Queue. queued/retrying are waiting; running has a lease and
-- a fencing token; dead waits for a requeue.
CREATE TABLE refresh_queue (
    id            INTEGER PRIMARY KEY,
    member_key    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'retrying', 'running', 'dead')),
    priority      INTEGER NOT NULL,
    trigger       TEXT NOT NULL,
    run_id        INTEGER,
    due_at        INTEGER NOT NULL,
    -- amsync_core::queue::sort_key(due_at, priority): the claim order.
    sort_key      INTEGER NOT NULL,
    enqueued_at   INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    fence         INTEGER,
    lease_until   INTEGER,
    node          TEXT,
    last_error    TEXT,
    last_error_at INTEGER
);
-- At most one waiting entry per key, and one running.
CREATE UNIQUE INDEX refresh_queue_one_waiting ON refresh_queue (member_key) WHERE state IN ('queued', 'retrying');
CREATE UNIQUE INDEX refresh_queue_one_running ON refresh_queue (member_key) WHERE state = 'running';
CREATE INDEX refresh_queue_dead ON refresh_queue (member_key) WHERE state = 'dead';
CREATE INDEX refresh_queue_claim ON refresh_queue (sort_key) WHERE state IN ('queued', 'retrying');
CREATE INDEX refresh_queue_leases ON refresh_queue (lease_until) WHERE state = 'running';
CREATE INDEX refresh_queue_by_state ON refresh_queue (state, id);
CREATE INDEX refresh_queue_by_run ON refresh_queue (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    outcome          TEXT NOT NULL,
    watermark_before INTEGER,
    watermark_after  INTEGER,
    pages            INTEGER NOT NULL DEFAULT 0,
    listed           INTEGER NOT NULL DEFAULT 0,
    enqueued         INTEGER NOT NULL DEFAULT 0,
    merged           INTEGER NOT NULL DEFAULT 0,
    refreshed        INTEGER NOT NULL DEFAULT 0,
    created          INTEGER NOT NULL DEFAULT 0,
    changed          INTEGER NOT NULL DEFAULT 0,
    unchanged        INTEGER NOT NULL DEFAULT 0,
    disabled         INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    dead             INTEGER NOT NULL DEFAULT 0,
    listing_done     INTEGER NOT NULL DEFAULT 0,
    error            TEXT,
    params           TEXT NOT NULL
);
CREATE INDEX runs_by_kind ON runs (kind, id);

CREATE TABLE watermarks (
    name TEXT PRIMARY KEY NOT NULL,
    at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE source_state (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    paused INTEGER NOT NULL,
    reason TEXT,
    since  INTEGER
);
INSERT INTO source_state (id, paused) VALUES (1, 0);

CREATE TABLE nodes (
    id        TEXT PRIMARY KEY NOT NULL,
    role      TEXT NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;

-- Events; starts_at/ends_at keep the RFC 3339 text with its offset as the
-- AMS gave it, starts_ms/ends_ms serve range queries.
CREATE TABLE events (
    key           TEXT PRIMARY KEY NOT NULL,
    hash          BLOB NOT NULL,
    starts_ms     INTEGER NOT NULL,
    ends_ms       INTEGER NOT NULL,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    status        TEXT NOT NULL,
    title         TEXT,
    timezone      TEXT,
    location      TEXT,
    url           TEXT,
    community_key TEXT,
    updated_at    INTEGER NOT NULL,
    description   TEXT
);
CREATE INDEX events_by_start ON events (starts_ms);

-- Settings the config file seeds once and the API changes afterwards.
CREATE TABLE settings (
    name       TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('fence', 0);
