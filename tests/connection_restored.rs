//! The caller's connection comes back as it was given, whichever way an
//! action ends: no transaction open (so the application's next writes are
//! its own), its busy timeout and its foreign key setting unchanged, and no
//! rule of the runner's left on it. One test per way out, on real files.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::{Database, Folder, count, failure_of, schema_objects, tracking_states};
use migrate::{Error, Migrations, embed_migrations};
use rusqlite::Connection;

const FAILING_RUST: Migrations = embed_migrations!("tests/fixtures/rust_failing");
const PANICKING_RUST: Migrations = embed_migrations!("tests/fixtures/rust_panics");

/// How many databases are attached (`temp` is listed once opened).
const ATTACHED: &str =
    "SELECT count(*) FROM pragma_database_list WHERE name NOT IN ('main', 'temp')";

/// The application's own busy timeout, in milliseconds.
const APP_BUSY_TIMEOUT_MS: i64 = 1234;

/// A connection as an application sets one up.
fn app_connection(db: &Database, foreign_keys: bool) -> Connection {
    let conn = db.open();
    conn.busy_timeout(Duration::from_millis(APP_BUSY_TIMEOUT_MS as u64))
        .unwrap();
    conn.pragma_update(None, "foreign_keys", foreign_keys)
        .unwrap();
    conn
}

/// Asserts the connection is as [`app_connection`] made it, and that the
/// application's next write commits on its own, visible to another
/// connection.
fn assert_as_given(conn: &Connection, db: &Database, foreign_keys: bool) {
    assert!(conn.is_autocommit(), "a transaction was left open");
    let busy: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
        .unwrap();
    assert_eq!(busy, APP_BUSY_TIMEOUT_MS, "busy timeout");
    let enforced: bool = conn
        .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
        .unwrap();
    assert_eq!(enforced, foreign_keys, "foreign keys");
    // A write of its own in a transaction: no rule of the runner's is still
    // in force (a migration's phase left on would refuse `BEGIN`), and no
    // `query_only` or open transaction is left.
    conn.execute_batch("BEGIN; CREATE TABLE app_after (x); COMMIT;")
        .expect("the application's own transaction");
    let other = db.open();
    assert_eq!(
        count(
            &other,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'app_after'"
        ),
        1,
        "the application's write is committed"
    );
}

#[test]
fn after_a_no_transaction_migration_that_leaves_its_savepoint_open() -> migrate::Result<()> {
    let folder = Folder::new(&[(
        "0001_b.sql",
        "-- migrate:no-transaction\nSAVEPOINT s;\nCREATE TABLE b (x);\n",
    )]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert_eq!(
        failure_of(&error, 1, true),
        "it left a transaction open (`SAVEPOINT s` was never released), which the runner rolled back, undoing what ran inside it"
    );
    assert_as_given(&conn, &db, true);
    assert_eq!(schema_objects(&conn), ["table app_after"], "b rolled back");
    assert_eq!(tracking_states(&conn), [(1, "dirty_up".to_owned())]);
    Ok(())
}

#[test]
fn after_a_no_transaction_migration_that_fails_inside_its_savepoint() {
    let folder = Folder::new(&[(
        "0001_b.sql",
        "-- migrate:no-transaction\nSAVEPOINT s;\nCREATE TABLE b (x);\nINSERT INTO nowhere VALUES (1);\n",
    )]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(
            error,
            Error::MigrationFailed {
                version: 1,
                line: Some(4),
                dirty: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_as_given(&conn, &db, true);
    assert_eq!(schema_objects(&conn), ["table app_after"], "b rolled back");
}

#[test]
fn after_a_failing_sql_migration() {
    let folder = Folder::new(&[("0001_bad.sql", "CREATE TABLE t (x);\nSELECT nope();\n")]);
    let db = Database::new();
    let mut conn = app_connection(&db, false);

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(error, Error::MigrationFailed { version: 1, .. }),
        "{error:?}"
    );
    assert_as_given(&conn, &db, false);
}

#[test]
fn after_a_failing_rust_migration() {
    let db = Database::new();
    let mut conn = app_connection(&db, true);

    let error = FAILING_RUST.run(&mut conn).unwrap_err();

    assert!(
        matches!(error, Error::MigrationFailed { version: 2, .. }),
        "{error:?}"
    );
    assert_as_given(&conn, &db, true);
}

#[test]
fn after_a_panicking_rust_migration() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = app_connection(&db, true);

    let panicked = catch_unwind(AssertUnwindSafe(|| PANICKING_RUST.run(&mut conn)));

    assert!(panicked.is_err(), "the panic goes on to the caller");
    let recursive: bool = conn
        .query_row("PRAGMA recursive_triggers", [], |row| row.get(0))
        .unwrap();
    assert!(!recursive, "the migration's PRAGMA is put back");
    // Also `query_only`, or the application's write below would fail.
    assert_as_given(&conn, &db, true);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM log"),
        0,
        "its row rolled back"
    );
    assert_eq!(PANICKING_RUST.status(&mut conn)?.current_version, Some(1));
    Ok(())
}

#[test]
fn after_a_lock_timeout() {
    let folder = Folder::new(&[("0001_t.sql", "CREATE TABLE t (x);")]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    let holder = db.open();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let error = folder
        .migrations()
        .runner()
        .lock_timeout(Duration::from_millis(50))
        .run(&mut conn)
        .unwrap_err();

    assert!(matches!(error, Error::Locked { .. }), "{error:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_as_given(&conn, &db, true);
}

#[test]
fn after_a_refused_run() -> migrate::Result<()> {
    let folder = Folder::new(&[("0001_t.sql", "CREATE TABLE t (x);")]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    folder.migrations().run(&mut conn)?;
    folder.write("0001_t.sql", "CREATE TABLE t (x, y);");

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(matches!(error, Error::Verification(_)), "{error:?}");
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// `PRAGMA foreign_keys` and `PRAGMA busy_timeout` in a no-transaction
/// migration hold for the migration alone.
#[test]
fn after_a_no_transaction_migration_that_changes_connection_settings() -> migrate::Result<()> {
    for app_foreign_keys in [true, false] {
        let folder = Folder::new(&[(
            "0001_settings.sql",
            &format!(
                "-- migrate:no-transaction\nPRAGMA foreign_keys = {};\nPRAGMA busy_timeout = 5;\nCREATE TABLE z (x);\n",
                if app_foreign_keys { "OFF" } else { "ON" }
            ),
        )]);
        let db = Database::new();
        let mut conn = app_connection(&db, app_foreign_keys);

        folder.migrations().run(&mut conn)?;

        assert_as_given(&conn, &db, app_foreign_keys);
        assert_eq!(schema_objects(&conn), ["table app_after", "table z"]);
    }
    Ok(())
}

/// Every connection setting a migration changes with a `PRAGMA` — in a
/// transaction or outside one, with or without a schema — is put back after
/// it, before the runner records it: `query_only` would otherwise keep the
/// runner, and then the application, from writing.
#[test]
fn after_migrations_that_change_connection_settings_with_pragmas() -> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_in_a_transaction.sql",
            "PRAGMA recursive_triggers = ON;\nPRAGMA main.cache_size = -1000;\n\
             PRAGMA legacy_alter_table = 1;\nCREATE TABLE a (x);\nPRAGMA query_only = ON;\n",
        ),
        (
            "0002_outside.sql",
            "-- migrate:no-transaction\nPRAGMA synchronous = OFF;\nPRAGMA locking_mode = EXCLUSIVE;\n\
             PRAGMA trusted_schema = OFF;\nCREATE TABLE b (x);\nPRAGMA Query_Only = 1;\n",
        ),
    ]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    let setting = |conn: &Connection, name: &str| -> rusqlite::types::Value {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
            .unwrap()
    };
    let names = [
        "recursive_triggers",
        "cache_size",
        "legacy_alter_table",
        "query_only",
        "synchronous",
        "locking_mode",
        "trusted_schema",
    ];
    let before: Vec<_> = names.iter().map(|name| setting(&conn, name)).collect();

    let report = folder.migrations().run(&mut conn)?;

    assert_eq!(report.applied.len(), 2, "both recorded");
    let after: Vec<_> = names.iter().map(|name| setting(&conn, name)).collect();
    assert_eq!(after, before);
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// A migration's attached databases and temporary tables, views and
/// triggers (a temporary trigger would fire on the application's own
/// writes, a temporary table could shadow the tracking table for unqualified
/// reads) are removed when it ends; the application's own stay.
#[test]
fn after_migrations_that_attach_databases_and_create_temporary_objects() -> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_outside.sql",
            "-- migrate:no-transaction\nATTACH ':memory:' AS aux;\nCREATE TABLE aux.t (x);\n\
             CREATE TEMP TABLE scratch (x UNIQUE);\nCREATE INDEX temp.scratch_x ON scratch (x);\n\
             CREATE TEMP TRIGGER copy AFTER INSERT ON main.users BEGIN INSERT INTO scratch VALUES (NEW.id); END;\n",
        ),
        (
            "0003_inside.sql",
            "ATTACH ':memory:' AS aux2;\nCREATE TEMP VIEW answer AS SELECT 42;\n\
             CREATE TEMP TABLE x (version INTEGER);\nALTER TABLE temp.x RENAME TO migrate_schema_history;\n",
        ),
    ]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    conn.execute_batch("CREATE TEMP TABLE app_own (x)").unwrap();

    folder.migrations().run(&mut conn)?;

    let databases: Vec<String> = {
        let mut statement = conn
            .prepare("SELECT name FROM pragma_database_list")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(databases, ["main", "temp"]);
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM temp.sqlite_schema WHERE name <> 'app_own'"
        ),
        0,
        "the migrations' temporary objects are gone"
    );
    conn.execute_batch("INSERT INTO users (id) VALUES (1); INSERT INTO app_own VALUES (1);")
        .expect("no temporary trigger fires");
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// Deprecated settings that change what every statement returns, and limits
/// of the connection, hold for the migration alone too.
#[test]
fn after_migrations_that_set_deprecated_settings_and_limits() -> migrate::Result<()> {
    let folder = Folder::new(&[(
        "0001_settings.sql",
        "-- migrate:no-transaction\nPRAGMA count_changes = ON;\nPRAGMA full_column_names = ON;\n\
         PRAGMA max_page_count = 50;\nCREATE TABLE a (x);\nATTACH ':memory:' AS aux;\n\
         PRAGMA aux.cache_size = 5;\nDETACH aux;\n",
    )]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    let max_pages: i64 = count(&conn, "PRAGMA max_page_count");

    folder.migrations().run(&mut conn)?;

    assert_eq!(count(&conn, "PRAGMA count_changes"), 0);
    assert_eq!(count(&conn, "PRAGMA full_column_names"), 0);
    assert_eq!(count(&conn, "PRAGMA max_page_count"), max_pages);
    assert_eq!(
        conn.execute("INSERT INTO a VALUES (1)", [])
            .expect("no row counts returned"),
        1
    );
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// Migrations that each attach the same in-memory scratch database inside
/// their transaction — where SQLite cannot detach it — all apply: it is
/// detached before the next migration's transaction and when the run ends.
/// A dry run or a grouped run puts them in one transaction, where the second
/// `ATTACH` fails as it would by hand.
#[test]
fn after_migrations_that_each_attach_the_same_scratch_database() -> migrate::Result<()> {
    let attach = |table: &str| {
        format!(
            "ATTACH ':memory:' AS scratch;\nCREATE TABLE scratch.s (x);\nCREATE TABLE {table} (x);\n"
        )
    };
    let folder = Folder::new(&[("0001_a.sql", &attach("a")), ("0002_b.sql", &attach("b"))]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);
    let in_use = |error: &Error| {
        matches!(
            error,
            Error::MigrationFailed {
                version: 2,
                line: Some(1),
                ..
            }
        ) && error
            .to_string()
            .contains("database scratch is already in use")
    };

    let report = folder.migrations().runner().dry_run(&mut conn)?;
    assert!(
        report.failure().is_some_and(|(_, error)| in_use(error)),
        "{report:?}"
    );
    let error = folder
        .migrations()
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();
    assert!(in_use(&error), "{error:?}");
    assert_eq!(count(&conn, ATTACHED), 0);

    let report = folder.migrations().run(&mut conn)?;

    assert_eq!(report.applied.len(), 2);
    assert_eq!(count(&conn, ATTACHED), 0, "none is left");
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// Temporary tables with a foreign key between them, removed after a
/// no-transaction migration with foreign keys on.
#[test]
fn after_a_migration_that_leaves_temporary_tables_with_foreign_keys() -> migrate::Result<()> {
    let folder = Folder::new(&[(
        "0001_scratch.sql",
        "-- migrate:no-transaction\nCREATE TABLE a (x);\n\
         CREATE TEMP TABLE p (id INTEGER PRIMARY KEY);\n\
         CREATE TEMP TABLE c (p INTEGER REFERENCES p (id));\n\
         INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1);\nINSERT INTO a SELECT p FROM c;\n",
    )]);
    let db = Database::new();
    let mut conn = app_connection(&db, true);

    folder.migrations().run(&mut conn)?;

    assert_eq!(count(&conn, "SELECT count(*) FROM temp.sqlite_schema"), 0);
    assert_eq!(count(&conn, "SELECT count(*) FROM a"), 1);
    assert_as_given(&conn, &db, true);
    Ok(())
}

/// `journal_mode` other than `WAL` belongs to the connection, and is put
/// back; into `WAL` is a change of the file, and stays.
#[test]
fn after_migrations_that_change_the_journal_mode() -> migrate::Result<()> {
    let mode = |conn: &Connection| -> String {
        conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap()
    };
    for (set, after) in [
        ("PERSIST", "delete"),
        ("TRUNCATE", "delete"),
        ("WAL", "wal"),
    ] {
        let folder = Folder::new(&[(
            "0001_journal.sql",
            &format!(
                "-- migrate:no-transaction\nPRAGMA journal_mode = {set};\nCREATE TABLE a (x);\n"
            ),
        )]);
        let db = Database::new();
        let mut conn = app_connection(&db, true);

        folder.migrations().run(&mut conn)?;

        assert_eq!(mode(&conn), after, "{set}");
        assert_eq!(mode(&db.open()), after, "{set}: another connection");
    }
    Ok(())
}

/// The runner compiles its own inserts with `PRAGMA ignore_check_constraints`
/// on after a schema change: a migration's `CHECK` constraints are still
/// enforced in the migrations after it, the tracking rows are still checked
/// when written by anyone else, and the caller's setting comes back as it
/// was, on or off.
#[test]
fn with_check_constraints_as_the_caller_had_them() -> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER CHECK (balance >= 0));",
        ),
        (
            "0002_index.sql",
            "CREATE INDEX accounts_balance ON accounts (balance);",
        ),
        (
            "0003_overdrawn.sql",
            "INSERT INTO accounts (id, balance) VALUES (1, -5);",
        ),
    ]);
    let db = Database::new();
    let mut conn = app_connection(&db, false);

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(error, Error::MigrationFailed { version: 3, .. }),
        "migration 3 breaks a CHECK constraint: {error:?}"
    );
    assert_as_given(&conn, &db, false);
    let ignored: bool = conn
        .query_row("PRAGMA ignore_check_constraints", [], |row| row.get(0))
        .unwrap();
    assert!(!ignored, "CHECK constraints are enforced again");
    let refused = conn.execute(
        "INSERT INTO migrate_schema_history (version, name, checksum, applied_at, duration_ms, state)
         VALUES (9, 'x', 'sha256:00', '2026-01-01T00:00:00.000Z', 0, 'nonsense')",
        [],
    );
    assert!(refused.is_err(), "the tracking table's CHECK still holds");

    // A caller that ignores CHECK constraints itself keeps doing so.
    let db = Database::new();
    let mut conn = app_connection(&db, false);
    conn.pragma_update(None, "ignore_check_constraints", true)
        .unwrap();
    let two = Folder::new(&[
        ("0001_a.sql", "CREATE TABLE a (x INTEGER CHECK (x > 0));"),
        ("0002_b.sql", "CREATE TABLE b (y);"),
    ]);
    two.migrations().run(&mut conn)?;
    let ignored: bool = conn
        .query_row("PRAGMA ignore_check_constraints", [], |row| row.get(0))
        .unwrap();
    assert!(ignored, "the caller's setting is kept");
    Ok(())
}
