-- Who decides a user's approval steps while they are away: {"delegate_id","from","until"} as
-- JSON; NULL: nobody, they decide their own.
ALTER TABLE users ADD COLUMN delegation TEXT;
-- The code of the cost centre a user's expenses are charged to unless split; NULL: none.
ALTER TABLE users ADD COLUMN home_cost_centre TEXT;
