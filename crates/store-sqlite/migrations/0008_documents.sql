-- Entities kept whole as JSON under a kind and an id (bank details, payment batches): what has
-- no query of its own beyond its id and the newest of its kind.
CREATE TABLE documents (
    kind    TEXT NOT NULL,
    id      TEXT NOT NULL,
    version INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;
