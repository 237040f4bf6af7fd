-- Store time spent as whole minutes instead of 'h:mm' text, so it can be
-- summed. PostgreSQL changes the column's type in place, converting every
-- row (`USING`); the view on it is dropped first and recreated with totals.
-- Zero stays allowed: the old column accepted '0:00'.
DROP VIEW time_per_task;

ALTER TABLE time_entries DROP CONSTRAINT time_entries_spent_check;
ALTER TABLE time_entries RENAME COLUMN spent TO minutes;
ALTER TABLE time_entries
    ALTER COLUMN minutes TYPE integer
    USING split_part(minutes, ':', 1)::integer * 60 + split_part(minutes, ':', 2)::integer;
ALTER TABLE time_entries ADD CHECK (minutes >= 0);

CREATE VIEW time_per_task AS
SELECT task_id, count(*) AS entries, sum(minutes) AS minutes
FROM time_entries
GROUP BY task_id;
