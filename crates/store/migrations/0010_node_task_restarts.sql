-- A node's heartbeat also carries the long-lived tasks that failed and were
-- restarted since it started (JSON, NULL when none), so that `amsync
-- status`, reading the store from another process, shows them as the
-- running node's API and dashboard do.
ALTER TABLE nodes ADD COLUMN task_restarts TEXT;
