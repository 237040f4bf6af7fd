//! Dry runs on a real SQLite file: each pending migration is tried in one
//! transaction that is rolled back, so the file is unchanged byte for byte
//! and nothing is recorded; the report says what a real run would do.

mod common;

use std::path::PathBuf;

use common::{Database, Folder, count, tracking_rows};
use migrate::{DEFAULT_TABLE, DryRunOutcome, DryRunReport, Error, Migrations};
use rusqlite::Connection;

fn all_succeed() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com');",
        ),
        (
            "0003_email.sql",
            "CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

fn third_fails() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com');",
        ),
        (
            "0003_tags.sql",
            "CREATE TABLE tags (name TEXT);\nINSERT INTO nowhere VALUES (1);\n",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

/// The database file's bytes, after checking that no journal or WAL file is
/// left beside it.
fn file_bytes(db: &Database) -> Vec<u8> {
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut leftover = db.path().into_os_string();
        leftover.push(suffix);
        let leftover = PathBuf::from(leftover);
        assert!(!leftover.exists(), "{} is left over", leftover.display());
    }
    std::fs::read(db.path()).expect("read the database file")
}

/// Dry-runs `migrations` on the file and checks that not a byte changed, with
/// the connection still open and after it is closed.
fn dry_run_unchanged(db: &Database, conn: Connection, migrations: &Migrations) -> DryRunReport {
    let mut conn = conn;
    let before = file_bytes(db);
    let report = migrations.runner().dry_run(&mut conn).unwrap();
    assert!(
        file_bytes(db) == before,
        "the file changed with the connection open"
    );
    drop(conn);
    assert!(file_bytes(db) == before, "the file changed once closed");
    report
}

fn outcomes(report: &DryRunReport) -> Vec<(u64, &'static str)> {
    report
        .steps
        .iter()
        .map(|step| {
            let outcome = match step.outcome {
                DryRunOutcome::Ok(_) => "ok",
                DryRunOutcome::Failed(_) => "failed",
                DryRunOutcome::SkippedNoTransaction => "skipped",
                _ => "unknown",
            };
            (step.version, outcome)
        })
        .collect()
}

#[test]
fn on_a_new_file_every_migration_is_tried_and_nothing_is_kept() -> migrate::Result<()> {
    let migrations = all_succeed().migrations();
    let db = Database::new();

    let report = dry_run_unchanged(&db, db.open(), &migrations);

    assert_eq!(
        outcomes(&report),
        [(1, "ok"), (2, "ok"), (3, "ok"), (4, "ok")]
    );
    assert_eq!(report.steps[2].file, "0003_email.sql");
    assert!(report.failure().is_none());
    let mut conn = db.open();
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);
    assert!(migrations.history(&mut conn)?.is_empty());
    assert_eq!(migrations.run(&mut conn)?.applied.len(), 4);
    Ok(())
}

#[test]
fn on_a_file_with_migrations_applied_only_the_pending_ones_are_tried() -> migrate::Result<()> {
    let migrations = all_succeed().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 2)?;
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);
    let history_before = migrations.history(&mut conn)?;

    let report = dry_run_unchanged(&db, conn, &migrations);

    assert_eq!(outcomes(&report), [(3, "ok"), (4, "ok")]);
    let mut conn = db.open();
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    assert_eq!(migrations.history(&mut conn)?, history_before);
    let status = migrations.status(&mut conn)?;
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [3, 4]);
    Ok(())
}

/// The failure of migration 3, as a dry run reports it.
fn assert_third_failed(report: &DryRunReport) {
    let (step, error) = report.failure().expect("a failure");
    assert_eq!((step.version, step.file.as_str()), (3, "0003_tags.sql"));
    assert!(
        matches!(
            error,
            Error::MigrationFailed { version: 3, file, line: Some(2), .. } if file == "0003_tags.sql"
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with("migration 3 (tags) failed in `0003_tags.sql` at line 2")
            && message.contains("no such table: nowhere"),
        "{message}"
    );
}

#[test]
fn on_a_new_file_a_failure_stops_the_dry_run_and_nothing_is_recorded() -> migrate::Result<()> {
    let migrations = third_fails().migrations();
    let db = Database::new();

    let report = dry_run_unchanged(&db, db.open(), &migrations);

    assert_eq!(outcomes(&report), [(1, "ok"), (2, "ok"), (3, "failed")]);
    assert_third_failed(&report);
    let mut conn = db.open();
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);
    assert!(migrations.history(&mut conn)?.is_empty());
    Ok(())
}

#[test]
fn on_a_file_with_migrations_applied_a_failure_is_not_recorded() -> migrate::Result<()> {
    let migrations = third_fails().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 1)?;
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);
    let history_before = migrations.history(&mut conn)?;

    let report = dry_run_unchanged(&db, conn, &migrations);

    assert_eq!(outcomes(&report), [(2, "ok"), (3, "failed")]);
    assert_third_failed(&report);
    let mut conn = db.open();
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    assert_eq!(migrations.history(&mut conn)?, history_before);
    assert!(migrations.status(&mut conn)?.failed.is_empty());
    Ok(())
}

#[test]
fn a_migration_outside_a_transaction_is_skipped_and_later_ones_tried() -> migrate::Result<()> {
    let folder = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ]);
    let migrations = folder.migrations();
    assert!(migrations.get(2).unwrap().up_no_transaction());
    let db = Database::new();
    let mut conn = db.open();

    let report = dry_run_unchanged(&db, db.open(), &migrations);

    assert_eq!(outcomes(&report), [(1, "ok"), (2, "skipped"), (3, "ok")]);
    assert!(report.failure().is_none());
    assert!(migrations.history(&mut conn)?.is_empty());
    Ok(())
}
