//! A failing migration: rolled back completely with its tracking row, the
//! run stops, the error names version, file, line and SQLite's message, and
//! the failure is recorded for `status`.

mod common;

use common::{Database, Folder, count, schema_objects, tracking_rows};
use migrate::{DEFAULT_TABLE, Error};

fn folder_with_a_broken_second_migration() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY);\nINSERT INTO accounts VALUES (1);\n\nINSERT INTO nowhere VALUES (1);\n",
        ),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

#[test]
fn a_failed_migration_is_rolled_back_and_stops_the_run() {
    let folder = folder_with_a_broken_second_migration();
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let Error::MigrationFailed {
        version,
        name,
        file,
        line,
        statement,
        source,
        ..
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!(
        (*version, name.as_str(), file.as_str()),
        (2, "accounts", "0002_accounts.sql")
    );
    assert_eq!(*line, Some(4));
    assert_eq!(
        statement.as_deref(),
        Some("INSERT INTO nowhere VALUES (1);")
    );
    assert_eq!(source.to_string(), "no such table: nowhere");
    assert_eq!(
        error.to_string(),
        "migration 2 (accounts) failed in `0002_accounts.sql` at line 4 (`INSERT INTO nowhere VALUES (1);`): \
         no such table: nowhere; it was rolled back and no later migration ran"
    );

    // Migration 1 stays; nothing of 2 (its first statements included) or 3.
    assert_eq!(schema_objects(&conn), ["table users"]);
    let rows = tracking_rows(&conn, DEFAULT_TABLE);
    let outcome: Vec<(i64, &str)> = rows.iter().map(|r| (r.0, r.3.as_str())).collect();
    assert_eq!(
        outcome,
        [(1, "applied"), (2, "failed")],
        "2 is recorded as failed"
    );
}

#[test]
fn status_shows_the_failure_until_a_fixed_build_applies_it() -> migrate::Result<()> {
    let folder = folder_with_a_broken_second_migration();
    let db = Database::new();
    let _ = folder.migrations().run(&mut db.open());

    let mut conn = db.open();
    let status = folder.migrations().status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    assert_eq!(status.failed.len(), 1);
    assert_eq!(status.failed[0].version, 2);
    assert!(
        status.failed[0].error.contains("no such table: nowhere"),
        "{}",
        status.failed[0].error
    );
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [2, 3]);

    folder.write(
        "0002_accounts.sql",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY);",
    );
    let report = folder.migrations().run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [2, 3]);
    let status = folder.migrations().status(&mut conn)?;
    assert!(status.failed.is_empty(), "{:?}", status.failed);
    assert!(status.is_up_to_date());
    assert_eq!(count(&conn, "SELECT count(*) FROM accounts"), 0);
    Ok(())
}

#[test]
fn a_syntax_error_names_its_line() {
    let folder = Folder::new(&[(
        "0001_typo.sql",
        "CREATE TABLE a (x);\n/* the next one is wrong */\nCREATE TABEL b (y);\n",
    )]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(&error, Error::MigrationFailed { line: Some(3), .. })
            && error.to_string().contains("syntax error"),
        "{error:?}"
    );
    assert!(schema_objects(&conn).is_empty(), "table a rolled back too");
}

#[test]
fn a_constraint_failure_in_a_data_migration_keeps_the_earlier_data() -> migrate::Result<()> {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (email TEXT UNIQUE);"),
        (
            "0002_seed.sql",
            "INSERT INTO users VALUES ('a@example.com');",
        ),
        (
            "0003_dupe.sql",
            "UPDATE users SET email = lower(email);\nINSERT INTO users VALUES ('a@example.com');",
        ),
    ]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(&error, Error::MigrationFailed { version: 3, .. })
            && error
                .to_string()
                .contains("UNIQUE constraint failed: users.email"),
        "{error:?}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 1);
    assert_eq!(
        folder.migrations().status(&mut conn)?.current_version,
        Some(2)
    );
    Ok(())
}

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
            source,
            ..
        } = &error
        else {
            panic!("{sql}: {error:?}");
        };
        assert_eq!(*at, line, "{sql}");
        assert!(source.to_string().contains(message), "{sql}: {error}");
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
