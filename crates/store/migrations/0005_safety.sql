-- The safety nets (product.md job 10): what the deletion and removal
-- thresholds count over their sliding window, the changes they held for an
-- admin's approval, and how many changes each run had held.

-- Every disable applied (by a source, an approval or an admin), every
-- enable (for the baseline of members active at the window's start), and
-- membership removals applied (`n` per row: one member's refresh, or one
-- batch of a rule change). Rows older than twice the window are pruned as
-- new ones come.
CREATE TABLE threshold_ledger (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('disable', 'enable', 'membership_removal')),
    at         INTEGER NOT NULL,
    member_key TEXT,
    n          INTEGER NOT NULL
);
CREATE INDEX threshold_ledger_by_kind ON threshold_ledger (kind, at);

-- An approval groups the changes of one kind that one run held (or one
-- rule change an admin asked for); an admin applies or rejects it whole.
-- `rules`, `rules_before` and `summary` (the dry run) belong to a rule change.
CREATE TABLE approvals (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('disable', 'membership_removal', 'rule_change')),
    status       TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'dropped')),
    reason       TEXT NOT NULL,
    run_id       INTEGER,
    trigger      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT,
    note         TEXT,
    rules        TEXT,
    rules_before TEXT,
    summary      TEXT
);
CREATE INDEX approvals_by_status ON approvals (status, id);
CREATE INDEX approvals_pending_by_run ON approvals (run_id, kind) WHERE status = 'pending';

-- One member's held change. `signal` is what the source said (JSON): a
-- 404/410, `status: disabled`, or the memberships it no longer lists. A
-- held change is *open* while pending or rejected: a refresh with the same
-- answer leaves it alone, one with another answer drops it.
CREATE TABLE held_changes (
    id          INTEGER PRIMARY KEY,
    approval_id INTEGER NOT NULL,
    member_key  TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('disable', 'membership_removal')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'rejected', 'dropped')),
    signal      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    decided_at  INTEGER,
    note        TEXT
);
CREATE INDEX held_changes_by_approval ON held_changes (approval_id, id);
-- At most one open hold per member and kind; the refresh path looks here.
CREATE UNIQUE INDEX held_changes_open ON held_changes (member_key, kind) WHERE status IN ('pending', 'rejected');

ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
