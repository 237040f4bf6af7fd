-- The project page lists a project's tasks and "my tasks" lists a user's:
-- both scanned the whole table.
CREATE INDEX tasks_by_project ON tasks (project_id);
CREATE INDEX tasks_by_assignee ON tasks (assignee_id) WHERE assignee_id IS NOT NULL;
