-- Accounts of the people using the tracker. Emails are unique and are how
-- people sign in.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL UNIQUE CHECK (email LIKE '%_@_%'),
    created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
