-- IP monitoring and containment. Times are bigint Unix nanoseconds (see
-- 0001). Every address or range is kept as text (its canonical value) and
-- as a cidr (a single address is a full-length prefix): cidr orders as
-- the value order (family, then first address, then prefix length), and
-- its GiST index answers "within" and "containing".

-- ip_records: one row per monitored address or range.
CREATE TABLE ip_records (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    value       text NOT NULL UNIQUE,
    net         cidr NOT NULL,
    status      text COLLATE "C" NOT NULL CHECK (status IN ('monitoring', 'investigating', 'blocked', 'trusted')),
    reason      text NOT NULL,
    source      text COLLATE "C" NOT NULL,
    severity    integer NOT NULL,
    tags        text[] NOT NULL,  -- sorted and unique
    notes       text NOT NULL,
    -- search is what text search matches: value, notes, reason and tags.
    search      text NOT NULL,
    expires_at  bigint,
    created_by  text NOT NULL,
    updated_by  text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    enrichment  bytea,
    enriched_at bigint,
    first_seen  bigint,
    last_seen   bigint,
    requests    bigint NOT NULL DEFAULT 0,
    bytes       bigint NOT NULL DEFAULT 0
);
CREATE INDEX ip_records_contains ON ip_records USING gist (net inet_ops);
CREATE INDEX ip_records_tags ON ip_records USING gin (tags);
-- Every sortable column has an index that ends in the value order, so a
-- page is an index walk whatever the sort; a status filter is checked on
-- the way (SQLite's status-and-sort indexes went unused by PostgreSQL's
-- planner and slowed every statistics update). Nullable columns sort NULL
-- first, as SQLite does.
CREATE INDEX ip_records_net ON ip_records (net);
CREATE INDEX ip_records_status ON ip_records (status, net);
CREATE INDEX ip_records_severity ON ip_records (severity, net);
CREATE INDEX ip_records_source ON ip_records (source, net);
CREATE INDEX ip_records_created_at ON ip_records (created_at, net);
CREATE INDEX ip_records_updated_at ON ip_records (updated_at, net);
CREATE INDEX ip_records_expires_at ON ip_records (expires_at NULLS FIRST, net);
CREATE INDEX ip_records_first_seen ON ip_records (first_seen NULLS FIRST, net);
CREATE INDEX ip_records_last_seen ON ip_records (last_seen NULLS FIRST, net);
CREATE INDEX ip_records_requests ON ip_records (requests, net);
CREATE INDEX ip_records_bytes ON ip_records (bytes, net);

-- Substring search uses a trigram index when the pg_trgm extension can be
-- had (it ships with PostgreSQL; a database owner may create it). Without
-- it search still works, by scanning.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX ip_records_search ON ip_records USING gin (search gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'ip_records_search: no trigram index (%), text search scans', SQLERRM;
END $$;

-- ip_changes: every change to the records (and recorded actions such as a
-- revoked API key), the unit of history and undo.
CREATE TABLE ip_changes (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        bigint NOT NULL,
    actor     text NOT NULL,
    reason    text NOT NULL,
    action    text NOT NULL,
    source    text NOT NULL,
    shadow    boolean NOT NULL,
    subject   text NOT NULL,
    undo_of   bigint REFERENCES ip_changes (id),
    undone_by bigint REFERENCES ip_changes (id)
);
CREATE INDEX ip_changes_action ON ip_changes (action, id);

-- ip_change_items: each record's state before and after a change, as a
-- JSON object (NULL: no record).
CREATE TABLE ip_change_items (
    change_id bigint NOT NULL REFERENCES ip_changes (id) ON DELETE CASCADE,
    value     text COLLATE "C" NOT NULL,
    before    jsonb,
    after     jsonb,
    PRIMARY KEY (change_id, value)
);
CREATE INDEX ip_change_items_value ON ip_change_items (value, change_id);

-- decisions: the blocked set as distributed to bouncers; rows are never
-- updated except to delete them, so that a bouncer's delta is two range
-- scans.
CREATE TABLE decisions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    value      text NOT NULL,
    net        cidr NOT NULL,
    scenario   text NOT NULL,
    until      bigint,
    created_at bigint NOT NULL,
    deleted_at bigint
);
CREATE UNIQUE INDEX decisions_active_value ON decisions (value) WHERE deleted_at IS NULL;
CREATE INDEX decisions_active_net ON decisions USING gist (net inet_ops) WHERE deleted_at IS NULL;
CREATE INDEX decisions_created_at ON decisions (created_at);
CREATE INDEX decisions_deleted_at ON decisions (deleted_at);
CREATE INDEX decisions_until ON decisions (until) WHERE deleted_at IS NULL;

-- bouncers: decision API clients, by the SHA-256 of their key.
CREATE TABLE bouncers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text COLLATE "C" NOT NULL UNIQUE,
    key_hash   text NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    last_pull  bigint
);
