-- map_pins: the corrections of the API map's templating that users make:
-- a pinned template (kind 'pin', such as /files/{name}) or a literal path
-- whose segments stay literal (kind 'literal', such as /reports/daily).
-- An empty service applies to every service. Times are bigint Unix
-- nanoseconds (see 0001); COLLATE "C" compares paths byte for byte, as
-- SQLite does.
CREATE TABLE map_pins (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service    text COLLATE "C" NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('pin', 'literal')),
    path       text COLLATE "C" NOT NULL,
    note       text NOT NULL,
    created_by text NOT NULL,
    created_at bigint NOT NULL,
    UNIQUE (service, kind, path)
);
