-- Time logged on tasks, as the mobile app sends it: hours and minutes as
-- text, 'h:mm' or 'hh:mm' (e.g. '1:30'), at most 99:59 per entry.
CREATE TABLE time_entries (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id   bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id   bigint NOT NULL REFERENCES users (id),
    spent     text   NOT NULL CHECK (spent ~ '^[0-9]{1,2}:[0-5][0-9]$'),
    logged_on date   NOT NULL
);
CREATE INDEX time_entries_by_task ON time_entries (task_id);

CREATE VIEW time_per_task AS
SELECT task_id, count(*) AS entries
FROM time_entries
GROUP BY task_id;
