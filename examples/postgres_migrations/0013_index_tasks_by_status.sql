-- migrate:no-transaction
-- The board groups tasks by status. On a big table a plain CREATE INDEX
-- blocks writes while it builds; CONCURRENTLY does not, but cannot run in a
-- transaction: this migration runs outside one, marked dirty until done.
CREATE INDEX CONCURRENTLY tasks_by_status ON tasks (status);
