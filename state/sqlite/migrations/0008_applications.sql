-- Applications: each instrumented application (name, environment, owning
-- team) sends its spans with its own ingest key, and its spans are tagged
-- with its name.
CREATE TABLE applications (
    name        TEXT PRIMARY KEY,
    environment TEXT NOT NULL,
    team        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

ALTER TABLE api_tokens ADD COLUMN application TEXT NOT NULL DEFAULT '';
