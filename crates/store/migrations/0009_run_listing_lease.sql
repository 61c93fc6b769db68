-- A run's listing is owned by one process under a lease it renews, and its
-- progress is saved as it goes (the cursor of the next page, with the
-- counts of what was enqueued), so that when the owner dies (kill -9, a lost
-- node) another process, or the next start, resumes the listing instead of
-- leaving the run `running` for good.
ALTER TABLE runs ADD COLUMN owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until INTEGER;
ALTER TABLE runs ADD COLUMN checkpoint TEXT;
ALTER TABLE runs ADD COLUMN resumed_at INTEGER;
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN resume_note TEXT;

-- Runs an older version left unfinished belong to no process that still
-- runs (a migration needs every node stopped): their lease is over.
UPDATE runs SET lease_until = started_at WHERE outcome = 'running' AND listing_done = 0;

-- The runs whose listing is under way, for the look for dead owners that
-- every node makes.
CREATE INDEX runs_listing_lease ON runs (lease_until) WHERE outcome = 'running' AND listing_done = 0;
