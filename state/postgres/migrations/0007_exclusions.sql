-- Exclusions (package exclude): their definitions as JSON kept byte for
-- byte, with the columns the store filters on, their hit counters, and
-- the notifications shadow exclusions would have suppressed. Times are
-- bigint Unix nanoseconds (see 0001); NULL expires_at means never.

CREATE TABLE exclusions (
    id           text COLLATE "C" PRIMARY KEY,
    body         bytea NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('active', 'shadow')),
    expires_at   bigint,
    shadow_until bigint,
    created_at   bigint NOT NULL,
    created_by   text NOT NULL,
    updated_at   bigint NOT NULL,
    updated_by   text NOT NULL,
    hit_count    bigint NOT NULL DEFAULT 0,
    last_hit     bigint
);
CREATE INDEX exclusions_expires_at ON exclusions (expires_at);

-- labels is the alert's label set as a JSON object.
CREATE TABLE exclusion_shadow_suppressions (
    exclusion_id text COLLATE "C" NOT NULL REFERENCES exclusions (id) ON DELETE CASCADE,
    rule_id      text COLLATE "C" NOT NULL,
    fingerprint  text COLLATE "C" NOT NULL,
    labels       jsonb NOT NULL,
    starts_at    bigint NOT NULL,
    at           bigint NOT NULL,
    PRIMARY KEY (exclusion_id, rule_id, fingerprint, starts_at)
);
CREATE INDEX exclusion_shadow_suppressions_at ON exclusion_shadow_suppressions (exclusion_id, at DESC, starts_at DESC);
