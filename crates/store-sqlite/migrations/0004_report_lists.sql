-- The report lists read through indexes only, so a page costs the same at any size of the table.

-- Everyone who has decided a step of a report, one row each: the `decided` list reads the
-- decider's rows in order instead of looking into every report's JSON body. `deciders` only
-- grows, so a report's rows are only ever added.
CREATE TABLE report_deciders (
    user_id   TEXT NOT NULL,
    report_id TEXT NOT NULL REFERENCES reports (id),
    PRIMARY KEY (user_id, report_id)
) STRICT, WITHOUT ROWID;
INSERT INTO report_deciders (user_id, report_id)
    SELECT d.value, r.id FROM reports AS r, json_each(r.body, '$.deciders') AS d;

-- All reports in one state, newest first (finance's `all` list with a state filter).
CREATE INDEX reports_by_state_and_id ON reports (state, id);

-- The holders of each role (`roles` is comma-separated), kept by triggers: notifications find
-- finance or the admins through this key instead of matching every user's roles text.
CREATE TABLE user_roles (
    role    TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (role, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_roles_by_user ON user_roles (user_id);
INSERT INTO user_roles (role, user_id)
    SELECT r.value, u.id FROM users AS u, json_each('["' || replace(u.roles, ',', '","') || '"]') AS r
    WHERE r.value <> '';
CREATE TRIGGER user_roles_on_insert AFTER INSERT ON users
BEGIN
    INSERT INTO user_roles (role, user_id)
        SELECT value, NEW.id FROM json_each('["' || replace(NEW.roles, ',', '","') || '"]')
        WHERE value <> '';
END;
CREATE TRIGGER user_roles_on_update AFTER UPDATE OF roles ON users
BEGIN
    DELETE FROM user_roles WHERE user_id = OLD.id;
    INSERT INTO user_roles (role, user_id)
        SELECT value, NEW.id FROM json_each('["' || replace(NEW.roles, ',', '","') || '"]')
        WHERE value <> '';
END;

-- The newest exchange rates first (the rates list).
CREATE INDEX exchange_rates_by_day ON exchange_rates (day DESC, currency);
