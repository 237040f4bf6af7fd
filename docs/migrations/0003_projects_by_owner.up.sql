CREATE INDEX projects_by_owner ON projects (owner);
