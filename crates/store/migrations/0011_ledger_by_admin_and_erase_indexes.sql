-- Issue 13, items 4 and 10.
--
-- A change an admin approved or made (a released hold, a rule change, an
-- admin's disable or enable) is recorded in the threshold ledger for the
-- audit and for the window's baselines (members active and memberships
-- held at its start are counted backwards from now, so every applied
-- change must be there), but it no longer counts against the limits that
-- later changes from the source are judged by: an approved rule change
-- that removed many memberships must not hold the AMS's ordinary removals
-- for the rest of the window.
ALTER TABLE threshold_ledger ADD COLUMN by_admin INTEGER NOT NULL DEFAULT 0 CHECK (by_admin IN (0, 1));
-- The only rows written without a member so far are a rule change's
-- removals: an admin's.
UPDATE threshold_ledger SET by_admin = 1 WHERE member_key IS NULL;

-- An erase clears the member's key from the ledger (the counts stay, so an
-- erase cannot loosen the window) and deletes its held changes, whatever
-- their status; both look the member up here instead of scanning. Holds
-- and ledger rows are written only when a change is held or applied, never
-- by an unchanged refresh.
CREATE INDEX threshold_ledger_by_member ON threshold_ledger (member_key) WHERE member_key IS NOT NULL;
CREATE INDEX held_changes_by_member ON held_changes (member_key);
