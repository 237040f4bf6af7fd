-- Tasks live in a project and may be assigned to a user. The first release
-- only knew "done or not".
CREATE TABLE tasks (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  bigint      NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    assignee_id bigint      REFERENCES users (id) ON DELETE SET NULL,
    title       text        NOT NULL CHECK (length(trim(title)) > 0),
    done        boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);
