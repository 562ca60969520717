-- Receipts, exchange rates, in-app notifications, the outbox, and duplicate detection.

ALTER TABLE expenses ADD COLUMN spent_on TEXT;
ALTER TABLE expenses ADD COLUMN amount TEXT;          -- exact decimal string, in `currency`
ALTER TABLE expenses ADD COLUMN currency TEXT;
ALTER TABLE expenses ADD COLUMN merchant_key TEXT;    -- trimmed, lower-case
UPDATE expenses SET
    spent_on = json_extract(body, '$.details.date'),
    amount = json_extract(body, '$.details.amount.amount'),
    currency = json_extract(body, '$.details.amount.currency'),
    merchant_key = lower(trim(json_extract(body, '$.details.merchant')));
CREATE INDEX expenses_duplicates ON expenses (owner_id, spent_on, amount, currency, merchant_key);

CREATE TABLE receipts (
    id         TEXT PRIMARY KEY,
    expense_id TEXT NOT NULL REFERENCES expenses (id),
    owner_id   TEXT NOT NULL REFERENCES users (id),
    state      TEXT NOT NULL,
    body       TEXT NOT NULL
) STRICT;
CREATE INDEX receipts_by_expense ON receipts (expense_id, id);

CREATE TABLE exchange_rates (
    currency TEXT NOT NULL,
    day      TEXT NOT NULL,
    rate     TEXT NOT NULL,
    PRIMARY KEY (currency, day)
) STRICT;

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    read_at    TEXT,
    body       TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_by_user ON notifications (user_id, id);

CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    deliver_after TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    delivered_at  TEXT,
    dead_at       TEXT,
    last_error    TEXT,
    body          TEXT NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (delivered_at, dead_at, deliver_after);
