-- Access configuration (product.md jobs 5-7): the groups granted access to
-- each community, content and navigation items with their groups, and a
-- version counter that says when a cached access policy is stale.
--
-- Group keys are kept as the registered spelling (`group_key`) beside the
-- lower-cased key (`group_folded`, as in security_groups.key_folded): keys
-- compare case-insensitively, so one group is granted once.

-- Security groups a SuperAdmin granted access to a community's discussion,
-- library and microsite (and to its limited events), in the order given.
CREATE TABLE community_grants (
    community_key TEXT NOT NULL,
    group_folded  TEXT NOT NULL,
    group_key     TEXT NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (community_key, group_folded)
) WITHOUT ROWID;
CREATE INDEX community_grants_by_group ON community_grants (group_folded);

-- Content and navigation items of the site.
CREATE TABLE content_items (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The security groups that may see each content item, in the order given.
CREATE TABLE content_groups (
    content_id   TEXT NOT NULL,
    group_folded TEXT NOT NULL,
    group_key    TEXT NOT NULL,
    position     INTEGER NOT NULL,
    PRIMARY KEY (content_id, group_folded)
) WITHOUT ROWID;
CREATE INDEX content_groups_by_group ON content_groups (group_folded);

-- Bumped in the same transaction as every write that changes what an access
-- policy is built from: grants, content items, community rules, IsMember
-- designations, security groups, and a community or event that is new or
-- changed. A cached policy is current while this is the version it was
-- built at; reading it beside the member costs one more point lookup.
INSERT INTO counters (name, value) VALUES ('access', 0);
