-- A project belongs to the user who created it; deleting the user deletes
-- their projects. Project names are unique per owner.
CREATE TABLE projects (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL CHECK (length(trim(name)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, name)
);
