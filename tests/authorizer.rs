//! What migration code may do, as SQLite's authorizer enforces it: it cannot
//! end or nest the runner's transaction (`BEGIN`, `COMMIT`, `END`,
//! `ROLLBACK`, a savepoint it did not open), whatever comments, strings or
//! identifiers surround the statement, and it cannot touch the tracking
//! tables. The same rules hold in runs, dry runs, grouped runs, rollbacks and
//! the build-time check, on real SQLite files.

mod common;

use common::{Database, Folder, count, schema_objects, tracking_states};
use migrate::sqlite::{VerifyProblem, verify};
use migrate::{DEFAULT_TABLE, Error};

/// The hostile migration of the issue: a `ROLLBACK` hidden from a word scan
/// by `/* TO */`, then statements that would run in autocommit mode.
const ENDS_ITS_TRANSACTION: &str = "CREATE TABLE b (x);\nROLLBACK /* TO */;\nCREATE TABLE c (x);\nINSERT INTO nowhere VALUES (1);\n";

fn ends_its_transaction() -> Folder {
    Folder::new(&[
        ("0001_a.sql", "CREATE TABLE a (x);"),
        ("0002_b.sql", ENDS_ITS_TRANSACTION),
    ])
}

/// The refusal of a statement, as the failed migration's error says it.
fn refusal(error: &Error) -> String {
    let Error::MigrationFailed { error: cause, .. } = error else {
        panic!("expected a failed migration, got {error:?}");
    };
    cause.to_string()
}

#[test]
fn a_migration_cannot_roll_back_the_runners_transaction() -> migrate::Result<()> {
    let folder = ends_its_transaction();
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::MigrationFailed { version: 2, line: Some(2), statement: Some(statement), dirty: false, .. }
                if &**statement == "ROLLBACK /* TO */;"
        ),
        "{error:?}"
    );
    assert!(
        refusal(&error).starts_with("`ROLLBACK` is not allowed in a migration"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("it was rolled back and no later migration ran"),
        "{error}"
    );
    assert_eq!(schema_objects(&conn), ["table a"], "b and c rolled back");
    assert_eq!(
        tracking_states(&conn),
        [(1, "applied".to_owned()), (2, "failed".to_owned())]
    );

    // Fixed, the retry applies it: nothing of the refused attempt is left.
    folder.write("0002_b.sql", "CREATE TABLE b (x);\nCREATE TABLE c (x);\n");
    folder.migrations().run(&mut conn)?;
    assert_eq!(schema_objects(&conn), ["table a", "table b", "table c"]);
    Ok(())
}

#[test]
fn a_dry_run_of_it_leaves_the_file_unchanged() -> migrate::Result<()> {
    let folder = ends_its_transaction();
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run_to(&mut conn, 1)?;
    let before = std::fs::read(db.path()).expect("read the database file");

    let report = folder.migrations().runner().dry_run(&mut conn)?;

    let (step, error) = report.failure().expect("migration 2 fails");
    assert_eq!(step.version, 2);
    assert!(refusal(error).starts_with("`ROLLBACK` is not allowed"));
    assert_eq!(std::fs::read(db.path()).expect("read it again"), before);
    Ok(())
}

#[test]
fn a_grouped_run_of_it_applies_nothing() {
    let folder = ends_its_transaction();
    let db = Database::new();
    let mut conn = db.open();

    let error = folder
        .migrations()
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();

    assert!(
        matches!(
            error,
            Error::MigrationFailed {
                version: 2,
                grouped: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        schema_objects(&conn).is_empty(),
        "{:?}",
        schema_objects(&conn)
    );
}

#[test]
fn a_down_cannot_commit_and_its_migration_stays_applied() -> migrate::Result<()> {
    let folder = Folder::new(&[
        ("0001_t.up.sql", "CREATE TABLE t (x);"),
        (
            "0001_t.down.sql",
            "DROP TABLE t;\nEND; -- commits, as COMMIT\n",
        ),
    ]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;

    let error = folder.migrations().rollback(&mut conn, 1).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::MigrationFailed {
                version: 1,
                line: Some(2),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        refusal(&error).starts_with("`COMMIT` is not allowed"),
        "{error}"
    );
    assert_eq!(schema_objects(&conn), ["table t"]);
    assert_eq!(tracking_states(&conn), [(1, "applied".to_owned())]);
    Ok(())
}

#[test]
fn a_no_transaction_migration_cannot_begin_or_commit_either() {
    let folder = Folder::new(&[(
        "0001_batch.sql",
        "-- migrate:no-transaction\nbegin;\nCREATE TABLE x (y);\ncommit;\n",
    )]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::MigrationFailed {
                version: 1,
                line: Some(2),
                dirty: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        refusal(&error).starts_with("`BEGIN` is not allowed"),
        "{error}"
    );
    assert!(schema_objects(&conn).is_empty());
}

#[test]
fn the_build_time_check_refuses_it_too() {
    let error = verify(&ends_its_transaction().migrations()).unwrap_err();

    let [
        VerifyProblem::Failed {
            version: 2,
            line: Some(2),
            message,
            ..
        },
    ] = error.problems()
    else {
        panic!("{error}");
    };
    assert!(
        message.starts_with("`ROLLBACK` is not allowed"),
        "{message}"
    );
}

/// Each migration would lose or hide tracking rows; each is refused, naming
/// the table, and the rows stay as the runner wrote them.
#[test]
fn the_tracking_tables_are_off_limits_to_migrations() -> migrate::Result<()> {
    for (sql, verb) in [
        (
            "CREATE TEMP TABLE migrate_schema_history (version INTEGER PRIMARY KEY, name TEXT, \
             checksum TEXT, running_checksum TEXT, applied_at TEXT, duration_ms INTEGER, \
             state TEXT, error TEXT);",
            "create a table named `migrate_schema_history`",
        ),
        (
            "CREATE TRIGGER keep_nothing AFTER INSERT ON migrate_schema_history BEGIN \
             DELETE FROM migrate_schema_history WHERE version = NEW.version; END;",
            "create a trigger on `migrate_schema_history`",
        ),
        (
            "CREATE TRIGGER quiet BEFORE INSERT ON Migrate_Schema_History_Events BEGIN \
             SELECT RAISE(IGNORE); END;",
            "create a trigger on `migrate_schema_history_events`",
        ),
        (
            "UPDATE main.migrate_schema_history SET checksum = 'sha256:00';",
            "update `migrate_schema_history`",
        ),
        (
            "DROP INDEX migrate_schema_history_unfinished;",
            "drop an index of `migrate_schema_history`",
        ),
    ] {
        let folder = Folder::new(&[
            ("0001_a.sql", "CREATE TABLE a (x);"),
            ("0002_sneaky.sql", sql),
        ]);
        let db = Database::new();
        let mut conn = db.open();

        let error = folder.migrations().run(&mut conn).unwrap_err();

        assert_eq!(
            refusal(&error),
            format!(
                "the tracking tables are off limits to migrations: this statement would {verb}, which only the runner writes"
            ),
            "{sql}"
        );
        assert_eq!(
            tracking_states(&conn),
            [(1, "applied".to_owned()), (2, "failed".to_owned())],
            "{sql}"
        );
        let status = folder.migrations().status(&mut conn)?;
        assert_eq!(status.current_version, Some(1));
        assert_eq!(
            count(&conn, "SELECT count(*) FROM sqlite_temp_schema"),
            0,
            "nothing in temp: {sql}"
        );
    }
    Ok(())
}

#[test]
fn a_tracking_table_of_another_name_is_protected_in_any_case() {
    let folder = Folder::new(&[
        ("0001_a.sql", "CREATE TABLE a (x);"),
        ("0002_forget.sql", "DELETE FROM SCHEMA_MIGRATIONS;"),
    ]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder
        .migrations()
        .runner()
        .table("schema_migrations")
        .run(&mut conn)
        .unwrap_err();

    assert!(
        refusal(&error).contains("would delete from `schema_migrations`"),
        "{error}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM schema_migrations"), 2);
}

/// The runner names its tables with their schema: a temporary table of the
/// same name on the application's connection (which would shadow an
/// unqualified name) does not receive the tracking rows.
#[test]
fn the_runner_writes_the_tracking_table_of_main_even_when_a_temp_one_shadows_it()
-> migrate::Result<()> {
    let folder = Folder::new(&[("0001_a.sql", "CREATE TABLE a (x);")]);
    let db = Database::new();
    let mut conn = db.open();
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE {DEFAULT_TABLE} (version INTEGER PRIMARY KEY, name TEXT, \
         checksum TEXT, running_checksum TEXT, applied_at TEXT, duration_ms INTEGER, \
         state TEXT, error TEXT)"
    ))
    .unwrap();

    folder.migrations().run(&mut conn)?;

    assert_eq!(
        count(&conn, &format!("SELECT count(*) FROM temp.{DEFAULT_TABLE}")),
        0
    );
    drop(conn);
    let mut fresh = db.open();
    let status = folder.migrations().status(&mut fresh)?;
    assert_eq!(status.current_version, Some(1), "recorded in the file");
    assert!(status.pending.is_empty());
    Ok(())
}

/// A `PRAGMA` that would get round the rules (`writable_schema` rewrites
/// `sqlite_schema`), lose the rollback journal, or change something the
/// runner cannot put back is refused, naming the pragma and why; settings of
/// the database file and pragmas that take an argument are allowed.
#[test]
fn pragmas_that_would_get_round_the_rules_or_stay_changed_are_refused() -> migrate::Result<()> {
    for (sql, why) in [
        (
            "PRAGMA writable_schema = ON;",
            "it lets SQL rewrite `sqlite_schema`",
        ),
        (
            "PRAGMA main.journal_mode = off;",
            "the runner relies on the rollback journal",
        ),
        (
            "PRAGMA journal_mode = MEMORY;",
            "the runner relies on the rollback journal",
        ),
        ("PRAGMA schema_version = 99;", "writing it can corrupt"),
        (
            "PRAGMA temp_store = MEMORY;",
            "deletes every temporary table",
        ),
        ("PRAGMA case_sensitive_like = ON;", "cannot be read back"),
        (
            "PRAGMA temp_store_directory = '/tmp';",
            "a folder for every connection of the process",
        ),
        (
            "PRAGMA made_up_setting = 1;",
            "not a setting the runner knows",
        ),
        (
            "PRAGMA hard_heap_limit = 987654321;",
            "a limit for every connection of the process",
        ),
    ] {
        let folder = Folder::new(&[(
            "0001_pragma.sql",
            &format!("-- migrate:no-transaction\nCREATE TABLE a (x);\n{sql}\n"),
        )]);
        let db = Database::new();
        let mut conn = db.open();

        let error = folder.migrations().run(&mut conn).unwrap_err();

        assert!(
            matches!(
                &error,
                Error::MigrationFailed {
                    version: 1,
                    line: Some(3),
                    ..
                }
            ),
            "{sql}: {error:?}"
        );
        let message = refusal(&error);
        assert!(
            message.contains("is not allowed in a migration") && message.contains(why),
            "{sql}: {message}"
        );
        let writable: i64 = count(&conn, "PRAGMA writable_schema");
        assert_eq!(writable, 0, "{sql}");
        let journal: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(journal, "delete", "{sql}");
    }

    let folder = Folder::new(&[(
        "0001_allowed.sql",
        "CREATE TABLE a (x);\nPRAGMA user_version = 7;\nPRAGMA application_id = 12;\n\
         PRAGMA table_info(a);\nPRAGMA integrity_check(10);\nPRAGMA foreign_key_check(a);\n",
    )]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    assert_eq!(
        count(&conn, "PRAGMA user_version"),
        7,
        "the file's settings stay"
    );
    assert_eq!(count(&conn, "PRAGMA application_id"), 12);
    Ok(())
}

/// What the application had on its connection before the migration is its
/// own: a database it attached may not be detached, a temporary table of its
/// own may not be dropped, renamed or written to.
#[test]
fn the_applications_attached_databases_and_temporary_tables_are_its_own() {
    for (sql, refused) in [
        (
            "DETACH app_aux;\nATTACH ':memory:' AS app_aux;",
            "`DETACH app_aux` is not allowed: the application attached `app_aux`, not the migration",
        ),
        (
            "CREATE TEMP TABLE t2 (x);\nALTER TABLE temp.app_cache RENAME TO app_cache_old;",
            "the temporary `app_cache` belongs to the application's connection",
        ),
        (
            "DROP TABLE temp.app_cache;",
            "the temporary `app_cache` belongs to the application's connection",
        ),
        (
            "DELETE FROM temp.app_cache;",
            "the temporary `app_cache` belongs to the application's connection",
        ),
    ] {
        let folder = Folder::new(&[(
            "0001_sneaky.sql",
            &format!("-- migrate:no-transaction\nCREATE TABLE a (x);\n{sql}\n"),
        )]);
        let db = Database::new();
        let outside = tempfile::tempdir().unwrap();
        let mut conn = db.open();
        conn.execute_batch(&format!(
            "ATTACH '{}' AS app_aux; CREATE TEMP TABLE app_cache (k); INSERT INTO app_cache VALUES (1);",
            outside.path().join("aux.db").display()
        ))
        .unwrap();

        let error = folder.migrations().run(&mut conn).unwrap_err();

        assert!(refusal(&error).starts_with(refused), "{sql}: {error}");
        assert_eq!(
            count(&conn, "SELECT count(*) FROM temp.app_cache"),
            1,
            "{sql}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM pragma_database_list WHERE name = 'app_aux'"
            ),
            1,
            "{sql}"
        );
    }
}

/// A trigger on a table of the migration's own, whose body writes to the
/// tracking tables, would fire on the application's own writes later; it is
/// refused when it is created (SQLite compiles a trigger's body only into a
/// statement that fires it, so the runner compiles, never runs, one of each
/// kind). Triggers that do not touch the tracking tables are untouched.
#[test]
fn a_trigger_that_would_write_to_the_tracking_tables_later_is_refused() -> migrate::Result<()> {
    for (trigger, verb) in [
        (
            "CREATE TRIGGER bomb AFTER INSERT ON users BEGIN DELETE FROM migrate_schema_history; END;",
            "delete from `migrate_schema_history` (through trigger or view `bomb`)",
        ),
        (
            "CREATE TRIGGER quiet AFTER UPDATE OF email ON users BEGIN\n  \
             UPDATE migrate_schema_history_events SET detail = NULL;\nEND;",
            "update `migrate_schema_history_events` (through trigger or view `quiet`)",
        ),
        (
            "CREATE VIEW v AS SELECT id FROM users;\n\
             CREATE TRIGGER instead INSTEAD OF DELETE ON v BEGIN \
             INSERT INTO migrate_schema_history_events (at, event, version, name, direction) \
             VALUES ('', 'applied', 1, '', 'up'); END;",
            "insert into `migrate_schema_history_events` (through trigger or view `instead`)",
        ),
    ] {
        let folder = Folder::new(&[
            (
                "0001_users.sql",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
            ),
            ("0002_trigger.sql", trigger),
        ]);
        let db = Database::new();
        let mut conn = db.open();

        let error = folder.migrations().run(&mut conn).unwrap_err();

        assert!(
            matches!(&error, Error::MigrationFailed { version: 2, statement: Some(s), .. } if s.starts_with("CREATE TRIGGER")),
            "{trigger}: {error:?}"
        );
        assert_eq!(
            refusal(&error),
            format!(
                "the tracking tables are off limits to migrations: this statement would {verb}, which only the runner writes"
            ),
            "{trigger}"
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"
            ),
            0,
            "{trigger}"
        );
    }

    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_audit.sql",
            "CREATE TABLE audit (id INTEGER, at TEXT);\n\
             CREATE TRIGGER audit_users AFTER INSERT ON users BEGIN \
             INSERT INTO audit VALUES (NEW.id, (SELECT max(version) FROM migrate_schema_history)); END;",
        ),
    ]);
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    conn.execute_batch("INSERT INTO users (email) VALUES ('a@example.com')")
        .unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM audit"), 1);
    Ok(())
}
