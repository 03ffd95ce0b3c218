-- Applications: each instrumented application (name, environment, owning
-- team) sends its spans with its own ingest key, and its spans are tagged
-- with its name. Times are Unix nanoseconds, as everywhere here.
CREATE TABLE applications (
    name        text COLLATE "C" PRIMARY KEY,
    environment text NOT NULL,
    team        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    created_by  text NOT NULL
);

ALTER TABLE api_tokens ADD COLUMN application text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX api_tokens_application ON api_tokens (application) WHERE application <> '';
