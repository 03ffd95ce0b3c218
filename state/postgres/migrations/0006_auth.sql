-- Users, API tokens, browser sessions and the audit log. Times are bigint
-- Unix nanoseconds (see 0001); secrets are stored only as hashes.

CREATE TABLE users (
    name                 text COLLATE "C" PRIMARY KEY,
    password_hash        text NOT NULL,
    role                 text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    created_at           bigint NOT NULL,
    updated_at           bigint NOT NULL
);

CREATE TABLE api_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    hash         text NOT NULL UNIQUE,
    role         text NOT NULL,
    user_name    text COLLATE "C" REFERENCES users (name) ON DELETE CASCADE,
    created_at   bigint NOT NULL,
    expires_at   bigint,
    last_used_at bigint
);
CREATE INDEX api_tokens_created ON api_tokens (created_at, id);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

CREATE TABLE sessions (
    hash       text PRIMARY KEY,
    user_name  text COLLATE "C" NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_name);

-- audit_log: before and after are the objects as the caller serialised
-- them, kept byte for byte (NULL: none).
CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     bigint NOT NULL,
    actor  text NOT NULL,
    action text COLLATE "C" NOT NULL,
    target text NOT NULL,
    before bytea,
    after  bytea
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
