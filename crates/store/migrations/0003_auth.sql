-- Sign-on state (product.md job 8): browser sessions, mobile bearer tokens,
-- and the ids of single-use SSO tokens. Bearer secrets are stored only as
-- their SHA-256 (hex). Times are INTEGER unix milliseconds, as everywhere.

CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY NOT NULL,
    member       TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    method       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) WITHOUT ROWID;
-- "Sign out everywhere" and the disable path delete by member.
CREATE INDEX sessions_member ON sessions (member);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE mobile_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    member     TEXT NOT NULL,
    grant_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mobile_tokens_member ON mobile_tokens (member);
CREATE INDEX mobile_tokens_expires ON mobile_tokens (expires_at);

-- A `jti` is kept until its token expires; the primary key is what makes
-- a replay fail on every node.
CREATE TABLE sso_token_ids (
    id         TEXT PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sso_token_ids_expires ON sso_token_ids (expires_at);
