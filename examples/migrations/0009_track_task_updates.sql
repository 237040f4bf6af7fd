-- Sort tasks by last change. Existing tasks start from their creation time;
-- a trigger keeps the column current on every edit that matters.
ALTER TABLE tasks ADD COLUMN updated_at TEXT;

UPDATE tasks SET updated_at = created_at WHERE updated_at IS NULL;

CREATE TRIGGER tasks_touch_updated_at
AFTER UPDATE OF title, status, assignee_id ON tasks
FOR EACH ROW
BEGIN
    UPDATE tasks
    SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE id = NEW.id;
END;
