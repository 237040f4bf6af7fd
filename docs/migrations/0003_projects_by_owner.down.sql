DROP INDEX projects_by_owner;
