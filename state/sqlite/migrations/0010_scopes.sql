-- Scopes: the applications whose data a user or an API token may see, as
-- a JSON array of application names. '[]' means every application, which
-- is what every account and token saw before.
ALTER TABLE users ADD COLUMN applications TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_tokens ADD COLUMN applications TEXT NOT NULL DEFAULT '[]';
