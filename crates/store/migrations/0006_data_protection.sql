-- Data protection (issue 6): erased members' tombstones, and what pruning
-- by age needs.
--
-- An admin's erase removes every row about a member and leaves a tombstone
-- on its key: a refresh of a tombstoned key writes nothing, so the record
-- does not come back until an admin lifts the tombstone. The tombstone
-- keeps only the key, when, who and the admin's short reason.
CREATE TABLE tombstones (
    member_key TEXT PRIMARY KEY NOT NULL,
    erased_at  INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    reason     TEXT
) WITHOUT ROWID;

-- Retention prunes finished runs by age; runs are few, but a scan per
-- pruning pass should not read every one of them.
CREATE INDEX runs_by_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;

-- Retention prunes disabled members by how long their row has not
-- changed; only disabled rows are in this index.
CREATE INDEX members_disabled_since ON members (updated_at) WHERE status = 'disabled';
