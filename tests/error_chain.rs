//! An error printed with its causes (`{:#}` under anyhow, or any reporter
//! that walks `source()`) says each message once: an error either includes
//! its source's message in its own or returns it from `source()`, never both.
//! `migrate::Error`'s messages stay complete, so it returns none; what a
//! caller may need to inspect stays in the variant's public fields.

mod common;

use std::time::Duration;

use common::{Database, Folder};
use migrate::{Error, Migrations, Problem, embed_migrations};

const RUST_FAILING: Migrations = embed_migrations!("tests/fixtures/rust_failing");

/// `{:#}` of `error` under anyhow, after checking that it is the chain's
/// messages joined by `: ` and that no message repeats one before it.
fn printed_with_causes(error: Error) -> String {
    let error = anyhow::Error::from(error);
    let messages: Vec<String> = error.chain().map(ToString::to_string).collect();
    let printed = format!("{error:#}");
    assert_eq!(printed, messages.join(": "));
    for (i, later) in messages.iter().enumerate().skip(1) {
        for earlier in &messages[..i] {
            assert!(
                !earlier.contains(later.as_str()),
                "`{later}` is printed twice, the second time as the source of `{earlier}`:\n{printed}"
            );
        }
    }
    printed
}

#[test]
fn a_verification_problem_is_printed_once() {
    let folder = Folder::new(&[("0001_users.sql", "CREATE TABLE users (id INTEGER);")]);
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    folder.migrations().run(&mut conn).unwrap();
    folder.write(
        "0001_users.sql",
        "CREATE TABLE users (id INTEGER, name TEXT);",
    );

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let Error::Verification(problem @ Problem::Divergent { version: 1, .. }) = &error else {
        panic!("expected a divergent migration, got {error:?}");
    };
    assert_eq!(error.to_string(), format!("{problem}; nothing was applied"));
    let printed = printed_with_causes(error);
    assert_eq!(
        printed.matches("was applied with checksum").count(),
        1,
        "{printed}"
    );
}

#[test]
fn a_failed_sql_migration_prints_sqlites_message_once() {
    let folder = Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        ("0002_broken.sql", "INSERT INTO nowhere VALUES (1);"),
    ]);
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    let expected = "migration 2 (broken) failed in `0002_broken.sql` at line 1 \
                    (`INSERT INTO nowhere VALUES (1);`): no such table: nowhere; \
                    it was rolled back and no later migration ran";
    assert_eq!(error.to_string(), expected);
    // SQLite's own error, for a caller who needs its code.
    let Error::MigrationFailed { error: cause, .. } = &error else {
        panic!("expected a failed migration, got {error:?}");
    };
    let statement = cause
        .downcast_ref::<migrate::sqlite::StatementError>()
        .unwrap_or_else(|| panic!("{cause:?}"));
    assert_eq!(
        statement.sqlite_error().sqlite_error_code(),
        Some(rusqlite::ErrorCode::Unknown)
    );
    // Walked from there, SQLite's message, then its result code: once each.
    let chain: Vec<String> =
        std::iter::successors(Some(statement as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        chain,
        ["no such table: nowhere", "Error code 1: SQL logic error"]
    );
    let printed = printed_with_causes(error);
    assert_eq!(printed.matches("no such table").count(), 1, "{printed}");
}

#[test]
fn a_failed_rust_migration_prints_its_error_once() {
    let db = Database::new();
    let mut conn = db.open();

    let error = RUST_FAILING.run(&mut conn).unwrap_err();

    assert!(
        error
            .to_string()
            .contains(": no opening balance for tier `platinum`; it was rolled back"),
        "{error}"
    );
    let Error::MigrationFailed { error: cause, .. } = &error else {
        panic!("expected a failed migration, got {error:?}");
    };
    assert_eq!(cause.to_string(), "no opening balance for tier `platinum`");
    let printed = printed_with_causes(error);
    assert_eq!(
        printed.matches("no opening balance").count(),
        1,
        "{printed}"
    );
}

#[test]
fn a_database_error_prints_sqlites_message_once() {
    // A tracking table of another shape: reading it fails.
    let folder = Folder::new(&[("0001_users.sql", "CREATE TABLE users (id INTEGER);")]);
    let mut conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE migrate_schema_history (something_else TEXT);")
        .unwrap();

    let error = folder.migrations().status(&mut conn).unwrap_err();

    let Error::Database {
        context,
        error: cause,
    } = &error
    else {
        panic!("expected a database error, got {error:?}");
    };
    let sqlite = cause
        .downcast_ref::<rusqlite::Error>()
        .unwrap_or_else(|| panic!("{cause:?}"));
    assert_eq!(error.to_string(), format!("{context}: {sqlite}"));
    let printed = printed_with_causes(error);
    assert_eq!(printed.matches("no such column").count(), 1, "{printed}");
}

#[test]
fn a_lock_timeout_is_printed_once() {
    let folder = Folder::new(&[("0001_users.sql", "CREATE TABLE users (id INTEGER);")]);
    let db = Database::new();
    let other = db.open();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut conn = db.open();

    let error = folder
        .migrations()
        .runner()
        .lock_timeout(Duration::from_millis(50))
        .run(&mut conn)
        .unwrap_err();

    let Error::Locked {
        waited,
        error: cause,
    } = &error
    else {
        panic!("expected a lock timeout, got {error:?}");
    };
    assert_eq!(*waited, Duration::from_millis(50));
    let sqlite = cause
        .downcast_ref::<rusqlite::Error>()
        .unwrap_or_else(|| panic!("{cause:?}"));
    assert_eq!(
        sqlite.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy)
    );
    // SQLite's own words add nothing ("database is locked", and rusqlite's
    // source of it, "Error code 5: database is locked").
    assert_eq!(
        printed_with_causes(error),
        "the database is locked by another connection; gave up after waiting 50 ms for it"
    );
}
