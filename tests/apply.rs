//! Applying migrations to a real SQLite file: tracking rows, idempotence,
//! status, options.

mod common;

use std::time::Duration;

use common::{Database, Folder, count, schema_objects, tracking_rows};
use migrate::{DEFAULT_TABLE, Error};

fn three() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);",
        ),
        (
            "0002_posts.sql",
            "-- posts belong to users\nCREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id));\nCREATE INDEX posts_user ON posts (user_id);",
        ),
        (
            "0003_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');",
        ),
    ])
}

#[test]
fn applies_every_pending_migration_and_records_it() -> migrate::Result<()> {
    let folder = three();
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    let report = migrations.run(&mut conn)?;

    let versions: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(report.applied[1].name, "posts");
    assert_eq!(
        schema_objects(&conn),
        ["index posts_user", "table posts", "table users"]
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 2);

    let rows = tracking_rows(&conn, DEFAULT_TABLE);
    let expected: Vec<_> = migrations
        .iter()
        .map(|m| {
            (
                m.version() as i64,
                m.name().to_owned(),
                m.checksum().to_string(),
                "applied".to_owned(),
            )
        })
        .collect();
    assert_eq!(rows, expected);

    // applied_at is UTC RFC 3339 with milliseconds, e.g. 2024-01-31T12:00:00.123Z
    let applied_at = &report.applied[0].applied_at;
    assert_eq!(applied_at.len(), 24, "{applied_at}");
    assert!(
        applied_at.ends_with('Z') && applied_at.as_bytes()[10] == b'T',
        "{applied_at}"
    );
    Ok(())
}

#[test]
fn a_second_run_from_a_new_connection_applies_nothing() -> migrate::Result<()> {
    let folder = three();
    let migrations = folder.migrations();
    let db = Database::new();
    migrations.run(&mut db.open())?;

    let mut conn = db.open();
    let report = migrations.run(&mut conn)?;

    assert!(report.applied.is_empty());
    assert_eq!(
        count(&conn, "SELECT count(*) FROM users"),
        2,
        "seed ran once"
    );
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(3));
    assert_eq!(status.applied.len(), 3);
    assert!(status.is_up_to_date());
    Ok(())
}

#[test]
fn a_migration_added_later_is_applied_alone() -> migrate::Result<()> {
    let folder = three();
    let db = Database::new();
    folder.migrations().run(&mut db.open())?;

    folder.write(
        "0004_email_index.sql",
        "CREATE UNIQUE INDEX users_email ON users (email);",
    );
    let report = folder.migrations().run(&mut db.open())?;

    let versions: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(versions, [4]);
    assert!(schema_objects(&db.open()).contains(&"index users_email".to_owned()));
    Ok(())
}

#[test]
fn status_of_a_new_database_lists_everything_pending_and_writes_nothing() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = Database::new();
    let mut conn = db.open();

    let status = migrations.status(&mut conn)?;

    assert_eq!(status.current_version, None);
    let pending: Vec<(u64, &str)> = status
        .pending
        .iter()
        .map(|p| (p.version, p.name.as_str()))
        .collect();
    assert_eq!(pending, [(1, "users"), (2, "posts"), (3, "seed")]);
    assert!(status.applied.is_empty() && status.failed.is_empty() && status.problems.is_empty());
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);
    Ok(())
}

#[test]
fn the_tracking_table_name_can_be_changed_and_is_checked() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = Database::new();
    let mut conn = db.open();

    migrations
        .runner()
        .table("schema_migrations")
        .run(&mut conn)?;
    assert_eq!(tracking_rows(&conn, "schema_migrations").len(), 3);
    assert_eq!(
        count(
            &conn,
            &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{DEFAULT_TABLE}'")
        ),
        0
    );

    for bad in ["", "1abc", "x; DROP TABLE users", "a\"b", "naïve"] {
        let result = migrations.runner().table(bad).run(&mut conn);
        assert!(
            matches!(&result, Err(Error::InvalidTableName(name)) if name == bad),
            "{bad:?}: {result:?}"
        );
    }
    Ok(())
}

#[test]
fn refuses_a_connection_inside_a_transaction() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = Database::new();
    let mut conn = db.open();
    conn.execute_batch("BEGIN; CREATE TABLE mine (x);").unwrap();

    let result = migrations.run(&mut conn);

    assert!(matches!(result, Err(Error::TransactionOpen)), "{result:?}");
    conn.execute_batch("COMMIT").unwrap();
    assert_eq!(schema_objects(&conn), ["table mine"], "nothing applied");
    Ok(())
}

#[test]
fn restores_the_connections_busy_timeout() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = Database::new();
    let mut conn = db.open();
    conn.busy_timeout(Duration::from_millis(1234)).unwrap();

    migrations
        .runner()
        .lock_timeout(Duration::from_secs(3))
        .run(&mut conn)?;

    assert_eq!(count(&conn, "PRAGMA busy_timeout"), 1234);
    Ok(())
}

#[test]
fn an_up_to_date_read_only_database_runs_without_writing() -> migrate::Result<()> {
    let migrations = three().migrations();
    let db = Database::new();
    migrations.run(&mut db.open())?;

    let mut read_only = rusqlite::Connection::open_with_flags(
        db.path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let report = migrations.run(&mut read_only)?;

    assert!(report.applied.is_empty());
    Ok(())
}
