//! Dry runs on a real SQLite file: the transaction is rolled back, so the
//! file is unchanged byte for byte, with the connection open and once it is
//! closed, and no journal or WAL file is left beside it. What a dry run
//! reports and records on any engine is in the conformance suite
//! (`tests/conformance/dry_run.rs`).

mod common;

use std::path::PathBuf;

use common::{Database, Folder};
use migrate::{DryRunReport, Migrations};
use rusqlite::Connection;

fn all_succeed() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com');",
        ),
        (
            "0003_email.sql",
            "CREATE UNIQUE INDEX users_email ON users (email);",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

fn third_fails() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);",
        ),
        (
            "0002_seed.sql",
            "INSERT INTO users (email) VALUES ('a@example.com');",
        ),
        (
            "0003_tags.sql",
            "CREATE TABLE tags (name TEXT);\nINSERT INTO nowhere VALUES (1);\n",
        ),
        (
            "0004_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

/// The database file's bytes, after checking that no journal or WAL file is
/// left beside it.
fn file_bytes(db: &Database) -> Vec<u8> {
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut leftover = db.path().into_os_string();
        leftover.push(suffix);
        let leftover = PathBuf::from(leftover);
        assert!(!leftover.exists(), "{} is left over", leftover.display());
    }
    std::fs::read(db.path()).expect("read the database file")
}

/// Dry-runs `migrations` on the file and checks that not a byte changed, with
/// the connection still open and after it is closed.
fn dry_run_unchanged(db: &Database, conn: Connection, migrations: &Migrations) -> DryRunReport {
    let mut conn = conn;
    let before = file_bytes(db);
    let report = migrations.runner().dry_run(&mut conn).unwrap();
    assert!(
        file_bytes(db) == before,
        "the file changed with the connection open"
    );
    drop(conn);
    assert!(file_bytes(db) == before, "the file changed once closed");
    report
}

fn one_outside_a_transaction() -> Folder {
    Folder::new(&[
        (
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY);",
        ),
        ("0002_vacuum.sql", "-- migrate:no-transaction\nVACUUM;\n"),
        (
            "0003_posts.sql",
            "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
        ),
    ])
}

#[test]
fn a_dry_run_leaves_the_file_unchanged_byte_for_byte() -> migrate::Result<()> {
    // (set, applied before, migrations the dry run tries): on a new file and
    // on one with migrations applied, all succeeding or stopping at a
    // failure, and skipping a migration outside a transaction.
    for (case, folder, applied_first, tried) in [
        ("all succeed", all_succeed(), 0, 4),
        ("all succeed, 2 applied", all_succeed(), 2, 2),
        ("3 fails", third_fails(), 0, 3),
        ("3 fails, 1 applied", third_fails(), 1, 2),
        ("2 outside a transaction", one_outside_a_transaction(), 0, 3),
    ] {
        let migrations = folder.migrations();
        let db = Database::new();
        let mut conn = db.open();
        if applied_first > 0 {
            migrations.run_to(&mut conn, applied_first)?;
        }

        let report = dry_run_unchanged(&db, conn, &migrations);

        assert_eq!(report.steps.len(), tried, "{case}: {report:?}");
    }
    Ok(())
}
