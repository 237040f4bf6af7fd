//! Schema drift on PostgreSQL: `check_schema` compares the catalog of a live
//! database with the schema the set produces, worked out by applying the set
//! in a scratch schema inside a transaction that is rolled back. Against the
//! real server; every test skips with a one-line notice when none answers
//! (see `tests/common/postgres.rs`).

#[allow(dead_code)] // `Folder::rename` is not used here
#[path = "../../tests/common/folder.rs"]
mod folder;
#[path = "../../tests/common/postgres.rs"]
mod postgres;

use folder::Folder;
use migrate::postgres::Postgres;
use migrate::postgres::postgres::Client;
use migrate::{Error, ObjectKind, SchemaDifference};
use postgres::{TestDatabase, queries};

/// The task tracker's schema: an enum, identity and serial columns, a check,
/// a foreign key, an index, a view, a sequence, a trigger function and its
/// trigger.
fn tracker() -> Folder {
    Folder::new(&[
        (
            "0001_tasks.up.sql",
            "CREATE TYPE status AS ENUM ('todo', 'done');
CREATE TABLE tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL CHECK (title <> ''),
    status status NOT NULL DEFAULT 'todo',
    updated_at timestamptz NOT NULL DEFAULT now()
);",
        ),
        (
            "0001_tasks.down.sql",
            "DROP TABLE tasks;\nDROP TYPE status;",
        ),
        (
            "0002_comments.sql",
            "CREATE TABLE comments (
    id serial PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    body text NOT NULL
);
CREATE INDEX comments_by_task ON comments (task_id);
CREATE VIEW open_tasks AS SELECT id, title FROM tasks WHERE status = 'todo';
CREATE SEQUENCE ticket_numbers START 1000;",
        ),
        (
            "0003_touch.sql",
            "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER tasks_touch BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION touch();",
        ),
    ])
}

/// A database with the tracker applied, and its connection.
fn applied(folder: &Folder) -> (TestDatabase, Client) {
    let db = TestDatabase::new();
    let mut client = db.connect();
    folder.migrations().run(&mut client).expect("apply the set");
    (db, client)
}

fn drift(folder: &Folder, client: &mut Client) -> Vec<String> {
    folder
        .migrations()
        .check_schema(client)
        .expect("check the schema")
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn an_applied_set_has_no_drift_and_its_schema_has_every_kind() {
    if !postgres::available() {
        return;
    }
    let folder = tracker();
    let (_db, mut client) = applied(&folder);
    assert_eq!(drift(&folder, &mut client), Vec::<String>::new());

    let schema = folder
        .migrations()
        .runner()
        .schema(&mut client)
        .expect("read the schema");
    let names: Vec<String> = schema
        .objects()
        .iter()
        .map(|object| format!("{} {}", object.kind(), object.name()))
        .collect();
    assert_eq!(
        names,
        [
            "type status",
            "sequence comments_id_seq",
            "sequence ticket_numbers",
            "table comments",
            "table tasks",
            "constraint comments.comments_pkey",
            "constraint tasks.tasks_pkey",
            "constraint tasks.tasks_title_check",
            "constraint comments.comments_task_id_fkey",
            "index comments_by_task",
            "function touch()",
            "view open_tasks",
            "trigger tasks.tasks_touch",
        ],
        "the tracking tables, their index and the identity column's sequence are left out"
    );
    let tasks = schema
        .objects()
        .iter()
        .find(|object| object.name() == "tasks")
        .expect("the table");
    assert_eq!(
        tasks.sql(),
        "CREATE TABLE tasks (
    id bigint NOT NULL GENERATED ALWAYS AS IDENTITY,
    title text NOT NULL,
    status status NOT NULL DEFAULT 'todo'::status,
    updated_at timestamp with time zone NOT NULL DEFAULT now()
)"
    );
    let index = schema
        .objects()
        .iter()
        .find(|object| object.kind() == ObjectKind::Index)
        .expect("the index");
    assert_eq!(
        index.sql(),
        "CREATE INDEX comments_by_task ON comments USING btree (task_id)"
    );
    // The scratch schema it was worked out in is gone with its transaction.
    assert_eq!(
        queries::count(
            &mut client,
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'migrate\\_expected\\_%'"
        ),
        0
    );
}

#[test]
fn every_kind_of_hand_change_is_reported() {
    if !postgres::available() {
        return;
    }
    let folder = tracker();
    let cases: &[(&str, &[&str])] = &[
        (
            "CREATE INDEX tasks_by_title ON tasks (title)",
            &["index `tasks_by_title` is not created by any migration"],
        ),
        (
            "ALTER TABLE tasks ADD COLUMN nick text",
            &["column `tasks.nick` is not created by any migration"],
        ),
        (
            "CREATE TABLE notes (body text)",
            &["table `notes` is not created by any migration"],
        ),
        (
            "ALTER TABLE tasks ALTER COLUMN status SET DEFAULT 'done'",
            &[
                "column `tasks.status` is `status NOT NULL DEFAULT 'done'::status`, expected `status NOT NULL DEFAULT 'todo'::status`",
            ],
        ),
        (
            "ALTER TABLE tasks DROP CONSTRAINT tasks_title_check",
            &["constraint `tasks.tasks_title_check` is missing"],
        ),
        (
            "ALTER TYPE status ADD VALUE 'doing' BEFORE 'done'",
            &[
                "type `status` is defined differently: `…ENUM ('todo', 'doing', 'done')`, expected `…ENUM ('todo', 'done')`",
            ],
        ),
        (
            "CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            &[
                "function `touch()` is defined differently: `…$function$ BEGIN RETURN NEW; END $function$`, expected `…$function$ BEGIN NEW.updated_at := now(); RETURN NEW; END $f…`",
            ],
        ),
        (
            "DROP TRIGGER tasks_touch ON tasks",
            &["trigger `tasks.tasks_touch` is missing"],
        ),
        (
            "ALTER SEQUENCE ticket_numbers INCREMENT BY 10",
            &[
                "sequence `ticket_numbers` is defined differently: `…INCREMENT BY 10 MINVALUE 1 MAXVALUE 9223372036854775807 STAR…`, expected `…INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START…`",
            ],
        ),
        (
            "CREATE OR REPLACE VIEW open_tasks AS SELECT id, title FROM tasks WHERE status <> 'done'",
            &[
                "view `open_tasks` is defined differently: `…(tasks.status <> 'done'::status)`, expected `…(tasks.status = 'todo'::status)`",
            ],
        ),
    ];
    let mut wrong = Vec::new();
    for (change, expected) in cases {
        let (_db, mut client) = applied(&folder);
        client
            .batch_execute(change)
            .unwrap_or_else(|e| panic!("{change}: {e}"));
        let found = drift(&folder, &mut client);
        if found != *expected {
            wrong.push(format!("after `{change}`: {found:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn sequence_values_and_rows_are_not_drift() {
    if !postgres::available() {
        return;
    }
    let folder = tracker();
    let (_db, mut client) = applied(&folder);
    client
        .batch_execute(
            "INSERT INTO tasks (title) VALUES ('a'), ('b');
             INSERT INTO comments (task_id, body) SELECT id, 'x' FROM tasks;
             SELECT nextval('ticket_numbers');",
        )
        .expect("use the database");
    assert_eq!(drift(&folder, &mut client), Vec::<String>::new());
}

#[test]
fn tracking_tables_in_their_own_schema_are_not_drift_and_other_schemas_are() {
    if !postgres::available() {
        return;
    }
    let folder = tracker();
    let db = TestDatabase::new();
    let mut client = db.connect();
    let migrations = folder.migrations();
    migrations
        .run(&mut Postgres::new(&mut client).schema("migrations"))
        .expect("apply the set");
    let check = |client: &mut Client| -> Vec<String> {
        migrations
            .check_schema(&mut Postgres::new(client).schema("migrations"))
            .expect("check the schema")
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(check(&mut client), Vec::<String>::new());
    client
        .batch_execute("CREATE TABLE migrations.notes (body text)")
        .expect("add a table beside the tracking tables");
    assert_eq!(
        check(&mut client),
        ["table `migrations.notes` is not created by any migration"]
    );
}

#[test]
fn the_async_client_reads_the_same_schema() {
    if !postgres::available() {
        return;
    }
    let folder = tracker();
    let (db, mut client) = applied(&folder);
    let blocking = folder
        .migrations()
        .runner()
        .schema(&mut client)
        .expect("read the schema");
    let url = db.url();
    let migrations = folder.migrations();
    let (asynchronous, drift) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let (mut client, connection) = migrate::postgres::tokio_postgres::connect(
                &url,
                migrate::postgres::tokio_postgres::NoTls,
            )
            .await
            .expect("connect");
            let task = tokio::spawn(connection);
            let schema = migrations.runner().schema_async(&mut client).await;
            let drift = migrations.runner().check_schema_async(&mut client).await;
            drop(client);
            let _ = task.await;
            (schema, drift)
        });
    assert_eq!(asynchronous.expect("read the schema"), blocking);
    assert_eq!(
        drift.expect("check the schema"),
        Vec::<SchemaDifference>::new()
    );
}

#[test]
fn what_cannot_run_in_a_scratch_schema_is_refused_and_changes_nothing() {
    if !postgres::available() {
        return;
    }
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("0001_users.sql", "CREATE TABLE users (id int);"),
                (
                    "0002_index.sql",
                    "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_id ON users (id);",
                ),
            ],
            "migration 2 (index) in `0002_index.sql` runs outside a transaction (`-- migrate:no-transaction`)",
        ),
        (
            &[("0001_users.sql", "CREATE TABLE public.users (id int);")],
            "the set creates or alters objects outside the schema it is applied in (schema-qualified names, or `CREATE SCHEMA`): relation public.users",
        ),
        (
            &[(
                "0001_billing.sql",
                "CREATE SCHEMA billing;\nCREATE TABLE billing.invoices (id int);",
            )],
            "the set creates or alters objects outside the schema it is applied in (schema-qualified names, or `CREATE SCHEMA`): relation billing.invoices, schema billing",
        ),
        (
            &[
                ("0001_users.sql", "CREATE TABLE users (id int);"),
                ("0002_oops.sql", "ALTER TABLE users ADD COLUMN id int;"),
            ],
            "applying the set in a scratch schema, migration 2 (oops) failed in `0002_oops.sql` at line 1 (`ALTER TABLE users ADD COLUMN id int;`): column \"id\" of relation \"users\" already exists (SQLSTATE 42701)",
        ),
    ];
    for (files, reason) in cases {
        let folder = Folder::new(files);
        let db = TestDatabase::new();
        let mut client = db.connect();
        let error = folder
            .migrations()
            .check_schema(&mut client)
            .expect_err("the expected schema cannot be worked out");
        let Error::SchemaUnknown { reason: found } = &error else {
            panic!("expected SchemaUnknown, got {error:?}");
        };
        assert!(
            found.starts_with(reason) && found.contains("MIGRATE_VERIFY_DATABASE_URL"),
            "{found}"
        );
        assert_eq!(
            queries::count(
                &mut client,
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            ),
            0,
            "{reason}: everything was rolled back"
        );
    }
}
