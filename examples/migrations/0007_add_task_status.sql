-- Tasks get a workflow status instead of a done flag. Backfill it from the
-- flag; `done` is dropped once every release reads `status` (0012).
ALTER TABLE tasks ADD COLUMN status TEXT NOT NULL DEFAULT 'todo'
    CHECK (status IN ('todo', 'doing', 'done'));

UPDATE tasks SET status = 'done' WHERE done = 1;
