-- The time zone each user reads times in (an IANA name); NULL: the company's, from the policy.
ALTER TABLE users ADD COLUMN time_zone text;
