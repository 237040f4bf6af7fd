//! Baseline: a database that existed before this tool gets its first
//! migrations recorded as applied without running them; later runs apply
//! only what is above.

mod common;

use common::{Database, Folder, count, schema_objects, tracking_rows, tracking_states};
use migrate::{DEFAULT_TABLE, Direction, Error, EventKind};

/// Five migrations; the first three are what the existing database already
/// has. Running 1..3 on it would fail (their tables exist) or duplicate rows.
fn five() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);",
        ),
        (
            "0003_admin.sql",
            "INSERT INTO users (email) VALUES ('admin@example.com');",
        ),
        (
            "0004_tags.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
        ),
        (
            "0005_post_tags.sql",
            "CREATE TABLE post_tags (post_id INTEGER NOT NULL, tag_id INTEGER NOT NULL);",
        ),
    ])
}

/// A database made by hand, before this tool: the schema of 1..3 and data.
fn existing_database() -> Database {
    let db = Database::new();
    db.open()
        .execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL);
             INSERT INTO users (email) VALUES ('admin@example.com'), ('ann@example.com');
             INSERT INTO posts (user_id) VALUES (2);",
        )
        .unwrap();
    db
}

#[test]
fn baseline_records_migrations_as_applied_without_running_them() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();

    let baselined = migrations.runner().baseline(&mut conn, 3)?;

    let versions: Vec<(u64, &str)> = baselined
        .iter()
        .map(|a| (a.version, a.name.as_str()))
        .collect();
    assert_eq!(versions, [(1, "users"), (2, "posts"), (3, "admin")]);
    for applied in &baselined {
        assert_eq!(
            applied.checksum,
            migrations.get(applied.version).unwrap().checksum()
        );
        assert!(applied.duration.is_zero(), "{applied:?}");
    }
    // Not run: the seed of 3 would have added a third user.
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(schema_objects(&conn), ["table posts", "table users"]);
    assert_eq!(
        tracking_states(&conn),
        [
            (1, "applied".to_owned()),
            (2, "applied".to_owned()),
            (3, "applied".to_owned())
        ]
    );
    // Chained as if they had run, so the up-to-date check stays one row.
    let running: Vec<(i64, String)> = conn
        .prepare(&format!(
            "SELECT version, running_checksum FROM {DEFAULT_TABLE} ORDER BY version"
        ))
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(i64, String)> = migrations
        .iter()
        .take(3)
        .map(|m| (m.version() as i64, m.running_checksum().to_string()))
        .collect();
    assert_eq!(running, expected);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(3));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [4, 5]);
    assert!(status.problems.is_empty(), "{:?}", status.problems);
    Ok(())
}

#[test]
fn a_run_after_a_baseline_applies_only_what_is_above_it() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();
    migrations.runner().baseline(&mut conn, 3)?;

    let report = migrations.run(&mut db.open())?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [4, 5]);
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(
        schema_objects(&conn),
        [
            "table post_tags",
            "table posts",
            "table tags",
            "table users"
        ]
    );
    let status = migrations.status(&mut conn)?;
    assert!(status.is_up_to_date(), "{status:?}");
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    Ok(())
}

#[test]
fn the_history_shows_the_baseline() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();
    migrations.runner().baseline(&mut conn, 3)?;
    migrations.run_to(&mut conn, 4)?;

    let history = migrations.history(&mut conn)?;

    let events: Vec<(EventKind, u64, Direction)> = history
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::Baselined, 1, Direction::Up),
            (EventKind::Baselined, 2, Direction::Up),
            (EventKind::Baselined, 3, Direction::Up),
            (EventKind::Applied, 4, Direction::Up),
        ]
    );
    for event in &history[..3] {
        let migration = migrations.get(event.version).unwrap();
        assert_eq!(event.name, migration.name());
        assert_eq!(event.checksum, Some(migration.checksum()));
        assert_eq!(event.duration, None, "a baselined migration did not run");
        assert_eq!(event.detail, None);
    }
    Ok(())
}

#[test]
fn baseline_is_refused_once_anything_is_applied_and_changes_nothing() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 2)?;
    let rows_before = tracking_rows(&conn, DEFAULT_TABLE);
    let history_before = migrations.history(&mut conn)?;

    let result = migrations.runner().baseline(&mut conn, 3);

    assert!(
        matches!(&result, Err(Error::BaselineRefused { version: 1 })),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("migration 1 is already applied"),
        "{message}"
    );
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), rows_before);
    assert_eq!(migrations.history(&mut conn)?, history_before);
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users"),
        0,
        "3 did not run"
    );
    Ok(())
}

#[test]
fn a_second_baseline_is_refused() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();
    migrations.runner().baseline(&mut conn, 2)?;

    let result = migrations.runner().baseline(&mut conn, 3);

    assert!(
        matches!(&result, Err(Error::BaselineRefused { version: 1 })),
        "{result:?}"
    );
    assert_eq!(tracking_states(&conn).len(), 2);
    Ok(())
}

#[test]
fn baseline_to_an_unknown_version_is_refused_before_touching_the_database() {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();

    for version in [0, 6, 20240131] {
        let result = migrations.runner().baseline(&mut conn, version);
        assert!(
            matches!(&result, Err(Error::UnknownVersion(v)) if *v == version),
            "{version}: {result:?}"
        );
    }
    assert_eq!(
        count(
            &conn,
            &format!("SELECT count(*) FROM sqlite_schema WHERE name LIKE '{DEFAULT_TABLE}%'")
        ),
        0,
        "no tracking table created"
    );
}

#[test]
fn baseline_to_the_latest_version_leaves_nothing_pending() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    let baselined = migrations.runner().baseline(&mut conn, 5)?;

    assert_eq!(baselined.len(), 5);
    assert!(schema_objects(&conn).is_empty(), "nothing ran");
    assert!(migrations.run(&mut conn)?.applied.is_empty());
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    Ok(())
}

#[test]
fn baseline_with_a_custom_table() -> migrate::Result<()> {
    let folder = five();
    let migrations = folder.migrations();
    let db = existing_database();
    let mut conn = db.open();
    let runner = migrations.runner().table("schema_migrations");

    runner.baseline(&mut conn, 3)?;
    let report = runner.run(&mut conn)?;

    assert_eq!(report.applied.len(), 2);
    assert_eq!(tracking_rows(&conn, "schema_migrations").len(), 5);
    assert_eq!(runner.history(&mut conn)?.len(), 5);
    Ok(())
}

#[test]
fn baseline_on_a_dirty_migration_asks_for_a_repair() -> migrate::Result<()> {
    // Nothing is applied, but migration 1 was cut short outside a
    // transaction: the remedy is a repair, not "already applied".
    let folder = Folder::new(&[(
        "0001_broken.sql",
        "-- migrate:no-transaction\nINSERT INTO nowhere VALUES (1);\n",
    )]);
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();
    let _ = migrations.run(&mut conn);
    let rows_before = tracking_rows(&conn, DEFAULT_TABLE);

    let result = migrations.runner().baseline(&mut conn, 1);

    assert!(
        matches!(&result, Err(Error::Dirty { version: 1, .. })),
        "{result:?}"
    );
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), rows_before);
    assert_eq!(rows_before[0].3, "dirty_up");
    Ok(())
}
