-- Store time spent as whole minutes (INTEGER) instead of 'h:mm' text, so it
-- can be summed. SQLite cannot change a column's type in place: rebuild the
-- table (https://www.sqlite.org/lang_altertable.html#otheralter), converting
-- every row. Nothing references time_entries, so it can be dropped with
-- foreign keys on. The view on it is dropped first, since SQLite refuses to
-- rename a table while a view refers to a missing one, and recreated with
-- totals. Zero stays allowed: the old column accepted '0:00'.
DROP VIEW time_per_task;

CREATE TABLE time_entries_new (
    id        INTEGER PRIMARY KEY,
    task_id   INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    minutes   INTEGER NOT NULL CHECK (minutes >= 0),
    logged_on TEXT    NOT NULL
);

-- 'h:mm' / 'hh:mm': the hours are everything before the last three
-- characters, the minutes the last two.
INSERT INTO time_entries_new (id, task_id, user_id, minutes, logged_on)
SELECT id,
       task_id,
       user_id,
       CAST(substr(spent, 1, length(spent) - 3) AS INTEGER) * 60
           + CAST(substr(spent, -2) AS INTEGER),
       logged_on
FROM time_entries;

DROP TABLE time_entries;
ALTER TABLE time_entries_new RENAME TO time_entries;

CREATE INDEX time_entries_by_task ON time_entries (task_id);

CREATE VIEW time_per_task AS
SELECT task_id, count(*) AS entries, sum(minutes) AS minutes
FROM time_entries
GROUP BY task_id;
