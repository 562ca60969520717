-- The receipts that hold one file, by its SHA-256: how the same file on several expenses is found.
CREATE INDEX receipts_by_file ON receipts ((body->>'sha256'));
