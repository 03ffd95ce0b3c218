-- IP monitoring and containment. Times are TEXT in the fixed-width UTC
-- layout of 0002. Ranges are stored as family (4 or 6), the first and last
-- address as big-endian blobs (4 or 16 bytes, so they compare as numbers)
-- and the prefix length; a single address is a full-length prefix.

-- ip_records: one row per monitored address or range.
CREATE TABLE ip_records (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    value       TEXT NOT NULL UNIQUE,
    family      INTEGER NOT NULL,
    start_ip    BLOB NOT NULL,
    end_ip      BLOB NOT NULL,
    prefix_len  INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('monitoring', 'investigating', 'blocked', 'trusted')),
    reason      TEXT NOT NULL,
    source      TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    tags        TEXT NOT NULL,  -- JSON array, sorted; ip_tags is what filters use
    notes       TEXT NOT NULL,
    expires_at  TEXT,
    created_by  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    enrichment  BLOB,
    enriched_at TEXT,
    first_seen  TEXT,
    last_seen   TEXT,
    requests    INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0
);
-- The range index serves value order, "within" and "containing"; every
-- other sortable column has an index that ends in the value order, so a
-- page is an index walk whatever the sort.
CREATE INDEX ip_records_range ON ip_records (family, start_ip, prefix_len);
CREATE INDEX ip_records_status ON ip_records (status, family, start_ip, prefix_len);
CREATE INDEX ip_records_severity ON ip_records (severity, family, start_ip, prefix_len);
CREATE INDEX ip_records_source ON ip_records (source, family, start_ip, prefix_len);
CREATE INDEX ip_records_created_at ON ip_records (created_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_updated_at ON ip_records (updated_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_expires_at ON ip_records (expires_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_first_seen ON ip_records (first_seen, family, start_ip, prefix_len);
CREATE INDEX ip_records_last_seen ON ip_records (last_seen, family, start_ip, prefix_len);
CREATE INDEX ip_records_requests ON ip_records (requests, family, start_ip, prefix_len);
CREATE INDEX ip_records_bytes ON ip_records (bytes, family, start_ip, prefix_len);
-- The same per status, the filter the IP list uses most.
CREATE INDEX ip_records_status_severity ON ip_records (status, severity, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_source ON ip_records (status, source, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_created_at ON ip_records (status, created_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_updated_at ON ip_records (status, updated_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_expires_at ON ip_records (status, expires_at, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_first_seen ON ip_records (status, first_seen, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_last_seen ON ip_records (status, last_seen, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_requests ON ip_records (status, requests, family, start_ip, prefix_len);
CREATE INDEX ip_records_status_bytes ON ip_records (status, bytes, family, start_ip, prefix_len);

-- ip_search: a trigram index over value, notes, reason and tags, so that
-- substring search does not scan the records. Contentless: the store
-- writes and deletes its rows (rowid = ip_records.id) with the record.
CREATE VIRTUAL TABLE ip_search USING fts5(body, content='', contentless_delete=1, tokenize='trigram');

-- ip_tags: one row per tag of a record.
CREATE TABLE ip_tags (
    tag       TEXT NOT NULL,
    record_id INTEGER NOT NULL REFERENCES ip_records (id) ON DELETE CASCADE,
    PRIMARY KEY (tag, record_id)
) WITHOUT ROWID;
CREATE INDEX ip_tags_record ON ip_tags (record_id);

-- ip_changes: every change to the records (and recorded actions such as a
-- revoked API key), the unit of history and undo.
CREATE TABLE ip_changes (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    reason    TEXT NOT NULL,
    action    TEXT NOT NULL,
    source    TEXT NOT NULL,
    shadow    INTEGER NOT NULL,
    subject   TEXT NOT NULL,
    undo_of   INTEGER REFERENCES ip_changes (id),
    undone_by INTEGER REFERENCES ip_changes (id)
);
CREATE INDEX ip_changes_action ON ip_changes (action, id);

-- ip_change_items: each record's state before and after a change, as JSON
-- (NULL: no record).
CREATE TABLE ip_change_items (
    change_id INTEGER NOT NULL REFERENCES ip_changes (id) ON DELETE CASCADE,
    value     TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    PRIMARY KEY (change_id, value)
) WITHOUT ROWID;
CREATE INDEX ip_change_items_value ON ip_change_items (value, change_id);

-- decisions: the blocked set as distributed to bouncers; rows are never
-- updated except to delete them, so that a bouncer's delta is two range
-- scans.
CREATE TABLE decisions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    value      TEXT NOT NULL,
    family     INTEGER NOT NULL,
    start_ip   BLOB NOT NULL,
    end_ip     BLOB NOT NULL,
    prefix_len INTEGER NOT NULL,
    scenario   TEXT NOT NULL,
    until      TEXT,
    created_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX decisions_active_value ON decisions (value) WHERE deleted_at IS NULL;
CREATE INDEX decisions_active_range ON decisions (family, start_ip) WHERE deleted_at IS NULL;
CREATE INDEX decisions_created_at ON decisions (created_at);
CREATE INDEX decisions_deleted_at ON decisions (deleted_at);
CREATE INDEX decisions_until ON decisions (until) WHERE deleted_at IS NULL;

-- bouncers: decision API clients, by the SHA-256 of their key.
CREATE TABLE bouncers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_pull  TEXT
);
