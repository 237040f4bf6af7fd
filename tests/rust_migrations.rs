//! Rust-code migrations (`<version>_<name>.rs`) at run time: a failure rolls
//! back everything the code did together with its tracking row; a dry run
//! tries them like SQL; one that runs `COMMIT` itself, or writes to the
//! tracking table, is refused by SQLite's authorizer and fails.
//! (Applying and reverting a Rust migration that succeeds, and the embedded
//! set's structure, are in `embed.rs`; the compile errors in
//! `migrate-tests/tests/ui/`.)

mod common;

use common::{Database, count, failure_of, schema_objects};
use migrate::{Direction, DryRunOutcome, Error, EventKind, Migrations, embed_migrations};

const FAILING: Migrations = embed_migrations!("tests/fixtures/rust_failing");
const ENDS_ITS_TRANSACTION: Migrations =
    embed_migrations!("tests/fixtures/rust_ends_its_transaction");
const COMMITS_AND_BEGINS: Migrations = embed_migrations!("tests/fixtures/rust_commits_and_begins");
const IGNORES_A_REFUSAL: Migrations = embed_migrations!("tests/fixtures/rust_ignores_a_refusal");
const SQLITE_ROLLS_BACK: Migrations = embed_migrations!("tests/fixtures/rust_sqlite_rolls_back");

#[test]
fn a_failing_rust_migration_rolls_back_with_its_tracking_row() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();

    let error = FAILING.run(&mut conn).unwrap_err();

    let Error::MigrationFailed {
        version: 2,
        file,
        direction: Direction::Up,
        dirty: false,
        line: None,
        error: cause,
        ..
    } = &error
    else {
        panic!("expected migration 2 to fail, got {error:?}");
    };
    assert_eq!(file, "0002_opening_balances.rs");
    assert_eq!(cause.to_string(), "no opening balance for tier `platinum`");
    assert_eq!(
        error.to_string(),
        "migration 2 (opening_balances) failed in `0002_opening_balances.rs`: \
         no opening balance for tier `platinum`; it was rolled back and no later migration ran"
    );

    // The two accounts it inserted before failing are gone; 3 never ran.
    assert_eq!(count(&conn, "SELECT count(*) FROM accounts"), 0);
    assert_eq!(schema_objects(&conn), ["table accounts"]);
    let states = common::tracking_states(&conn);
    assert_eq!(
        states,
        [(1, "applied".to_owned()), (2, "failed".to_owned())]
    );
    let failed = FAILING.status(&mut conn)?.failed;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error, error.to_string());
    let last = FAILING.history(&mut conn)?.pop().expect("a failed event");
    assert_eq!((last.kind, last.version), (EventKind::Failed, 2));
    assert_eq!(last.detail.as_deref(), Some(error.to_string().as_str()));
    Ok(())
}

#[test]
fn a_dry_run_tries_rust_migrations_and_changes_nothing() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();
    FAILING.run_to(&mut conn, 1)?;
    let before = std::fs::read(db.path()).expect("read the database file");

    let report = FAILING.runner().dry_run(&mut conn)?;

    assert_eq!(report.steps.len(), 1, "stops at the failing Rust migration");
    assert_eq!(report.steps[0].version, 2);
    assert!(
        matches!(
            &report.steps[0].outcome,
            DryRunOutcome::Failed(Error::MigrationFailed { error, .. })
                if error.to_string() == "no opening balance for tier `platinum`"
        ),
        "{:?}",
        report.steps[0].outcome
    );
    assert_eq!(std::fs::read(db.path()).expect("read it again"), before);
    Ok(())
}

/// A Rust migration that runs `COMMIT` on the transaction it was given: the
/// authorizer refuses the statement, so its insert is rolled back with the
/// migration, which fails like any other (no dirty mark).
#[test]
fn a_rust_migration_cannot_commit_its_transaction() -> migrate::Result<()> {
    for set in [&ENDS_ITS_TRANSACTION, &COMMITS_AND_BEGINS] {
        let db = Database::new();
        let mut conn = db.open();

        let error = set.run(&mut conn).unwrap_err();

        let source = failure_of(&error, 2, false);
        assert!(
            source
                .to_string()
                .starts_with("`COMMIT` is not allowed in a migration: the runner begins and ends its transactions"),
            "{source}"
        );
        assert_eq!(
            count(&conn, "SELECT count(*) FROM log"),
            0,
            "nothing committed"
        );
        let status = set.status(&mut conn)?;
        assert_eq!(status.current_version, Some(1));
        assert!(status.dirty.is_empty());
        assert_eq!(status.failed.len(), 1);
        // The authorizer is removed afterwards: the application's own commits
        // work.
        conn.execute_batch("BEGIN; INSERT INTO log (line) VALUES ('mine'); COMMIT;")
            .unwrap();
        assert_eq!(count(&conn, "SELECT count(*) FROM log"), 1);
    }
    Ok(())
}

/// A Rust migration that goes on after its statements were refused — a
/// delete of the tracking rows, a `COMMIT` — fails all the same, with the
/// first rule it broke, and nothing it did stays.
#[test]
fn a_rust_migration_that_ignores_a_refusal_fails() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();
    IGNORES_A_REFUSAL.run_to(&mut conn, 1)?;

    let error = IGNORES_A_REFUSAL.run(&mut conn).unwrap_err();

    let source = failure_of(&error, 2, false);
    assert_eq!(
        source.to_string(),
        "the tracking tables are off limits to migrations: this statement would delete from \
         `migrate_schema_history`, which only the runner writes"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM log"), 0);
    let status = IGNORES_A_REFUSAL.status(&mut conn)?;
    assert_eq!(status.current_version, Some(1), "version 1 still recorded");
    assert_eq!(status.failed.len(), 1);
    Ok(())
}

/// A Rust migration that goes on after SQLite rolled its transaction back
/// (and tries to open the runner's savepoint to hide it) may have committed
/// what it ran after: it is marked dirty, never reported as rolled back.
#[test]
fn a_rust_migration_that_goes_on_after_sqlite_rolled_back_is_dirty() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();

    let error = SQLITE_ROLLS_BACK.run(&mut conn).unwrap_err();

    let source = failure_of(&error, 2, true);
    assert!(
        source
            .to_string()
            .starts_with("the runner's transaction ended while it ran"),
        "{source}"
    );
    assert!(conn.is_autocommit());
    let status = SQLITE_ROLLS_BACK.status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    assert_eq!(status.dirty.len(), 1, "{status:?}");
    assert!(matches!(
        SQLITE_ROLLS_BACK.run(&mut conn),
        Err(Error::Dirty { version: 2, .. })
    ));
    Ok(())
}

/// A set read at run time cannot run a Rust migration: `run` refuses before
/// applying anything, even the SQL migrations below it.
#[test]
fn a_rust_migration_read_at_run_time_is_refused_before_anything_is_applied() {
    let folder = common::Folder::new(&[
        (
            "0001_accounts.sql",
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_seed.rs",
            "pub fn up(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> { Ok(()) }\n",
        ),
    ]);
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(&error, Error::NotCompiled { version: 2, file, .. } if file == "0002_seed.rs"),
        "{error:?}"
    );
    assert!(
        schema_objects(&conn).is_empty(),
        "{:?}",
        schema_objects(&conn)
    );
}

/// A dry run of a Rust migration that runs `COMMIT` leaves the file as it
/// was, byte for byte, like any other dry run.
#[test]
fn a_dry_run_of_a_rust_migration_that_commits_changes_nothing() -> migrate::Result<()> {
    let db = Database::new();
    let mut conn = db.open();
    ENDS_ITS_TRANSACTION.run_to(&mut conn, 1)?;
    let before = std::fs::read(db.path()).expect("read the database file");

    let report = ENDS_ITS_TRANSACTION.runner().dry_run(&mut conn)?;

    let (step, error) = report.failure().expect("the Rust migration fails");
    assert_eq!(step.version, 2);
    assert!(
        matches!(error, Error::MigrationFailed { dirty: false, .. }),
        "{error:?}"
    );
    assert_eq!(std::fs::read(db.path()).expect("read it again"), before);
    Ok(())
}
