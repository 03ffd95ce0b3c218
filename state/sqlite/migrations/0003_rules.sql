-- The alert engine's state. Times are TEXT in one fixed-width UTC layout
-- (2006-01-02T15:04:05.000000000Z), so that they compare as strings.

-- rule_defs: rules created or edited through the API, one YAML body each.
CREATE TABLE rule_defs (
    id         TEXT PRIMARY KEY,
    body       BLOB NOT NULL,
    enabled    INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);

-- rule_states: per rule, the evaluation time of its last evaluation, so
-- that windows stay contiguous across restarts.
CREATE TABLE rule_states (
    rule_id   TEXT PRIMARY KEY,
    last_eval TEXT
);

-- rule_instances: the pending, firing and recently resolved alert
-- instances of each rule, so that `for` survives a restart and a still
-- firing alert keeps its start time.
CREATE TABLE rule_instances (
    rule_id       TEXT NOT NULL REFERENCES rule_states (rule_id) ON DELETE CASCADE,
    fingerprint   TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    active_at     TEXT,
    fired_at      TEXT,
    resolved_at   TEXT,
    last_match_at TEXT,
    data          BLOB NOT NULL,
    PRIMARY KEY (rule_id, fingerprint)
);
