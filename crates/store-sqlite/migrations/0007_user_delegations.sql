-- Who decides a user's approval steps while they are away: {"delegate_id","from","until"} as
-- JSON; NULL: nobody, they decide their own.
ALTER TABLE users ADD COLUMN delegation TEXT;
