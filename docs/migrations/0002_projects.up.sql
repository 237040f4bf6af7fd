CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    owner INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL
);
