//! Applying migrations to a real SQLite file, about SQLite itself: the
//! connection's busy timeout put back, and a read-only connection to an
//! up-to-date file. What a run applies and records on any engine is in the
//! conformance suite (`tests/conformance/apply.rs`).

mod common;

use std::time::Duration;

use common::{Database, Folder, count};

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
