-- Outlay's SQLite schema. Reports and expenses keep their full domain form in `body` (JSON);
-- the other columns are the ones that queries filter and sort on, written from the same value.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    roles         TEXT NOT NULL,            -- comma-separated lower-case role names
    manager_id    TEXT REFERENCES users (id),
    active        INTEGER NOT NULL,
    password_hash TEXT,
    version       INTEGER NOT NULL
) STRICT;

CREATE TABLE reports (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users (id),
    state           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    submitted_at    TEXT,
    assignee_id     TEXT,                   -- the approver of the current manager/senior step
    prior_approvers TEXT NOT NULL,          -- JSON array: who approved a non-finance step
    body            TEXT NOT NULL
) STRICT;
CREATE INDEX reports_by_owner ON reports (owner_id, id);
CREATE INDEX reports_by_assignee ON reports (assignee_id, state, submitted_at, id);
CREATE INDEX reports_by_state ON reports (state, submitted_at, id);

CREATE TABLE expenses (
    id        TEXT PRIMARY KEY,
    owner_id  TEXT NOT NULL REFERENCES users (id),
    report_id TEXT REFERENCES reports (id),
    version   INTEGER NOT NULL,
    body      TEXT NOT NULL
) STRICT;
CREATE INDEX expenses_by_owner ON expenses (owner_id, id);
CREATE INDEX expenses_by_report ON expenses (report_id, id);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    source      TEXT,
    before      TEXT,
    after       TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_entity ON audit_events (entity_kind, entity_id, seq);

-- The audit trail is append-only for the application.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
