-- The by-state index covered every entry, so every claim (queued -> running)
-- and every settle (running -> gone) moved or removed an entry at a place
-- given by the entry's id. Ids follow enqueue order, which is the AMS's
-- listing order, unrelated to the member-key order claims now walk: each
-- refresh dirtied about three pages of this index at random, the largest
-- part of what an unchanged re-run writes.
--
-- Only the states a refresh does not pass through on success keep it:
-- retrying and dead (listing and counting them stays an index scan). The
-- other states have indexes of their own: the claim index now carries the
-- state of the waiting entries it holds, so they are counted per state
-- without reading the table; running ones are in one_running (no more than
-- the claims in flight); queued entries are listed in id order straight
-- from the table.
DROP INDEX refresh_queue_by_state;
CREATE INDEX refresh_queue_failed_by_state ON refresh_queue (state, id) WHERE state IN ('retrying', 'dead');

DROP INDEX refresh_queue_claim;
CREATE INDEX refresh_queue_claim ON refresh_queue (sort_key, member_key, state) WHERE state IN ('queued', 'retrying');
