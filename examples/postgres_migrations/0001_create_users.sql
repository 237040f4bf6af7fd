-- Accounts of the people using the tracker. Emails are unique and are how
-- people sign in.
CREATE TABLE users (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text        NOT NULL UNIQUE CHECK (email LIKE '%_@_%'),
    created_at timestamptz NOT NULL DEFAULT now()
);
