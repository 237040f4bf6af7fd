//! The full build-time check for PostgreSQL, `migrate::postgres::verify`:
//! every up, every down restoring the schema, and the up again, in a
//! throwaway database on the server. Every test skips with a one-line
//! notice when no server answers (see `tests/common/postgres.rs`).

#[allow(dead_code)] // `Folder::rename` is not used here
#[path = "../../tests/common/folder.rs"]
mod folder;
#[path = "../../tests/common/postgres.rs"]
mod postgres;

use folder::Folder;
use migrate::postgres::verify::{VerifyProblem, verify};
use migrate::{Direction, Migrations};
use postgres::{TestDatabase, queries, server_url};

/// Held by the tests that count leftovers, so that no other test's
/// verification is running meanwhile.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How many throwaway databases of this process are left on the server.
fn leftovers() -> i64 {
    let mut admin = migrate::postgres::postgres::Client::connect(
        &server_url(),
        migrate::postgres::postgres::NoTls,
    )
    .expect("connect to the server");
    queries::count(
        &mut admin,
        &format!(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'migrate\\_verify\\_{}\\_%'",
            std::process::id()
        ),
    )
}

fn problems(migrations: &Migrations) -> Vec<String> {
    match verify(&server_url(), migrations) {
        Ok(_) => Vec::new(),
        Err(error) => error.problems().iter().map(ToString::to_string).collect(),
    }
}

/// Reversible migrations with what a real PostgreSQL set has that a scratch
/// schema cannot take: a concurrent index outside a transaction, a schema of
/// its own.
fn good() -> Folder {
    Folder::new(&[
        (
            "0001_tasks.up.sql",
            "CREATE TYPE status AS ENUM ('todo', 'done');
CREATE TABLE tasks (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL, status status NOT NULL DEFAULT 'todo');",
        ),
        ("0001_tasks.down.sql", "DROP TABLE tasks;\nDROP TYPE status;"),
        (
            "0002_by_status.up.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY tasks_by_status ON tasks (status);",
        ),
        (
            "0002_by_status.down.sql",
            "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY tasks_by_status;",
        ),
        (
            "0003_billing.up.sql",
            "CREATE SCHEMA billing;\nCREATE TABLE billing.invoices (id int PRIMARY KEY, task_id bigint REFERENCES tasks (id));",
        ),
        ("0003_billing.down.sql", "DROP SCHEMA billing CASCADE;"),
    ])
}

#[test]
fn a_good_set_passes_with_the_schema_a_run_produces() {
    if !postgres::available() {
        return;
    }
    let _alone = one_at_a_time();
    let folder = good();
    let migrations = folder.migrations();
    let verified = verify(&server_url(), &migrations).unwrap_or_else(|e| panic!("{e}"));
    let schema = verified
        .schema
        .expect("a set without Rust migrations has a schema");

    let db = TestDatabase::new();
    let mut client = db.connect();
    migrations.run(&mut client).expect("apply the set");
    assert_eq!(
        migrations
            .runner()
            .schema(&mut client)
            .expect("read the schema"),
        schema
    );
    assert!(
        schema
            .objects()
            .iter()
            .any(|object| object.name() == "billing.invoices"),
        "{schema:?}"
    );
    assert_eq!(leftovers(), 0, "the throwaway database is dropped");
}

#[test]
fn a_down_that_leaves_a_column_a_failing_down_and_an_up_that_fails_again_are_reported() {
    if !postgres::available() {
        return;
    }
    let folder = Folder::new(&[
        ("0001_log.sql", "CREATE TABLE log (id int PRIMARY KEY);"),
        (
            "0002_note.up.sql",
            "ALTER TABLE log ADD COLUMN note text;\nALTER TABLE log ADD COLUMN seen boolean;",
        ),
        ("0002_note.down.sql", "ALTER TABLE log DROP COLUMN seen;"),
        ("0003_tags.up.sql", "CREATE TABLE tags (name text);"),
        ("0003_tags.down.sql", "DROP TABLE tag;"),
        (
            "0004_seed.up.sql",
            "CREATE TABLE seeds (id int);\nINSERT INTO log (id) VALUES (1);",
        ),
        ("0004_seed.down.sql", "DROP TABLE seeds;"),
    ]);
    let migrations = folder.migrations();
    let _alone = one_at_a_time();
    let error = verify(&server_url(), &migrations).expect_err("three problems");
    let found: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "the down of migration 2 (note) in `0002_note.down.sql` does not restore the schema from before its up: column `log.note` still exists",
            "the down of migration 3 (tags) fails in `0003_tags.down.sql` at line 1 (`DROP TABLE tag;`): table \"tag\" does not exist (SQLSTATE 42P01)",
            "applied again after its down, migration 4 (seed) fails in `0004_seed.up.sql` at line 2 (`INSERT INTO log (id) VALUES (1);`): duplicate key value violates unique constraint \"log_pkey\" (SQLSTATE 23505); detail: Key (id)=(1) already exists.",
        ]
    );
    assert!(matches!(
        &error.problems()[1],
        VerifyProblem::Failed {
            version: 3,
            direction: Direction::Down,
            again: false,
            ..
        }
    ));
    assert!(
        error.to_string().starts_with(
            "3 problems verifying the migrations in a throwaway PostgreSQL database\n  - "
        ),
        "{error}"
    );
    assert_eq!(leftovers(), 0, "every throwaway database is dropped");
}

/// A down checked in a transaction that is rolled back leaves the database
/// as its up left it, so the migrations after it build on the up; one
/// outside a transaction is committed, and after its problem the check goes
/// on in a new database.
#[test]
fn after_a_down_problem_the_later_migrations_build_on_the_up() {
    if !postgres::available() {
        return;
    }
    let folder = Folder::new(&[
        (
            "0001_log.sql",
            "CREATE TABLE log (id int PRIMARY KEY, note text);",
        ),
        (
            "0002_seen.up.sql",
            "ALTER TABLE log ADD COLUMN seen boolean;",
        ),
        (
            "0002_seen.down.sql",
            "ALTER TABLE log RENAME COLUMN seen TO unseen;",
        ),
        (
            "0003_seen_index.sql",
            "CREATE INDEX log_seen ON log (seen);",
        ),
        (
            "0004_note_index.up.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY log_note ON log (note);",
        ),
        (
            "0004_note_index.down.sql",
            "-- migrate:no-transaction\nSELECT 1;",
        ),
        (
            "0005_note_used.sql",
            "CREATE INDEX log_note_seen ON log (note, seen);",
        ),
    ]);
    let _alone = one_at_a_time();
    let found = problems(&folder.migrations());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0]
            .starts_with("the down of migration 2 (seen) in `0002_seen.down.sql` does not restore"),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with(
            "the down of migration 4 (note_index) in `0004_note_index.down.sql` does not restore"
        ),
        "{found:#?}"
    );
    assert_eq!(leftovers(), 0, "every throwaway database is dropped");
}

#[test]
fn a_failing_up_ends_verification_there() {
    if !postgres::available() {
        return;
    }
    let folder = Folder::new(&[
        ("0001_a.sql", "CREATE TABLE a (id int);"),
        ("0002_b.sql", "CREATE TABLE a (id int);"),
        ("0003_c.sql", "CREATE TABLE c (id nonsense);"),
    ]);
    let _alone = one_at_a_time();
    assert_eq!(
        problems(&folder.migrations()),
        [
            "migration 2 (b) fails in `0002_b.sql` at line 1 (`CREATE TABLE a (id int);`): relation \"a\" already exists (SQLSTATE 42P07)"
        ]
    );
}

#[test]
fn a_view_with_now_that_a_down_recreates_is_restored() {
    if !postgres::available() {
        return;
    }
    // PostgreSQL folds `'now'::timestamp` to the time the view is created,
    // so the view the down recreates reads back with another constant than
    // the one migration 1 created: the same schema all the same. A
    // constant written in the migration still counts.
    let view = "CREATE VIEW recent AS SELECT id FROM posts WHERE published > 'now'::timestamp - interval '1 month' AND day <> 'today'::date;";
    let old = |second: u8| {
        format!(
            "CREATE VIEW old AS SELECT id FROM posts WHERE published < '2001-02-03 04:05:0{second}'::timestamp;"
        )
    };
    let folder = Folder::new(&[
        (
            "0001_posts.sql",
            &format!(
                "CREATE TABLE posts (id int, published timestamp, day date);\n{view}\n{}",
                old(6)
            ),
        ),
        (
            "0002_recent_by_day.up.sql",
            "DROP VIEW recent;\nCREATE VIEW recent AS SELECT id FROM posts WHERE day > 'now'::date - 7;",
        ),
        (
            "0002_recent_by_day.down.sql",
            &format!("DROP VIEW recent;\n{view}"),
        ),
        (
            "0003_old.up.sql",
            "DROP VIEW old;\nCREATE VIEW old AS SELECT id FROM posts;",
        ),
        ("0003_old.down.sql", &format!("DROP VIEW old;\n{}", old(7))),
    ]);
    let _alone = one_at_a_time();
    let found = problems(&folder.migrations());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(
            "the down of migration 3 (old) in `0003_old.down.sql` does not restore the schema"
        ) && found[0].contains("view `old` is defined differently"),
        "{found:#?}"
    );
}

#[test]
fn a_statement_that_needs_no_transaction_names_the_flag_of_the_folders_tool() {
    if !postgres::available() {
        return;
    }
    // A diesel folder: `-- migrate:no-transaction` would be a comment there,
    // so the message names diesel's `metadata.toml` too.
    let folder = Folder::new(&[]);
    for (file, text) in [
        (
            "2024-01-01-000000_posts/up.sql",
            "CREATE TABLE posts (id int);",
        ),
        (
            "2024-01-01-000000_posts/down.sql",
            "DROP TABLE posts;\nCREATE INDEX CONCURRENTLY nothing ON pg_class (relname);",
        ),
    ] {
        let path = folder.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let set = Migrations::read_folder_as(
        folder.path(),
        std::path::Path::new("migrations"),
        &migrate::formats::ReadOptions::new(migrate::formats::Format::Diesel),
    )
    .unwrap();
    let _alone = one_at_a_time();
    let found = problems(&set);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].contains("cannot run inside a transaction block (SQLSTATE 25001)")
            && found[0].contains("`-- migrate:no-transaction` as the file's first line")
            && found[0].contains("diesel: `run_in_transaction = false` in `metadata.toml`"),
        "{found:#?}"
    );
}

#[test]
fn a_server_that_does_not_answer_is_an_internal_problem() {
    let folder = Folder::new(&[("0001_a.sql", "CREATE TABLE a (id int);")]);
    let found = problems(&folder.migrations());
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("verification could not run: connecting to the server: "),
        "{found:?}"
    );
    // `host=` with a port nothing listens on.
    fn problems(migrations: &Migrations) -> Vec<String> {
        match verify("postgres://postgres@127.0.0.1:1/postgres", migrations) {
            Ok(_) => Vec::new(),
            Err(error) => error.problems().iter().map(ToString::to_string).collect(),
        }
    }
}
