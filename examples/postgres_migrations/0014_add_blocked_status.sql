-- Tasks can wait on something outside the team. A new enum value can be
-- added in a transaction (PostgreSQL 12 and later) but not used in the same
-- one, so nothing here uses it yet.
ALTER TYPE task_status ADD VALUE 'blocked' AFTER 'doing';
