//! `-- migrate:no-transaction`: a migration that runs outside a transaction,
//! for what the engine refuses inside one (`VACUUM` on SQLite and
//! PostgreSQL). It is marked dirty while it runs; if it fails part way the
//! mark stays and every later run, rollback and baseline refuses with
//! `Error::Dirty` until a repair.

use migrate::{DEFAULT_TABLE, Direction, Error, EventKind, RepairAction};

use super::support::{applied_versions, snapshot, states, versions};
use super::{Folder, Harness, Message};

const FIRST: (&str, &str) = ("0001_notes.sql", "CREATE TABLE notes (body TEXT);");
const LAST: (&str, &str) = ("0003_tags.sql", "CREATE TABLE tags (name TEXT);");

/// Migration 2 between `notes` and `tags`.
fn folder_with_second(file: &str, sql: &str) -> Folder {
    Folder::new(&[FIRST, (file, sql), LAST])
}

/// Checks that `result` is the refusal of dirty migration 2 (partial), cut
/// short in its up, with a recorded error containing `expected_error` (or
/// none recorded).
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

pub fn vacuum_fails_inside_a_transaction<H: Harness>() -> migrate::Result<()> {
    // Without the directive, the same file fails: the case below proves the
    // directive, not a lenient engine.
    let folder = folder_with_second("0002_vacuum.sql", "VACUUM;\n");
    let db = H::new_database();
    let mut conn = db.connect();

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
            .contains(&H::message(Message::VacuumInTransaction)),
        "{error}"
    );
    Ok(())
}

pub fn a_no_transaction_migration_runs_outside_a_transaction_and_is_applied<H: Harness>()
-> migrate::Result<()> {
    let folder = folder_with_second("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n");
    let migrations = folder.migrations();
    let flags: Vec<bool> = migrations.iter().map(|m| m.up_no_transaction()).collect();
    assert_eq!(flags, [false, true, false], "the directive reaches it");
    let db = H::new_database();
    let mut conn = db.connect();

    let report = migrations.run(&mut conn)?;

    assert_eq!(versions(&report.applied), [1, 2, 3]);
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "applied"), (3, "applied")]
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
        "-- migrate:no-transaction\nCREATE TABLE a (x INTEGER);\nINSERT INTO nowhere VALUES (1);\n",
    )
}

pub fn a_failure_part_way_leaves_the_migration_dirty<H: Harness>() -> migrate::Result<()> {
    let folder = partial();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();

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
    assert_eq!(H::objects(&mut conn), ["table a", "table notes"]);
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "dirty_up")]
    );

    let status = migrations.status(&mut conn)?;
    assert_eq!(status.dirty.len(), 1);
    let dirty = &status.dirty[0];
    assert_eq!(
        (dirty.version, dirty.name.as_str(), dirty.direction),
        (2, "partial", Direction::Up)
    );
    let recorded = dirty.error.as_deref().expect("the error is recorded");
    let message = H::message(Message::NoSuchTable("nowhere"));
    assert!(recorded.contains(&message), "{recorded}");
    assert!(!status.is_up_to_date());
    Ok(())
}

pub fn a_dirty_migration_refuses_run_rollback_and_baseline_and_changes_nothing<H: Harness>()
-> migrate::Result<()> {
    // Migration 1 has a down, so that only the dirty mark stops a rollback.
    let folder = partial();
    folder.remove("0001_notes.sql");
    folder.write("0001_notes.up.sql", FIRST.1);
    folder.write("0001_notes.down.sql", "DROP TABLE notes;");
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    let _ = migrations.run(&mut conn);
    let before = snapshot::<H>(&migrations, &mut conn);
    let message = H::message(Message::NoSuchTable("nowhere"));

    assert_dirty(migrations.run(&mut conn), Some(&message));
    assert_eq!(
        snapshot::<H>(&migrations, &mut conn),
        before,
        "run changed nothing"
    );

    assert_dirty(migrations.rollback(&mut conn, 1), Some(&message));
    assert_eq!(
        snapshot::<H>(&migrations, &mut conn),
        before,
        "rollback changed nothing"
    );

    assert_dirty(migrations.runner().baseline(&mut conn, 1), Some(&message));
    assert_eq!(
        snapshot::<H>(&migrations, &mut conn),
        before,
        "baseline changed nothing"
    );

    // A fresh connection, as after a restart, is refused the same way.
    assert_dirty(migrations.run(&mut db.connect()), Some(&message));
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    Ok(())
}

pub fn after_a_repair_and_a_fix_a_run_completes<H: Harness>() -> migrate::Result<()> {
    let folder = partial();
    let db = H::new_database();
    let mut conn = db.connect();
    let _ = folder.migrations().run(&mut conn);

    let report = folder.migrations().runner().repair(&mut conn)?;

    let repairs: Vec<(u64, &str, &RepairAction)> = report
        .repairs
        .iter()
        .map(|r| (r.version, r.name.as_str(), &r.action))
        .collect();
    assert_eq!(repairs, [(2, "partial", &RepairAction::ClearedDirty)]);
    assert_eq!(
        states::<H>(&folder.migrations(), &mut conn),
        [(1, "applied")]
    );

    // Undo by hand what ran, and fix the file.
    H::execute(&mut conn, "DROP TABLE a;");
    folder.write(
        "0002_partial.sql",
        "-- migrate:no-transaction\nCREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n",
    );
    let migrations = folder.migrations();
    let report = migrations.run(&mut conn)?;

    assert_eq!(versions(&report.applied), [2, 3]);
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM a"), 1);
    let status = migrations.status(&mut conn)?;
    assert!(
        status.dirty.is_empty() && status.is_up_to_date(),
        "{status:?}"
    );
    Ok(())
}

/// About the tracking table itself: the row a process killed while running
/// the migration leaves behind, written by hand.
pub fn a_process_stopped_mid_migration_leaves_a_dirty_mark_without_an_error<H: Harness>()
-> migrate::Result<()> {
    let folder = partial();
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run_to(&mut conn, 1)?;
    // What the runner writes before a no-transaction migration starts; a
    // process killed while running it never records an error.
    H::execute(
        &mut conn,
        &format!(
            "INSERT INTO {DEFAULT_TABLE}
                 (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
             VALUES (2, 'partial', '{}', NULL, '2024-01-31T12:00:00.123Z', 0, 'dirty_up', NULL)",
            migrations.get(2).unwrap().checksum()
        ),
    );
    let before = snapshot::<H>(&migrations, &mut conn);

    let result = migrations.run(&mut conn);

    let message = result.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(
        message.contains("the process running it stopped"),
        "{message}"
    );
    assert_dirty(result, None);
    assert_eq!(snapshot::<H>(&migrations, &mut conn), before);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.dirty.len(), 1);
    assert_eq!(status.dirty[0].error, None);
    assert_eq!(status.dirty[0].started_at, "2024-01-31T12:00:00.123Z");
    Ok(())
}

pub fn a_no_transaction_down_runs_outside_a_transaction<H: Harness>() -> migrate::Result<()> {
    let folder = Folder::new(&[
        FIRST,
        ("0002_vacuum.up.sql", "CREATE TABLE big (x INTEGER);"),
        (
            "0002_vacuum.down.sql",
            "-- migrate:no-transaction\nDROP TABLE big;\nVACUUM;\n",
        ),
    ]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
    migrations.run(&mut conn)?;

    let report = migrations.rollback(&mut conn, 1)?;

    assert_eq!(report.rolled_back.len(), 1);
    assert_eq!(H::objects(&mut conn), ["table notes"]);
    assert_eq!(applied_versions::<H>(&migrations, &mut conn), [1]);
    Ok(())
}

pub fn a_failed_no_transaction_down_leaves_the_migration_dirty<H: Harness>() -> migrate::Result<()>
{
    let folder = Folder::new(&[
        FIRST,
        ("0002_partial.up.sql", "CREATE TABLE big (x INTEGER);"),
        (
            "0002_partial.down.sql",
            "-- migrate:no-transaction\nDROP TABLE big;\nINSERT INTO nowhere VALUES (1);\n",
        ),
    ]);
    let migrations = folder.migrations();
    let db = H::new_database();
    let mut conn = db.connect();
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
    assert_eq!(H::objects(&mut conn), ["table notes"], "the drop stayed");
    assert_eq!(
        states::<H>(&migrations, &mut conn),
        [(1, "applied"), (2, "dirty_down")]
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
        (EventKind::Repaired, 2, Direction::Down)
    );
    assert_eq!(states::<H>(&migrations, &mut conn), [(1, "applied")]);
    Ok(())
}
