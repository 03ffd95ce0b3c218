-- Scopes: the applications whose data a user or an API token may see.
-- An empty array means every application, which is what every account
-- and token saw before.
ALTER TABLE users ADD COLUMN applications text[] NOT NULL DEFAULT '{}';
ALTER TABLE api_tokens ADD COLUMN applications text[] NOT NULL DEFAULT '{}';
