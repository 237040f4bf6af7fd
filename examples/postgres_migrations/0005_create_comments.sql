-- Discussion on a task. Comments go with their task; an author who leaves
-- keeps their comments (the account must be reassigned before deletion).
CREATE TABLE comments (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id    bigint      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id),
    body       text        NOT NULL CHECK (length(trim(body)) > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_by_task ON comments (task_id, created_at);
