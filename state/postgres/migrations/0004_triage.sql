-- Notifications, incidents, their audit trail, and the notification log.
-- Times are bigint Unix nanoseconds (see 0001).

-- incidents: groups of related notifications. merged_into points at the
-- incident that absorbed this one.
CREATE TABLE incidents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title         text NOT NULL,
    severity      text NOT NULL,
    severity_rank integer NOT NULL,
    status        text NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive')),
    reason        text NOT NULL DEFAULT '',
    assignee      text NOT NULL DEFAULT '',
    first_seen    bigint NOT NULL,
    last_seen     bigint NOT NULL,
    merged_into   bigint REFERENCES incidents (id),
    created_at    bigint NOT NULL,
    updated_at    bigint NOT NULL
);
CREATE INDEX incidents_status ON incidents (status, id) WHERE merged_into IS NULL;
CREATE INDEX incidents_merged_into ON incidents (merged_into) WHERE merged_into IS NOT NULL;

-- notifications: one row per alert instance firing episode. At most one
-- episode per fingerprint is firing. labels and annotations are JSON
-- objects of strings.
CREATE TABLE notifications (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint   text NOT NULL,
    rule_id       text NOT NULL,
    rule_name     text NOT NULL,
    severity      text NOT NULL,
    severity_rank integer NOT NULL,
    mode          text NOT NULL,
    labels        jsonb NOT NULL,
    annotations   jsonb NOT NULL,
    ip            text NOT NULL,
    api_key       text NOT NULL,
    endpoint      text NOT NULL,
    alert_state   text NOT NULL CHECK (alert_state IN ('firing', 'resolved')),
    starts_at     bigint NOT NULL,
    alert_ends_at bigint,
    status        text NOT NULL CHECK (status IN ('open', 'investigating', 'resolved', 'false_positive')),
    reason        text NOT NULL DEFAULT '',
    assignee      text NOT NULL DEFAULT '',
    first_seen    bigint NOT NULL,
    last_seen     bigint NOT NULL,
    count         integer NOT NULL,
    incident_id   bigint REFERENCES incidents (id),
    updated_at    bigint NOT NULL
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
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id bigint REFERENCES notifications (id),
    incident_id     bigint REFERENCES incidents (id),
    kind            text NOT NULL,
    actor           text NOT NULL,
    before          text NOT NULL DEFAULT '',
    after           text NOT NULL DEFAULT '',
    note            text NOT NULL DEFAULT '',
    at              bigint NOT NULL
);
CREATE INDEX triage_events_notification ON triage_events (notification_id, id) WHERE notification_id IS NOT NULL;
CREATE INDEX triage_events_incident ON triage_events (incident_id, id) WHERE incident_id IS NOT NULL;

-- notify_log: what each receiver was last sent for each alert group; the
-- fingerprints are sorted.
CREATE TABLE notify_log (
    receiver   text NOT NULL,
    group_key  text NOT NULL,
    firing     text[] NOT NULL,
    resolved   text[] NOT NULL,
    sent_at    bigint NOT NULL,
    expires_at bigint NOT NULL,
    PRIMARY KEY (receiver, group_key)
);
CREATE INDEX notify_log_expires ON notify_log (expires_at);
