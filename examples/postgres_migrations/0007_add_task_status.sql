-- Tasks get a workflow status instead of a done flag: an enum type. Backfill
-- it from the flag; `done` is dropped once every release reads `status`
-- (0012).
CREATE TYPE task_status AS ENUM ('todo', 'doing', 'done');

ALTER TABLE tasks ADD COLUMN status task_status NOT NULL DEFAULT 'todo';

UPDATE tasks SET status = 'done' WHERE done;
