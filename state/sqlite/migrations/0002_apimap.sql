-- The API map's state. Times are TEXT in one fixed-width UTC layout
-- (2006-01-02T15:04:05.000000000Z), so that they compare as strings.

-- api_specs: the OpenAPI document registered for each service.
CREATE TABLE api_specs (
    service       TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    raw           BLOB NOT NULL,
    registered_at TEXT NOT NULL
);

-- map_snapshots: one row per inventory snapshot.
CREATE TABLE map_snapshots (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    taken_at       TEXT NOT NULL,
    window_seconds INTEGER NOT NULL,
    endpoints      INTEGER NOT NULL,
    new_endpoints  INTEGER NOT NULL
);

-- map_snapshot_endpoints: the endpoints of each snapshot. The columns are
-- what queries filter on; data is the whole endpoint as the API map
-- serialises it.
CREATE TABLE map_snapshot_endpoints (
    snapshot_id INTEGER NOT NULL REFERENCES map_snapshots (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL,
    service     TEXT NOT NULL,
    method      TEXT NOT NULL,
    template    TEXT NOT NULL,
    hits        INTEGER NOT NULL,
    first_seen  TEXT,
    last_seen   TEXT,
    shadow      INTEGER NOT NULL,
    sensitive   INTEGER NOT NULL,
    risk_score  INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (snapshot_id, endpoint_id)
);

-- map_endpoints: every endpoint a snapshot saw traffic on, with the
-- earliest request seen and the snapshot that first saw it, so that "new
-- since T" and "new since the last snapshot" are index lookups.
CREATE TABLE map_endpoints (
    endpoint_id       TEXT PRIMARY KEY,
    service           TEXT NOT NULL,
    method            TEXT NOT NULL,
    template          TEXT NOT NULL,
    first_seen        TEXT NOT NULL,
    last_seen         TEXT NOT NULL,
    first_snapshot_id INTEGER NOT NULL,
    last_snapshot_id  INTEGER NOT NULL,
    shadow_since      TEXT,
    sensitive_since   TEXT
);
CREATE INDEX map_endpoints_first_seen ON map_endpoints (first_seen);
CREATE INDEX map_endpoints_first_snapshot ON map_endpoints (first_snapshot_id);

-- endpoint_reviews: every review decision; the latest per endpoint is its
-- current status.
CREATE TABLE endpoint_reviews (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('unreviewed', 'approved', 'flagged')),
    reviewer    TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX endpoint_reviews_endpoint ON endpoint_reviews (endpoint_id, id);

-- events: what the alerting pipeline consumes (new shadow endpoints, new
-- sensitive endpoints...).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    payload     BLOB NOT NULL,
    consumed_at TEXT
);
CREATE INDEX events_unconsumed ON events (kind, id) WHERE consumed_at IS NULL;
