-- Entities kept whole as JSON under a kind and an id (bank details, payment batches): what has
-- no query of its own beyond its id and the newest of its kind. Bank details are not for
-- reporting, so `outlay_reporting` gets nothing here.
CREATE TABLE documents (
    kind    text NOT NULL,
    id      text NOT NULL,
    version bigint NOT NULL,
    body    jsonb NOT NULL,
    PRIMARY KEY (kind, id)
);

DO $$
BEGIN
    GRANT SELECT, INSERT, UPDATE ON documents TO outlay_app;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    RAISE NOTICE 'outlay_app was not granted the documents: %', SQLERRM;
END;
$$;
