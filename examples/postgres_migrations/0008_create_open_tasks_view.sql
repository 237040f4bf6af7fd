-- The dashboard shows each project's open task count.
CREATE VIEW open_tasks_per_project AS
SELECT p.id AS project_id,
       p.name AS project_name,
       count(t.id) AS open_tasks
FROM projects AS p
LEFT JOIN tasks AS t ON t.project_id = p.id AND t.status <> 'done'
GROUP BY p.id, p.name;
