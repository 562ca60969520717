-- Who has had power over each account (segregation of duties for admins): a JSON array of
-- user ids, grown by the application, never cleared.
ALTER TABLE users ADD COLUMN controllers TEXT NOT NULL DEFAULT '[]';

-- When the user last signed out (RFC 3339): sessions that started before it are over.
ALTER TABLE users ADD COLUMN signed_out_at TEXT;
