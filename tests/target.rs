//! A target version on a real SQLite file: apply up to and including it,
//! then the rest; an unknown target applies nothing; a target below the
//! current version applies nothing.

mod common;

use common::{Database, Folder, count, schema_objects, tracking_rows};
use migrate::{DEFAULT_TABLE, Error};
use rusqlite::Connection;

fn four() -> Folder {
    Folder::new(&[
        ("0001_users.sql", "CREATE TABLE users (id INTEGER);"),
        ("0002_posts.sql", "CREATE TABLE posts (id INTEGER);"),
        ("0003_tags.sql", "CREATE TABLE tags (id INTEGER);"),
        ("0004_notes.sql", "CREATE TABLE notes (id INTEGER);"),
    ])
}

fn applied_versions(conn: &Connection) -> Vec<i64> {
    tracking_rows(conn, DEFAULT_TABLE)
        .into_iter()
        .map(|row| row.0)
        .collect()
}

#[test]
fn run_to_applies_up_to_and_including_the_target_then_run_applies_the_rest() -> migrate::Result<()>
{
    let migrations = four().migrations();
    let db = Database::new();
    let mut conn = db.open();

    let report = migrations.run_to(&mut conn, 2)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2]);
    assert_eq!(schema_objects(&conn), ["table posts", "table users"]);
    assert_eq!(applied_versions(&conn), [1, 2]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(2));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [3, 4]);

    let report = migrations.run(&mut conn)?;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [3, 4]);
    assert_eq!(applied_versions(&conn), [1, 2, 3, 4]);
    Ok(())
}

#[test]
fn a_runner_with_a_target_stops_there() -> migrate::Result<()> {
    let migrations = four().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 1)?;

    let report = migrations.runner().target(3).run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [2, 3]);
    assert_eq!(applied_versions(&conn), [1, 2, 3]);
    assert_eq!(
        schema_objects(&conn),
        ["table posts", "table tags", "table users"]
    );
    Ok(())
}

#[test]
fn a_target_not_in_the_set_applies_nothing() {
    // Timestamp versions: 20240102000000 lies between two of them.
    let folder = Folder::new(&[
        (
            "20240101000000_users.sql",
            "CREATE TABLE users (id INTEGER);",
        ),
        (
            "20240103000000_posts.sql",
            "CREATE TABLE posts (id INTEGER);",
        ),
    ]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    for target in [20240102000000, 20240104000000, 0] {
        let error = migrations.run_to(&mut conn, target).unwrap_err();
        assert!(
            matches!(error, Error::UnknownVersion(v) if v == target),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("version {target} is not a migration of this set")
        );
        let error = migrations
            .runner()
            .target(target)
            .run(&mut conn)
            .unwrap_err();
        assert!(matches!(error, Error::UnknownVersion(_)), "{error:?}");
    }
    // Not even the tracking table.
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);
}

#[test]
fn a_target_at_or_below_the_current_version_applies_nothing() -> migrate::Result<()> {
    let migrations = four().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 3)?;
    let tracking_before = tracking_rows(&conn, DEFAULT_TABLE);
    let events_before = migrations.history(&mut conn)?;

    for target in [1, 3] {
        let report = migrations.run_to(&mut conn, target)?;
        assert!(report.applied.is_empty(), "target {target}: {report:?}");
    }

    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), tracking_before);
    assert_eq!(migrations.history(&mut conn)?, events_before);
    assert_eq!(
        schema_objects(&conn),
        ["table posts", "table tags", "table users"],
        "nothing reverted either"
    );
    Ok(())
}
