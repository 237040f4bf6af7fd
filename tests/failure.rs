//! A failing migration on SQLite, about SQLite itself: a `COMMIT` refused by
//! the runner's authorizer, and the errors on which SQLite rolls the whole
//! transaction back by itself. A failure on any engine (rolled back,
//! recorded, named) is in the conformance suite
//! (`tests/conformance/failure.rs`).

mod common;

use common::{Database, Folder, schema_objects, tracking_rows};
use migrate::{DEFAULT_TABLE, Error};

#[test]
fn a_migration_cannot_commit_its_own_transaction_early() {
    let folder = Folder::new(&[(
        "0001_sneaky.sql",
        "CREATE TABLE a (x);\nCOMMIT;\nCREATE TABLE b (x);",
    )]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(&error, Error::MigrationFailed { line: Some(2), .. })
            && error
                .to_string()
                .contains("`COMMIT` is not allowed in a migration"),
        "{error:?}"
    );
    assert!(schema_objects(&conn).is_empty(), "table a rolled back");
}

/// SQLite rolls the whole transaction back by itself on some errors (`INSERT
/// OR ROLLBACK`, `RAISE(ROLLBACK)` in a trigger, a full disk): the migration
/// failed and is rolled back like any other — SQLite's message kept, recorded
/// as failed, not dirty — and a fixed file applies on the next run.
#[test]
fn a_statement_sqlite_rolls_the_whole_transaction_back_for_is_a_plain_failure()
-> migrate::Result<()> {
    for (sql, line, message) in [
        (
            "CREATE TABLE u (x UNIQUE);\nINSERT INTO u VALUES (1);\nINSERT OR ROLLBACK INTO u VALUES (1);\n",
            3,
            "UNIQUE constraint failed: u.x",
        ),
        (
            "CREATE TABLE t (x);\nCREATE TRIGGER no_negatives BEFORE INSERT ON t WHEN NEW.x < 0\n\
             BEGIN SELECT RAISE(ROLLBACK, 'negative'); END;\nINSERT INTO t VALUES (-1);\n",
            4,
            "negative",
        ),
    ] {
        let folder = Folder::new(&[("0001_a.sql", "CREATE TABLE a (x);"), ("0002_b.sql", sql)]);
        let db = Database::new();
        let mut conn = db.open();

        let error = folder.migrations().run(&mut conn).unwrap_err();

        let Error::MigrationFailed {
            version: 2,
            line: Some(at),
            dirty: false,
            error: cause,
            ..
        } = &error
        else {
            panic!("{sql}: {error:?}");
        };
        assert_eq!(*at, line, "{sql}");
        assert!(cause.to_string().contains(message), "{sql}: {error}");
        assert_eq!(schema_objects(&conn), ["table a"], "{sql}");
        let states: Vec<String> = tracking_rows(&conn, DEFAULT_TABLE)
            .into_iter()
            .map(|row| row.3)
            .collect();
        assert_eq!(states, ["applied", "failed"], "{sql}");

        folder.write("0002_b.sql", "CREATE TABLE b (x);");
        folder.migrations().run(&mut conn)?;
        assert_eq!(schema_objects(&conn), ["table a", "table b"]);
    }
    Ok(())
}
