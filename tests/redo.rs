//! Redo on a real SQLite file: the latest migration's down, then its up
//! again; the rest of the data survives.

mod common;

use common::{Database, Folder, count, rows, schema, tracking_rows};
use migrate::{DEFAULT_TABLE, Direction, Error, EventKind, Irreversible};

fn two() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_tags.up.sql",
            "CREATE TABLE tags (name TEXT PRIMARY KEY);\nINSERT INTO tags VALUES ('default');",
        ),
        ("0002_tags.down.sql", "DROP TABLE tags;"),
    ])
}

#[test]
fn redo_reverts_the_latest_and_applies_it_again() -> migrate::Result<()> {
    let migrations = two().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;
    conn.execute_batch(
        "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');
         INSERT INTO tags VALUES ('mine');",
    )
    .unwrap();
    let users = rows(&conn, "SELECT * FROM users ORDER BY id");
    let schema_before = schema(&conn);
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);
    let events_before = migrations.history(&mut conn)?.len();

    let report = migrations.redo(&mut conn)?.expect("something to redo");

    assert_eq!(
        (report.rolled_back.version, report.rolled_back.name.as_str()),
        (2, "tags")
    );
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [2]);
    assert_eq!(schema(&conn), schema_before);
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    // `tags` was dropped and created again: only its seed row is left.
    assert_eq!(
        count(&conn, "SELECT count(*) FROM tags WHERE name = 'mine'"),
        0
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM tags"), 1);
    assert_eq!(rows(&conn, "SELECT * FROM users ORDER BY id"), users);

    let history = migrations.history(&mut conn)?;
    let new_events: Vec<(EventKind, u64, Direction)> = history[events_before..]
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect();
    assert_eq!(
        new_events,
        [
            (EventKind::RolledBack, 2, Direction::Down),
            (EventKind::Applied, 2, Direction::Up)
        ]
    );
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

#[test]
fn redo_with_nothing_applied_returns_none_and_changes_nothing() -> migrate::Result<()> {
    let migrations = two().migrations();
    let db = Database::new();
    let mut conn = db.open();

    assert!(migrations.redo(&mut conn)?.is_none());
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);

    // Everything applied, then reverted: still nothing to redo, and nothing
    // is applied by asking.
    migrations.run(&mut conn)?;
    migrations.rollback_to(&mut conn, 0)?;
    assert!(migrations.redo(&mut conn)?.is_none());
    assert!(tracking_rows(&conn, DEFAULT_TABLE).is_empty());
    assert!(schema(&conn).is_empty());
    Ok(())
}

#[test]
fn redo_of_a_migration_without_a_down_changes_nothing() -> migrate::Result<()> {
    let folder = Folder::new(&[
        ("0001_users.up.sql", "CREATE TABLE users (id INTEGER);"),
        ("0001_users.down.sql", "DROP TABLE users;"),
        ("0002_seed.sql", "INSERT INTO users VALUES (1);"),
    ]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run(&mut conn)?;
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);
    let events_before = migrations.history(&mut conn)?;

    let error = migrations.redo(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Irreversible { version: 2, reason, .. }
                if matches!(&**reason, Irreversible::NoDown { file, .. } if file == "0002_seed.sql")
        ),
        "{error:?}"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 1, "seeded once");
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    assert_eq!(migrations.history(&mut conn)?, events_before);
    Ok(())
}

/// Redo verifies the whole set before reverting: an edited migration below
/// the latest refuses it, where reverting first would leave the latest
/// rolled back and the run after it refused.
#[test]
fn a_divergent_migration_below_refuses_the_redo_before_anything_changes() -> migrate::Result<()> {
    let folder = two();
    let db = Database::new();
    let mut conn = db.open();
    folder.migrations().run(&mut conn)?;
    folder.write(
        "0001_users.up.sql",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);",
    );
    let schema_before = schema(&conn);
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);

    let error = folder.migrations().redo(&mut conn).unwrap_err();

    assert!(
        matches!(
            &error,
            Error::Verification(migrate::Problem::Divergent { version: 1, .. })
        ),
        "{error:?}"
    );
    assert_eq!(schema(&conn), schema_before);
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    Ok(())
}
