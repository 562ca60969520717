-- Who decides a user's approval steps while they are away: {"delegate_id","from","until"};
-- NULL: nobody, they decide their own.
ALTER TABLE users ADD COLUMN delegation jsonb;
