-- Exclusions (package exclude): their definitions as JSON, with the
-- columns the store filters on, their hit counters, and the notifications
-- shadow exclusions would have suppressed. Times are TEXT in the
-- fixed-width UTC layout of 0002; NULL expires_at means never.

CREATE TABLE exclusions (
    id           TEXT PRIMARY KEY,
    body         BLOB NOT NULL,
    mode         TEXT NOT NULL CHECK (mode IN ('active', 'shadow')),
    expires_at   TEXT,
    shadow_until TEXT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    hit_count    INTEGER NOT NULL DEFAULT 0,
    last_hit     TEXT
);

CREATE INDEX exclusions_expires_at ON exclusions (expires_at);

CREATE TABLE exclusion_shadow_suppressions (
    exclusion_id TEXT NOT NULL REFERENCES exclusions (id) ON DELETE CASCADE,
    rule_id      TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    labels       TEXT NOT NULL,
    starts_at    TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (exclusion_id, rule_id, fingerprint, starts_at)
);

-- Notification silences: label matchers muting alerts for a while. The
-- definition is JSON; start and end are copied out to select the live ones.
CREATE TABLE silences (
    id         TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    starts_at  TEXT NOT NULL,
    ends_at    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE INDEX silences_ends_at ON silences (ends_at);
