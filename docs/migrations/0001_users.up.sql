CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT
);
INSERT INTO users (name) VALUES ('Ada Lovelace'), ('Grace Hopper');
