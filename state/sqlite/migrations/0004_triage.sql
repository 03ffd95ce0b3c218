-- Notifications, incidents, their audit trail, and the notification log.
-- Times are TEXT in the fixed-width UTC layout of 0002, so that they
-- compare as strings.

-- incidents: groups of related notifications. merged_into points at the
-- incident that absorbed this one.
CREATE TABLE incidents (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    title         TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive')),
    reason        TEXT NOT NULL DEFAULT '',
    assignee      TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    merged_into   INTEGER REFERENCES incidents (id),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, id) WHERE merged_into IS NULL;

-- notifications: one row per alert instance firing episode. At most one
-- episode per fingerprint is firing.
CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint   TEXT NOT NULL,
    rule_id       TEXT NOT NULL,
    rule_name     TEXT NOT NULL,
    severity      TEXT NOT NULL,
    severity_rank INTEGER NOT NULL,
    mode          TEXT NOT NULL,
    labels        TEXT NOT NULL,
    annotations   TEXT NOT NULL,
    ip            TEXT NOT NULL,
    api_key       TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    alert_state   TEXT NOT NULL CHECK (alert_state IN ('firing', 'resolved')),
    starts_at     TEXT NOT NULL,
    alert_ends_at TEXT,
    status        TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive')),
    reason        TEXT NOT NULL DEFAULT '',
    assignee      TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    count         INTEGER NOT NULL,
    incident_id   INTEGER REFERENCES incidents (id),
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_firing ON notifications (fingerprint) WHERE alert_state = 'firing';
-- Lists page by id, newest first: each index ends with (mode, id) or id
-- so that a filter on its leading column reads rows in page order. The
-- key indexes also serve incident linking.
CREATE INDEX notifications_mode ON notifications (mode, id);
CREATE INDEX notifications_status ON notifications (status, mode, id);
CREATE INDEX notifications_severity ON notifications (severity, mode, id);
CREATE INDEX notifications_rule ON notifications (rule_id, mode, id);
CREATE INDEX notifications_ip ON notifications (ip, mode, id);
CREATE INDEX notifications_api_key ON notifications (api_key, mode, id);
CREATE INDEX notifications_endpoint ON notifications (endpoint, mode, id);
CREATE INDEX notifications_incident ON notifications (incident_id, id);
CREATE INDEX notifications_first_seen ON notifications (mode, first_seen);

-- triage_events: the audit trail of notifications and incidents.
CREATE TABLE triage_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER REFERENCES notifications (id),
    incident_id     INTEGER REFERENCES incidents (id),
    kind            TEXT NOT NULL,
    actor           TEXT NOT NULL,
    before          TEXT NOT NULL DEFAULT '',
    after           TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    at              TEXT NOT NULL
);
CREATE INDEX triage_events_notification ON triage_events (notification_id, id) WHERE notification_id IS NOT NULL;
CREATE INDEX triage_events_incident ON triage_events (incident_id, id) WHERE incident_id IS NOT NULL;

-- notify_log: what each receiver was last sent for each alert group.
CREATE TABLE notify_log (
    receiver   TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    firing     TEXT NOT NULL,
    resolved   TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (receiver, group_key)
);
CREATE INDEX notify_log_expires ON notify_log (expires_at);
