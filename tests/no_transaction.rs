//! `-- migrate:no-transaction` on SQLite, about SQLite itself: a setting
//! stored in the file (`PRAGMA journal_mode = WAL`) changed by such a
//! migration, and the lock file `<database>-<table>-lock` that tells a mark
//! another process is still running under from one cut short. Dirty marks,
//! their refusals and their repair on any engine are in the conformance
//! suite (`tests/conformance/no_transaction.rs`).

mod common;

use common::{Database, Folder, tracking_states};
use migrate::{DEFAULT_TABLE, Error};

const FIRST: (&str, &str) = ("0001_notes.sql", "CREATE TABLE notes (body TEXT);");
const LAST: (&str, &str) = ("0003_tags.sql", "CREATE TABLE tags (name TEXT);");

/// Migration 2 between `notes` and `tags`.
fn folder_with_second(file: &str, sql: &str) -> Folder {
    Folder::new(&[FIRST, (file, sql), LAST])
}

/// `PRAGMA journal_mode = WAL` cannot change the mode inside a transaction;
/// outside one it takes effect and stays with the file.
#[test]
fn a_no_transaction_migration_can_change_the_journal_mode() -> migrate::Result<()> {
    let folder = folder_with_second(
        "0002_wal.sql",
        "-- migrate:no-transaction\nVACUUM;\nPRAGMA journal_mode = WAL;\n",
    );
    let db = Database::new();
    let mut conn = db.open();

    let report = folder.migrations().run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2, 3]);
    let mode: String = db
        .open()
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the pragma took effect");
    Ok(())
}

/// While another process holds the lock of a dirty mark (it is running the
/// migration right now), nothing treats the mark as cut short: `run` waits
/// up to its lock timeout and then says so, and repair refuses to clear it.
/// A lock on another tracking table's file is not this table's.
#[test]
fn a_mark_another_process_still_runs_under_is_in_progress_not_dirty() -> migrate::Result<()> {
    let folder = folder_with_second("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n");
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 1)?;
    // What the running process has done: taken the lock, marked 2 dirty.
    let lock_file = format!("{}-{DEFAULT_TABLE}-lock", db.path().display());
    let held = std::fs::File::create(&lock_file).unwrap();
    held.lock().unwrap();
    conn.execute(
        &format!(
            "INSERT INTO {DEFAULT_TABLE} (version, name, checksum, applied_at, duration_ms, state)
             VALUES (2, 'vacuum', ?1, '2024-01-01T00:00:00.000Z', 0, 'dirty_up')"
        ),
        [migrations.get(2).unwrap().checksum().to_string()],
    )
    .unwrap();

    let started = std::time::Instant::now();
    let waited = migrations
        .runner()
        .lock_timeout(std::time::Duration::from_millis(300))
        .run(&mut conn)
        .unwrap_err();
    assert!(
        matches!(waited, Error::InProgress { version: 2, .. }),
        "{waited:?}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let refused = migrations.runner().repair(&mut conn).unwrap_err();
    assert!(
        matches!(refused, Error::InProgress { version: 2, .. }),
        "{refused:?}"
    );
    assert_eq!(tracking_states(&conn)[1], (2, "dirty_up".to_owned()));

    // Released (the process finished or died): now the mark is cut short.
    drop(held);
    let dirty = migrations.run(&mut conn).unwrap_err();
    assert!(
        matches!(dirty, Error::Dirty { version: 2, .. }),
        "{dirty:?}"
    );
    Ok(())
}
