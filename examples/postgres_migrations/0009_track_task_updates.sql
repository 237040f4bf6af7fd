-- Sort tasks by last change. Existing tasks start from their creation time;
-- a trigger keeps the column current on every edit that matters. The
-- function's body is dollar-quoted: its `;`s are not the migration's.
ALTER TABLE tasks ADD COLUMN updated_at timestamptz;

UPDATE tasks SET updated_at = created_at WHERE updated_at IS NULL;

CREATE FUNCTION tasks_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER tasks_touch_updated_at
BEFORE UPDATE OF title, status, assignee_id ON tasks
FOR EACH ROW EXECUTE FUNCTION tasks_touch_updated_at();
