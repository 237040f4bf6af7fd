-- Store time spent as whole minutes (INTEGER) instead of 'h:mm' text, so it
-- can be summed. SQLite cannot change a column's type in place: rebuild the
-- table (https://www.sqlite.org/lang_altertable.html#otheralter), converting
-- every row. The view on it is dropped first, since SQLite refuses to rename
-- a table while a view refers to a missing one, and recreated with totals.
DROP VIEW time_per_task;

CREATE TABLE time_entries_new (
    id        INTEGER PRIMARY KEY,
    task_id   INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id),
    minutes   INTEGER NOT NULL CHECK (minutes > 0),
    logged_on TEXT    NOT NULL
);

INSERT INTO time_entries_new (id, task_id, user_id, minutes, logged_on)
SELECT id,
       task_id,
       user_id,
       CAST(substr(spent, 1, instr(spent, ':') - 1) AS INTEGER) * 60
           + CAST(substr(spent, instr(spent, ':') + 1) AS INTEGER),
       logged_on
FROM time_entries;

DROP TABLE time_entries;
ALTER TABLE time_entries_new RENAME TO time_entries;

CREATE INDEX time_entries_by_task ON time_entries (task_id);

CREATE VIEW time_per_task AS
SELECT task_id, count(*) AS entries, sum(minutes) AS minutes
FROM time_entries
GROUP BY task_id;
