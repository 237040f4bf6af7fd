//! Repair: accept the checksum of an edited applied migration, clear failed
//! attempts (and dirty marks, see `no_transaction.rs`), and record each
//! change in the history.

mod common;

use common::{Database, Folder, count, tracking_rows};
use migrate::{Checksum, DEFAULT_TABLE, Error, EventKind, Migrations, Problem, RepairAction};
use rusqlite::Connection;

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);\n",
        ),
    ])
}

/// `(version, running_checksum)` of every applied row.
fn running_checksums(conn: &Connection) -> Vec<(i64, String)> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT version, running_checksum FROM {DEFAULT_TABLE}
             WHERE state = 'applied' ORDER BY version"
        ))
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The running checksums a database that applied these migrations from
/// scratch would have.
fn expected_running_checksums(migrations: &Migrations) -> Vec<(i64, String)> {
    migrations
        .iter()
        .map(|m| (m.version() as i64, m.running_checksum().to_string()))
        .collect()
}

/// A database with 1 and 2 applied, then `0001_users.sql` edited (a comment
/// added: same schema, different checksum) and a migration 3 added.
/// Returns the checksum 1 was applied with.
fn edited_after_applying(folder: &Folder, db: &Database) -> migrate::Result<Checksum> {
    let applied_with = folder.migrations().get(1).unwrap().checksum();
    folder.migrations().run(&mut db.open())?;
    folder.write(
        "0001_users.sql",
        "-- users sign in with their email\nCREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n",
    );
    folder.write(
        "0003_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    Ok(applied_with)
}

#[test]
fn repair_accepts_the_checksum_of_an_edited_migration() -> migrate::Result<()> {
    let folder = two();
    let db = Database::new();
    let applied_with = edited_after_applying(&folder, &db)?;
    let migrations = folder.migrations();
    let current = migrations.get(1).unwrap().checksum();
    assert_ne!(applied_with, current);
    let mut conn = db.open();

    let refused = migrations.run(&mut conn);
    assert!(
        matches!(
            &refused,
            Err(Error::Verification(Problem::Divergent { version: 1, .. }))
        ),
        "{refused:?}"
    );

    let report = migrations.runner().repair(&mut conn)?;

    assert_eq!(report.repairs.len(), 1, "{report:?}");
    let repair = &report.repairs[0];
    assert_eq!((repair.version, repair.name.as_str()), (1, "users"));
    assert_eq!(
        repair.action,
        RepairAction::AcceptedChecksum {
            previous: applied_with,
            current
        }
    );
    assert_eq!(
        tracking_rows(&conn, DEFAULT_TABLE)[0].2,
        current.to_string(),
        "the tracking row has the current checksum"
    );

    let report = migrations.run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [3], "the next pending migration");
    let status = migrations.status(&mut conn)?;
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    assert!(status.is_up_to_date());
    Ok(())
}

#[test]
fn after_a_repair_the_running_checksums_are_chained_again() -> migrate::Result<()> {
    // The up-to-date check reads only the latest row's running checksum; a
    // repair that changed only the checksum would leave every later run on
    // the slow path, comparing every row.
    let folder = two();
    let db = Database::new();
    edited_after_applying(&folder, &db)?;
    folder.remove("0003_tags.sql");
    let migrations = folder.migrations();
    let mut conn = db.open();

    migrations.runner().repair(&mut conn)?;

    assert_eq!(
        running_checksums(&conn),
        expected_running_checksums(&migrations)
    );
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());

    // And after the next migration is applied on top.
    folder.write(
        "0003_tags.sql",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY);\n",
    );
    let migrations = folder.migrations();
    assert_eq!(migrations.run(&mut conn)?.applied.len(), 1);
    assert_eq!(
        running_checksums(&conn),
        expected_running_checksums(&migrations)
    );
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

#[test]
fn repair_clears_a_failed_attempt() -> migrate::Result<()> {
    let folder = two();
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    let _ = migrations.run(&mut conn);
    assert_eq!(migrations.status(&mut conn)?.failed.len(), 1);

    let report = migrations.runner().repair(&mut conn)?;

    let repairs: Vec<(u64, &str, &RepairAction)> = report
        .repairs
        .iter()
        .map(|r| (r.version, r.name.as_str(), &r.action))
        .collect();
    assert_eq!(repairs, [(3, "broken", &RepairAction::ClearedFailed)]);
    let versions: Vec<i64> = tracking_rows(&conn, DEFAULT_TABLE)
        .iter()
        .map(|row| row.0)
        .collect();
    assert_eq!(versions, [1, 2], "the failed row is gone");
    let status = migrations.status(&mut conn)?;
    assert!(status.failed.is_empty(), "{:?}", status.failed);
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [3], "still pending");
    Ok(())
}

#[test]
fn repair_of_a_clean_database_changes_nothing() -> migrate::Result<()> {
    let migrations = two().migrations();
    let db = Database::new();
    let mut conn = db.open();

    // Never migrated: nothing to repair, and no tables created.
    let report = migrations.runner().repair(&mut conn)?;
    assert!(report.repairs.is_empty(), "{report:?}");
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);

    // Up to date: nothing to repair, no event recorded.
    migrations.run(&mut conn)?;
    let rows = tracking_rows(&conn, DEFAULT_TABLE);
    let history = migrations.history(&mut conn)?;
    let report = migrations.runner().repair(&mut conn)?;
    assert!(report.repairs.is_empty(), "{report:?}");
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), rows);
    assert_eq!(migrations.history(&mut conn)?, history);
    Ok(())
}

#[test]
fn repair_leaves_a_missing_migration_alone() -> migrate::Result<()> {
    let folder = two();
    let db = Database::new();
    folder.migrations().run(&mut db.open())?;
    folder.remove("0002_posts.sql");
    let migrations = folder.migrations();
    let mut conn = db.open();
    let rows = tracking_rows(&conn, DEFAULT_TABLE);

    let report = migrations.runner().repair(&mut conn)?;

    assert!(report.repairs.is_empty(), "{report:?}");
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), rows);
    let status = migrations.status(&mut conn)?;
    assert!(
        matches!(status.problems[..], [Problem::Missing { version: 2, .. }]),
        "{:?}",
        status.problems
    );
    Ok(())
}

#[test]
fn repairs_are_in_the_history_with_what_changed() -> migrate::Result<()> {
    let folder = two();
    let db = Database::new();
    let applied_with = edited_after_applying(&folder, &db)?;
    folder.remove("0003_tags.sql");
    folder.write("0003_broken.sql", "INSERT INTO nowhere VALUES (1);\n");
    let migrations = folder.migrations();
    let current = migrations.get(1).unwrap().checksum();
    let mut conn = db.open();
    // Accept the edit first so that the broken migration gets to run.
    migrations.runner().repair(&mut conn)?;
    let _ = migrations.run(&mut conn);
    migrations.runner().repair(&mut conn)?;

    let history = migrations.history(&mut conn)?;

    let repaired: Vec<(u64, Option<Checksum>, Option<&str>)> = history
        .iter()
        .filter(|e| e.kind == EventKind::Repaired)
        .map(|e| (e.version, e.checksum, e.detail.as_deref()))
        .collect();
    let accepted =
        format!("accepted the current checksum {current} (was applied with {applied_with})");
    assert_eq!(
        repaired,
        [
            (1, Some(current), Some(accepted.as_str())),
            (3, None, Some("cleared the failed attempt")),
        ]
    );
    for event in history.iter().filter(|e| e.kind == EventKind::Repaired) {
        assert_eq!(event.duration, None);
        assert_eq!(event.name, migrations.get(event.version).unwrap().name());
    }
    Ok(())
}
