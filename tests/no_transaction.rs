//! `-- migrate:no-transaction`: a migration that runs outside a transaction,
//! for what SQLite refuses inside one. It is marked dirty while it runs; if
//! it fails part way the mark stays and every later run, rollback and
//! baseline refuses until a repair.

mod common;

use common::{Database, Folder, count, schema_objects, tracking_states};
use migrate::{DEFAULT_TABLE, Direction, DryRunOutcome, Error, RepairAction};
use rusqlite::Connection;
use rusqlite::types::Value;

const FIRST: (&str, &str) = ("0001_notes.sql", "CREATE TABLE notes (body TEXT);");
const LAST: (&str, &str) = ("0003_tags.sql", "CREATE TABLE tags (name TEXT);");

/// Migration 2 between `notes` and `tags`.
fn folder_with_second(file: &str, sql: &str) -> Folder {
    Folder::new(&[FIRST, (file, sql), LAST])
}

/// Everything a refused action must leave alone: the schema (the tracking
/// table and the history included) and every row of both.
fn snapshot(conn: &Connection) -> Vec<Vec<Value>> {
    let mut all = Vec::new();
    for sql in [
        "SELECT type, name, sql FROM sqlite_schema ORDER BY type, name",
        &format!("SELECT * FROM {DEFAULT_TABLE} ORDER BY version"),
        &format!("SELECT * FROM {DEFAULT_TABLE}_events ORDER BY id"),
    ] {
        all.extend(common::rows(conn, sql));
    }
    all
}

fn assert_dirty(result: Result<impl std::fmt::Debug, Error>, expected_error: Option<&str>) {
    match result {
        Err(Error::Dirty {
            version,
            name,
            direction,
            error,
        }) => {
            assert_eq!(
                (version, name.as_str(), direction),
                (2, "partial", Direction::Up)
            );
            match expected_error {
                Some(expected) => {
                    let error = error.expect("the recorded error");
                    assert!(error.contains(expected), "{error}");
                }
                None => assert_eq!(error, None),
            }
        }
        other => panic!("expected Error::Dirty, got {other:?}"),
    }
}

#[test]
fn the_directive_reaches_the_migration() {
    let folder = folder_with_second("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n");
    let migrations = folder.migrations();

    let flags: Vec<bool> = migrations.iter().map(|m| m.up_no_transaction()).collect();

    assert_eq!(flags, [false, true, false]);
}

#[test]
fn vacuum_fails_inside_a_transaction() {
    // Without the directive, the same file fails: the test below proves the
    // directive, not a lenient SQLite.
    let folder = folder_with_second("0002_vacuum.sql", "VACUUM;\n");
    let db = Database::new();
    let mut conn = db.open();

    let error = folder.migrations().run(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::MigrationFailed {
                version: 2,
                dirty: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("cannot VACUUM from within a transaction"),
        "{error}"
    );
}

#[test]
fn a_no_transaction_migration_runs_outside_a_transaction_and_is_applied() -> migrate::Result<()> {
    let folder = folder_with_second(
        "0002_vacuum.sql",
        "-- migrate:no-transaction\nVACUUM;\nPRAGMA journal_mode = WAL;\n",
    );
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    let report = migrations.run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2, 3]);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the pragma took effect");
    assert_eq!(
        tracking_states(&conn),
        [
            (1, "applied".to_owned()),
            (2, "applied".to_owned()),
            (3, "applied".to_owned())
        ]
    );
    let status = migrations.status(&mut conn)?;
    assert!(status.dirty.is_empty(), "{:?}", status.dirty);
    assert!(status.is_up_to_date());
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

fn partial() -> Folder {
    folder_with_second(
        "0002_partial.sql",
        "-- migrate:no-transaction\nCREATE TABLE a (x);\nINSERT INTO nowhere VALUES (1);\n",
    )
}

#[test]
fn a_failure_part_way_leaves_the_migration_dirty() -> migrate::Result<()> {
    let folder = partial();
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    let error = migrations.run(&mut conn).unwrap_err();

    let Error::MigrationFailed {
        version,
        dirty,
        line,
        ..
    } = &error
    else {
        panic!("expected MigrationFailed, got {error:?}");
    };
    assert_eq!((*version, *dirty, *line), (2, true, Some(3)));
    assert!(error.to_string().contains("marked dirty"), "{error}");
    // Its first statement stayed; nothing after it ran.
    assert_eq!(schema_objects(&conn), ["table a", "table notes"]);
    assert_eq!(
        tracking_states(&conn),
        [(1, "applied".to_owned()), (2, "dirty_up".to_owned())]
    );

    let status = migrations.status(&mut conn)?;
    assert_eq!(status.dirty.len(), 1);
    let dirty = &status.dirty[0];
    assert_eq!(
        (dirty.version, dirty.name.as_str(), dirty.direction),
        (2, "partial", Direction::Up)
    );
    let recorded = dirty.error.as_deref().expect("the error is recorded");
    assert!(recorded.contains("no such table: nowhere"), "{recorded}");
    assert!(!status.is_up_to_date());
    Ok(())
}

#[test]
fn a_dirty_migration_refuses_run_rollback_and_baseline_and_changes_nothing() -> migrate::Result<()>
{
    // Migration 1 has a down, so that only the dirty mark stops a rollback.
    let folder = partial();
    folder.remove("0001_notes.sql");
    folder.write("0001_notes.up.sql", FIRST.1);
    folder.write("0001_notes.down.sql", "DROP TABLE notes;");
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    let _ = migrations.run(&mut conn);
    let before = snapshot(&conn);

    assert_dirty(migrations.run(&mut conn), Some("no such table: nowhere"));
    assert_eq!(snapshot(&conn), before, "run changed nothing");

    assert_dirty(
        migrations.rollback(&mut conn, 1),
        Some("no such table: nowhere"),
    );
    assert_eq!(snapshot(&conn), before, "rollback changed nothing");

    assert_dirty(
        migrations.runner().baseline(&mut conn, 1),
        Some("no such table: nowhere"),
    );
    assert_eq!(snapshot(&conn), before, "baseline changed nothing");

    // A fresh connection, as after a restart, is refused the same way.
    assert_dirty(
        migrations.run(&mut db.open()),
        Some("no such table: nowhere"),
    );
    assert_eq!(snapshot(&conn), before);
    Ok(())
}

#[test]
fn after_a_repair_and_a_fix_a_run_completes() -> migrate::Result<()> {
    let folder = partial();
    let db = Database::new();
    let mut conn = db.open();
    let _ = folder.migrations().run(&mut conn);

    let report = folder.migrations().runner().repair(&mut conn)?;

    let repairs: Vec<(u64, &str, &RepairAction)> = report
        .repairs
        .iter()
        .map(|r| (r.version, r.name.as_str(), &r.action))
        .collect();
    assert_eq!(repairs, [(2, "partial", &RepairAction::ClearedDirty)]);
    assert_eq!(tracking_states(&conn), [(1, "applied".to_owned())]);

    // Undo by hand what ran, and fix the file.
    conn.execute_batch("DROP TABLE a;").unwrap();
    folder.write(
        "0002_partial.sql",
        "-- migrate:no-transaction\nCREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n",
    );
    let migrations = folder.migrations();
    let report = migrations.run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [2, 3]);
    assert_eq!(count(&conn, "SELECT count(*) FROM a"), 1);
    let status = migrations.status(&mut conn)?;
    assert!(
        status.dirty.is_empty() && status.is_up_to_date(),
        "{status:?}"
    );
    Ok(())
}

#[test]
fn a_process_stopped_mid_migration_leaves_a_dirty_mark_without_an_error() -> migrate::Result<()> {
    let folder = partial();
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 1)?;
    // What `mark_dirty` writes before a no-transaction migration starts; a
    // process killed while running it never records an error.
    conn.execute(
        &format!(
            "INSERT INTO {DEFAULT_TABLE}
                 (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
             VALUES (2, 'partial', ?1, NULL, '2024-01-31T12:00:00.123Z', 0, 'dirty_up', NULL)"
        ),
        [migrations.get(2).unwrap().checksum().to_string()],
    )
    .unwrap();
    let before = snapshot(&conn);

    let result = migrations.run(&mut conn);

    let message = result.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(
        message.contains("the process running it stopped"),
        "{message}"
    );
    assert_dirty(result, None);
    assert_eq!(snapshot(&conn), before);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.dirty.len(), 1);
    assert_eq!(status.dirty[0].error, None);
    assert_eq!(status.dirty[0].started_at, "2024-01-31T12:00:00.123Z");
    Ok(())
}

#[test]
fn a_no_transaction_down_runs_outside_a_transaction() -> migrate::Result<()> {
    let folder = Folder::new(&[
        FIRST,
        ("0002_vacuum.up.sql", "CREATE TABLE big (x);"),
        (
            "0002_vacuum.down.sql",
            "-- migrate:no-transaction\nDROP TABLE big;\nVACUUM;\n",
        ),
    ]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;

    let report = migrations.rollback(&mut conn, 1)?;

    assert_eq!(report.rolled_back.len(), 1);
    assert_eq!(schema_objects(&conn), ["table notes"]);
    assert_eq!(tracking_states(&conn), [(1, "applied".to_owned())]);
    Ok(())
}

#[test]
fn a_failed_no_transaction_down_leaves_the_migration_dirty() -> migrate::Result<()> {
    let folder = Folder::new(&[
        FIRST,
        ("0002_partial.up.sql", "CREATE TABLE big (x);"),
        (
            "0002_partial.down.sql",
            "-- migrate:no-transaction\nDROP TABLE big;\nDROP TABLE nowhere;\n",
        ),
    ]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;

    let error = migrations.rollback(&mut conn, 1).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::MigrationFailed {
                version: 2,
                direction: Direction::Down,
                dirty: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(schema_objects(&conn), ["table notes"], "the drop stayed");
    assert_eq!(
        tracking_states(&conn),
        [(1, "applied".to_owned()), (2, "dirty_down".to_owned())]
    );
    let refused = migrations.run(&mut conn);
    assert!(
        matches!(
            &refused,
            Err(Error::Dirty {
                version: 2,
                direction: Direction::Down,
                error: Some(_),
                ..
            })
        ),
        "{refused:?}"
    );
    let message = refused.unwrap_err().to_string();
    assert!(
        message
            .ends_with("Complete its down by hand, then run repair: it then counts as not applied"),
        "{message}"
    );

    // The down is completed by hand (its table is already gone); repair
    // clears the mark as a cut-short down, and 2 counts as not applied.
    let repairs = migrations.runner().repair(&mut conn)?.repairs;
    assert_eq!(repairs.len(), 1);
    assert_eq!(
        (repairs[0].version, repairs[0].direction, &repairs[0].action),
        (2, Direction::Down, &RepairAction::ClearedDirty)
    );
    let event = migrations
        .history(&mut conn)?
        .pop()
        .expect("the repair event");
    assert_eq!(
        (event.kind, event.version, event.direction),
        (migrate::EventKind::Repaired, 2, Direction::Down)
    );
    assert_eq!(tracking_states(&conn), [(1, "applied".to_owned())]);
    Ok(())
}

#[test]
fn a_grouped_run_refuses_a_no_transaction_migration_before_applying_anything() {
    let folder = folder_with_second("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n");
    let db = Database::new();
    let mut conn = db.open();

    let result = folder.migrations().runner().grouped(true).run(&mut conn);

    assert!(
        matches!(&result, Err(Error::NoTransactionInGroup { version: 2, .. })),
        "{result:?}"
    );
    assert!(schema_objects(&conn).is_empty(), "nothing applied");
}

#[test]
fn a_dry_run_skips_a_no_transaction_migration_and_tries_the_rest() -> migrate::Result<()> {
    let folder = folder_with_second("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n");
    let db = Database::new();
    let mut conn = db.open();

    let report = folder.migrations().runner().dry_run(&mut conn)?;

    let outcomes: Vec<(u64, &str)> = report
        .steps
        .iter()
        .map(|step| {
            let outcome = match step.outcome {
                DryRunOutcome::Ok(_) => "ok",
                DryRunOutcome::SkippedNoTransaction => "skipped",
                _ => "failed",
            };
            (step.version, outcome)
        })
        .collect();
    assert_eq!(outcomes, [(1, "ok"), (2, "skipped"), (3, "ok")]);
    assert!(schema_objects(&conn).is_empty());
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
