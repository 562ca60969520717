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
