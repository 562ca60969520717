-- Outlay's PostgreSQL schema. Reports, expenses, receipts, notifications and outbox messages
-- keep their full domain form in `body` (jsonb, for SQL reporting); the other columns are the
-- ones queries filter and sort on, written from the same value in the same statement.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    name          text NOT NULL,
    roles         text[] NOT NULL,
    manager_id    uuid REFERENCES users (id),
    active        boolean NOT NULL,
    password_hash text,
    version       bigint NOT NULL,
    controllers   jsonb NOT NULL DEFAULT '[]',   -- who has had power over the account
    signed_out_at timestamptz
);
CREATE INDEX users_by_role ON users USING gin (roles);

CREATE TABLE reports (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES users (id),
    state        text NOT NULL,
    version      bigint NOT NULL,
    submitted_at timestamptz,
    -- The domain's queue keys (`outlay_domain::access::queue_keys`): the approver's id while a
    -- manager or senior step waits, 'finance' while the finance step waits; and who may not
    -- take it from the finance queue.
    queue        text,
    barred       uuid[] NOT NULL,
    body         jsonb NOT NULL
);
CREATE INDEX reports_by_owner ON reports (owner_id, id);
CREATE INDEX reports_by_queue ON reports (queue, submitted_at, id) WHERE queue IS NOT NULL;
CREATE INDEX reports_by_state_and_id ON reports (state, id);

-- Everyone who has decided a step of a report: only ever added to.
CREATE TABLE report_deciders (
    user_id   uuid NOT NULL,
    report_id uuid NOT NULL REFERENCES reports (id),
    PRIMARY KEY (user_id, report_id)
);

CREATE TABLE expenses (
    id           uuid PRIMARY KEY,
    owner_id     uuid NOT NULL REFERENCES users (id),
    report_id    uuid REFERENCES reports (id),
    version      bigint NOT NULL,
    spent_on     date NOT NULL,
    amount       text NOT NULL,     -- exact decimal string, in `currency`
    currency     text NOT NULL,
    merchant_key text NOT NULL,     -- trimmed, lower-case
    body         jsonb NOT NULL
);
CREATE INDEX expenses_by_owner ON expenses (owner_id, id);
CREATE INDEX expenses_by_report ON expenses (report_id, id);
CREATE INDEX expenses_duplicates ON expenses (owner_id, spent_on, amount, currency, merchant_key);

CREATE TABLE receipts (
    id         uuid PRIMARY KEY,
    expense_id uuid NOT NULL REFERENCES expenses (id),
    owner_id   uuid NOT NULL REFERENCES users (id),
    state      text NOT NULL,
    body       jsonb NOT NULL
);
CREATE INDEX receipts_by_expense ON receipts (expense_id, id);

CREATE TABLE exchange_rates (
    currency text NOT NULL,
    day      date NOT NULL,
    rate     text NOT NULL,
    PRIMARY KEY (currency, day)
);
CREATE INDEX exchange_rates_by_day ON exchange_rates (day DESC, currency);

CREATE TABLE notifications (
    id      uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id),
    read_at timestamptz,
    body    jsonb NOT NULL
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- The transactional outbox. A dispatcher leases the messages it takes (`leased_until`), so
-- that two dispatchers never hold the same message at once.
CREATE TABLE outbox (
    id            uuid PRIMARY KEY,
    created_at    timestamptz NOT NULL,
    deliver_after timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 0,
    leased_until  timestamptz,
    delivered_at  timestamptz,
    dead_at       timestamptz,
    last_error    text,
    body          jsonb NOT NULL
);
CREATE INDEX outbox_due ON outbox (deliver_after, id) WHERE delivered_at IS NULL AND dead_at IS NULL;

CREATE TABLE idempotency_keys (
    user_id     uuid NOT NULL,
    key         text NOT NULL,
    fingerprint text NOT NULL,
    response    text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- Settings by key: the policy (as the exact JSON text a guard compares) and shared secrets.
-- The policy's row always exists (NULL: the built-in default applies), so that a guard on "no
-- policy stored" has a row to lock.
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text
);
INSERT INTO settings (key, value) VALUES ('policy', NULL);

-- The audit trail. `before` and `after` are kept as the exact text that was hashed.
CREATE TABLE audit_events (
    seq         bigint PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    text,
    action      text NOT NULL,
    entity_kind text NOT NULL,
    entity_id   text NOT NULL,
    source      text,
    before      text,
    after       text,
    prev_hash   text NOT NULL,
    hash        text NOT NULL
);
CREATE INDEX audit_by_entity ON audit_events (entity_kind, entity_id, seq);

-- The head of the chain, one row: every change that appends locks it first, so appends are in
-- one order. The database keeps it, not the application: each event inserted must follow the
-- head (the next seq, the head's hash as its prev_hash), and moves it. So nobody can fork the
-- chain, skip a number, or jam it with an event past the head.
CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash text
);
INSERT INTO audit_head (seq, hash) VALUES (0, NULL);

CREATE FUNCTION audit_events_follow_head() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    head_seq  bigint;
    head_hash text;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE one FOR UPDATE;
    IF NEW.seq <> head_seq + 1
       OR NEW.prev_hash <> coalesce(head_hash, repeat('0', 64)) THEN
        RAISE EXCEPTION 'audit event % does not follow the head %', NEW.seq, head_seq
            USING ERRCODE = 'serialization_failure';
    END IF;
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE one;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_events_follow_head BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_follow_head();

-- The audit trail is append-only, for every role (the table's owner included): triggers
-- refuse to change or remove an event, or to empty the table.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- The application's role: everything it needs, and on the audit trail only reading and
-- appending. Run Outlay as a login role that is a member of `outlay_app` (docs/stores.md);
-- run the migrations as the tables' owner. Where the migrating role may not create roles
-- (a managed service's restricted user), the role and grants are left to the administrator.
DO $$
BEGIN
    BEGIN
        CREATE ROLE outlay_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    GRANT SELECT, INSERT, UPDATE, DELETE ON users, reports, report_deciders, expenses, receipts,
        exchange_rates, notifications, outbox, idempotency_keys, settings TO outlay_app;
    -- Locking the head (SELECT ... FOR UPDATE) needs an UPDATE right on one of its columns;
    -- `one` can only ever be true, and the head itself is the trigger's to move.
    GRANT SELECT, UPDATE (one) ON audit_head TO outlay_app;
    GRANT SELECT, INSERT ON audit_events TO outlay_app;
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM outlay_app;
    -- The application checks that the schema is current; it never migrates.
    GRANT SELECT ON _sqlx_migrations TO outlay_app;
    REVOKE EXECUTE ON FUNCTION audit_events_follow_head() FROM PUBLIC;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'outlay_app was not created or granted: %', SQLERRM;
END;
$$;

-- For SQL reporting and BI: a role that reads the business data, and not the keys, password
-- hashes or idempotency records (`settings`, `users.password_hash`, `idempotency_keys`).
DO $$
BEGIN
    BEGIN
        CREATE ROLE outlay_reporting NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    GRANT SELECT ON reports, report_deciders, expenses, receipts, exchange_rates, notifications,
        outbox, audit_events TO outlay_reporting;
    GRANT SELECT (id, email, name, roles, manager_id, active, version, controllers,
        signed_out_at) ON users TO outlay_reporting;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'outlay_reporting was not created or granted: %', SQLERRM;
END;
$$;

-- A session that waits on a lock, or idles inside a transaction, gives up instead of holding
-- everyone behind the chain's head.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '10s');
    EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L',
        current_database(), '60s');
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'the database''s timeouts were not set: %', SQLERRM;
END;
$$;
