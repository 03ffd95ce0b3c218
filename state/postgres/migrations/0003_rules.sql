-- The alert engine's state. Times are bigint Unix nanoseconds (see 0001).

-- rule_defs: rules created or edited through the API, one YAML body each.
CREATE TABLE rule_defs (
    id         text COLLATE "C" PRIMARY KEY,
    body       bytea NOT NULL,
    enabled    boolean NOT NULL,
    updated_at bigint NOT NULL,
    updated_by text NOT NULL
);

-- rule_states: per rule, the evaluation time of its last evaluation, so
-- that windows stay contiguous across restarts.
CREATE TABLE rule_states (
    rule_id   text COLLATE "C" PRIMARY KEY,
    last_eval bigint
);

-- rule_instances: the pending, firing and recently resolved alert
-- instances of each rule, so that `for` survives a restart and a still
-- firing alert keeps its start time.
CREATE TABLE rule_instances (
    rule_id       text COLLATE "C" NOT NULL REFERENCES rule_states (rule_id) ON DELETE CASCADE,
    fingerprint   text COLLATE "C" NOT NULL,
    state         text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    active_at     bigint,
    fired_at      bigint,
    resolved_at   bigint,
    last_match_at bigint,
    data          bytea NOT NULL,
    PRIMARY KEY (rule_id, fingerprint)
);
