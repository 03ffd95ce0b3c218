-- map_pins: the corrections of the API map's templating that users make:
-- a pinned template (kind 'pin', such as /files/{name}) or a literal path
-- whose segments stay literal (kind 'literal', such as /reports/daily).
-- An empty service applies to every service. AUTOINCREMENT keeps the ids
-- of deleted pins from coming back.
CREATE TABLE map_pins (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    service    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('pin', 'literal')),
    path       TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (service, kind, path)
);
