//! Grouped runs on a real SQLite file: all pending migrations in one
//! transaction, so a failure in the last one leaves none of them applied.

mod common;

use common::{Database, Folder, count, rows, schema, tracking_rows, tracking_states};
use migrate::{DEFAULT_TABLE, Direction, Error, EventKind, Migrations};
use rusqlite::Connection;

fn four_with_last(last: (&str, &str)) -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com'), ('b@example.com');",
        ),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id));",
        ),
        last,
    ])
}

fn failing_last() -> Folder {
    four_with_last((
        "0004_index.sql",
        "CREATE INDEX posts_user ON posts (user_id);\nINSERT INTO nowhere VALUES (1);\n",
    ))
}

fn new_events(
    migrations: &Migrations,
    conn: &mut Connection,
    since: usize,
) -> Vec<(EventKind, u64, Direction)> {
    migrations.history(conn).unwrap()[since..]
        .iter()
        .map(|e| (e.kind, e.version, e.direction))
        .collect()
}

/// Runs the group whose last migration fails, checks the error names it and
/// that the history gained its failure and nothing else.
fn run_the_failing_group(migrations: &Migrations, conn: &mut Connection) {
    let events_before = migrations.history(conn).unwrap().len();

    let error = migrations.runner().grouped(true).run(conn).unwrap_err();

    let Error::MigrationFailed {
        version: 4,
        file,
        direction: Direction::Up,
        grouped: true,
        line: Some(2),
        ..
    } = &error
    else {
        panic!("expected migration 4 to fail, got {error:?}");
    };
    assert_eq!(file, "0004_index.sql");
    let message = error.to_string();
    assert!(
        message.starts_with("migration 4 (index) failed in `0004_index.sql` at line 2")
            && message
                .ends_with("the whole group was rolled back: none of its migrations is applied"),
        "{message}"
    );
    assert_eq!(
        new_events(migrations, conn, events_before),
        [(EventKind::Failed, 4, Direction::Up)],
        "no applied event"
    );
}

#[test]
fn a_failure_in_the_last_migration_leaves_a_new_database_empty() -> migrate::Result<()> {
    let migrations = failing_last().migrations();
    let db = Database::new();
    let mut conn = db.open();

    run_the_failing_group(&migrations, &mut conn);

    assert!(schema(&conn).is_empty(), "{:?}", schema(&conn));
    // Of the group, only the failed attempt of 4 is recorded.
    assert_eq!(tracking_states(&conn), [(4, "failed".to_owned())]);
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, None);
    assert_eq!(status.pending.len(), 4);
    Ok(())
}

#[test]
fn a_failure_in_the_last_migration_leaves_the_database_as_before() -> migrate::Result<()> {
    let migrations = failing_last().migrations();
    let db = Database::new();
    let mut conn = db.open();
    migrations.run_to(&mut conn, 1)?;
    conn.execute_batch("INSERT INTO users (email) VALUES ('existing@example.com');")
        .unwrap();
    let schema_before = schema(&conn);
    let users_before = rows(&conn, "SELECT * FROM users ORDER BY id");
    let tracking_before = rows(&conn, &format!("SELECT * FROM {DEFAULT_TABLE}"));

    run_the_failing_group(&migrations, &mut conn);

    assert_eq!(schema(&conn), schema_before);
    assert_eq!(
        rows(&conn, "SELECT * FROM users ORDER BY id"),
        users_before,
        "the seed of 2 is gone with the rest"
    );
    assert_eq!(
        rows(
            &conn,
            &format!("SELECT * FROM {DEFAULT_TABLE} WHERE state = 'applied'")
        ),
        tracking_before
    );
    assert_eq!(
        tracking_states(&conn),
        [(1, "applied".to_owned()), (4, "failed".to_owned())]
    );
    let status = migrations.status(&mut conn)?;
    assert_eq!(status.current_version, Some(1));
    let pending: Vec<u64> = status.pending.iter().map(|p| p.version).collect();
    assert_eq!(pending, [2, 3, 4]);
    Ok(())
}

#[test]
fn a_grouped_run_applies_every_pending_migration() -> migrate::Result<()> {
    let folder = four_with_last((
        "0004_index.sql",
        "CREATE INDEX posts_user ON posts (user_id);",
    ));
    let migrations = folder.migrations();
    let db = Database::new();
    let mut conn = db.open();

    let report = migrations.runner().grouped(true).run(&mut conn)?;

    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [1, 2, 3, 4]);
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
    assert_eq!(tracking_rows(&conn, DEFAULT_TABLE), expected);
    assert_eq!(count(&conn, "SELECT count(*) FROM users"), 2);
    assert_eq!(
        new_events(&migrations, &mut conn, 0),
        (1..=4)
            .map(|v| (EventKind::Applied, v, Direction::Up))
            .collect::<Vec<_>>()
    );
    // The running checksums agree with the set: a plain run is a no-op.
    assert!(migrations.status(&mut conn)?.is_up_to_date());
    assert!(migrations.run(&mut conn)?.applied.is_empty());

    folder.write("0005_notes.sql", "CREATE TABLE notes (body TEXT);");
    let report = folder.migrations().runner().grouped(true).run(&mut conn)?;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [5]);
    Ok(())
}

#[test]
fn a_group_with_a_migration_outside_a_transaction_is_refused_before_anything() -> migrate::Result<()>
{
    let migrations = Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        (
            "0002_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
        ("0003_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        ("0004_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ])
    .migrations();
    let db = Database::new();
    let mut conn = db.open();

    let error = migrations
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();

    let Error::NoTransactionInGroup {
        version: 3,
        name,
        file,
    } = &error
    else {
        panic!("expected NoTransactionInGroup for 3, got {error:?}");
    };
    assert_eq!(
        (name.as_str(), file.as_str()),
        ("vacuum", "0003_vacuum.sql")
    );
    assert_eq!(
        error.to_string(),
        "migration 3 (vacuum, `0003_vacuum.sql`) runs outside a transaction (`-- migrate:no-transaction`), \
         so it cannot be part of a grouped run; nothing was applied"
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM sqlite_schema"), 0);

    // With 1 applied, the same refusal changes nothing.
    migrations.run_to(&mut conn, 1)?;
    let tracking_before = rows(&conn, &format!("SELECT * FROM {DEFAULT_TABLE}"));
    let events_before = migrations.history(&mut conn)?;
    let error = migrations
        .runner()
        .grouped(true)
        .run(&mut conn)
        .unwrap_err();
    assert!(
        matches!(error, Error::NoTransactionInGroup { version: 3, .. }),
        "{error:?}"
    );
    assert_eq!(
        rows(&conn, &format!("SELECT * FROM {DEFAULT_TABLE}")),
        tracking_before
    );
    assert_eq!(migrations.history(&mut conn)?, events_before);
    assert_eq!(schema(&conn).len(), 1, "{:?}", schema(&conn));

    // Up to a target below it, the group is all in a transaction.
    let report = migrations.runner().grouped(true).target(2).run(&mut conn)?;
    let applied: Vec<u64> = report.applied.iter().map(|a| a.version).collect();
    assert_eq!(applied, [2]);
    Ok(())
}
