-- The approvals queues follow the domain's queue keys (`outlay_domain::access::queue_keys`), so
-- that no query restates who decides a step:
-- * `queue` is the approver's id while a manager or senior step waits, 'finance' while the
--   finance step waits, NULL otherwise;
-- * `barred` is a JSON array of who may not take the report from the finance queue.
DROP INDEX reports_by_assignee;
ALTER TABLE reports RENAME COLUMN assignee_id TO queue;
UPDATE reports SET queue = 'finance' WHERE state = 'pending_finance';
ALTER TABLE reports RENAME COLUMN prior_approvers TO barred;
UPDATE reports SET barred = (
    SELECT json_group_array(v) FROM (
        SELECT reports.owner_id AS v UNION SELECT value FROM json_each(reports.barred)
    )
);
CREATE INDEX reports_by_queue ON reports (queue, submitted_at, id);
