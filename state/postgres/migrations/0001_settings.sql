-- Settings: small key/value records such as the credential hash key.
--
-- Times in this schema are bigint nanoseconds since the Unix epoch (UTC):
-- the state interface keeps times to the nanosecond, and timestamptz
-- keeps (and rounds to) microseconds. In NOT NULL columns the smallest
-- bigint stands for the zero time; nullable columns store it as NULL.
-- tracehound_time shows a stored time as a timestamptz (to the
-- microsecond) for people who query by hand:
--   SELECT key, tracehound_time(updated_at) FROM settings;
CREATE FUNCTION tracehound_time(ns bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT CASE WHEN ns = -9223372036854775808 THEN '-infinity'::timestamptz
                      ELSE 'epoch'::timestamptz + (ns / 1000) * interval '1 microsecond' END $$;

CREATE TABLE settings (
    key        text COLLATE "C" PRIMARY KEY,
    value      text NOT NULL,
    updated_at bigint NOT NULL
);
