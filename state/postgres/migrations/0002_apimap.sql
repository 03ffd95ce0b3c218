-- The API map's state. Times are bigint Unix nanoseconds (see 0001). Text
-- that lists are ordered by is COLLATE "C": byte order, as in SQLite,
-- whatever the database's collation.

-- api_specs: the OpenAPI document registered for each service.
CREATE TABLE api_specs (
    service       text COLLATE "C" PRIMARY KEY,
    name          text NOT NULL,
    raw           bytea NOT NULL,
    registered_at bigint NOT NULL
);

-- map_snapshots: one row per inventory snapshot.
CREATE TABLE map_snapshots (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    taken_at       bigint NOT NULL,
    window_seconds bigint NOT NULL,
    endpoints      integer NOT NULL,
    new_endpoints  integer NOT NULL
);
CREATE INDEX map_snapshots_taken_at ON map_snapshots (taken_at);

-- map_snapshot_endpoints: the endpoints of each snapshot. The columns are
-- what queries filter on; data is the whole endpoint as the API map
-- serialises it, kept byte for byte.
CREATE TABLE map_snapshot_endpoints (
    snapshot_id bigint NOT NULL REFERENCES map_snapshots (id) ON DELETE CASCADE,
    endpoint_id text COLLATE "C" NOT NULL,
    service     text NOT NULL,
    method      text NOT NULL,
    template    text NOT NULL,
    hits        bigint NOT NULL,
    first_seen  bigint,
    last_seen   bigint,
    shadow      boolean NOT NULL,
    sensitive   boolean NOT NULL,
    risk_score  integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (snapshot_id, endpoint_id)
);

-- map_endpoints: every endpoint a snapshot saw traffic on, with the
-- earliest request seen and the snapshot that first saw it, so that "new
-- since T" and "new since the last snapshot" are index lookups.
CREATE TABLE map_endpoints (
    endpoint_id       text COLLATE "C" PRIMARY KEY,
    service           text NOT NULL,
    method            text NOT NULL,
    template          text NOT NULL,
    first_seen        bigint NOT NULL,
    last_seen         bigint NOT NULL,
    first_snapshot_id bigint NOT NULL,
    last_snapshot_id  bigint NOT NULL,
    shadow_since      bigint,
    sensitive_since   bigint
);
CREATE INDEX map_endpoints_first_seen ON map_endpoints (first_seen);
CREATE INDEX map_endpoints_first_snapshot ON map_endpoints (first_snapshot_id);

-- endpoint_reviews: every review decision; the latest per endpoint is its
-- current status.
CREATE TABLE endpoint_reviews (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id text COLLATE "C" NOT NULL,
    status      text NOT NULL CHECK (status IN ('unreviewed', 'approved', 'flagged')),
    reviewer    text NOT NULL,
    note        text NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX endpoint_reviews_endpoint ON endpoint_reviews (endpoint_id, id);

-- events: what the alerting pipeline consumes (new shadow endpoints, new
-- sensitive endpoints...).
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text NOT NULL,
    created_at  bigint NOT NULL,
    payload     bytea NOT NULL,
    consumed_at bigint
);
CREATE INDEX events_unconsumed ON events (kind, id) WHERE consumed_at IS NULL;
