-- Time logged on tasks, as the mobile app sends it: hours and minutes as
-- text, 'h:mm' or 'hh:mm' (e.g. '1:30'), at most 99:59 per entry.
CREATE TABLE time_entries (
    id        INTEGER PRIMARY KEY,
    task_id   INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    spent     TEXT    NOT NULL
              CHECK (spent GLOB '[0-9]:[0-5][0-9]' OR spent GLOB '[0-9][0-9]:[0-5][0-9]'),
    logged_on TEXT    NOT NULL
);
CREATE INDEX time_entries_by_task ON time_entries (task_id);

CREATE VIEW time_per_task AS
SELECT task_id, count(*) AS entries
FROM time_entries
GROUP BY task_id;
