-- The audit log of admin actions: appended by the web layer after every
-- state-changing admin call or dashboard action, read newest first.
-- Never holds a secret: no tokens, passwords or request bodies.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    detail     TEXT,
    status     INTEGER NOT NULL,
    request_id TEXT
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
