//! Helpers shared by the integration tests: migration folders and SQLite
//! database files in temporary directories. The tests in `migrate-tests/`
//! include this module by path (`#[path = "../../tests/common/mod.rs"]`).

#![allow(dead_code)] // each test file uses a different subset

mod folder;
mod race;

use std::path::PathBuf;

use rusqlite::Connection;
use tempfile::TempDir;

#[allow(unused_imports)] // not every test file uses it
pub use folder::Folder;
#[allow(unused_imports)] // only the concurrency races use them
pub use race::{racing_set, rounds};

/// A SQLite database file in a temporary directory.
pub struct Database {
    dir: TempDir,
}

impl Database {
    pub fn new() -> Database {
        Database {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("app.db")
    }

    /// A new connection to the file.
    pub fn open(&self) -> Connection {
        Connection::open(self.path()).expect("open the database file")
    }
}

/// Names of the tables, views, indexes and triggers, sorted, without SQLite's
/// own and without the tracking table.
pub fn schema_objects(conn: &Connection) -> Vec<String> {
    texts(
        conn,
        "SELECT type || ' ' || name FROM sqlite_schema
         WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE 'migrate_schema_history%'
         ORDER BY type, name",
    )
}

/// The first column of every row of a query, as text.
fn texts(conn: &Connection, sql: &str) -> Vec<String> {
    let mut statement = conn.prepare(sql).unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `(version, name, checksum, state)` of every tracking row, by version;
/// `state` is `applied`, `failed`, `dirty_up` or `dirty_down`.
pub fn tracking_rows(conn: &Connection, table: &str) -> Vec<(i64, String, String, String)> {
    let mut statement = conn
        .prepare(&format!(
            "SELECT version, name, checksum, state FROM {table} ORDER BY version"
        ))
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// `(version, state)` of every row of the default tracking table, by version.
pub fn tracking_states(conn: &Connection) -> Vec<(i64, String)> {
    tracking_rows(conn, migrate::DEFAULT_TABLE)
        .into_iter()
        .map(|row| (row.0, row.3))
        .collect()
}

pub fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// Every schema object as `(type, name, tbl_name, sql)`, by type and name,
/// without the tracking table and the history (nor their index).
pub fn schema(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut statement = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema
             WHERE tbl_name NOT IN ('migrate_schema_history', 'migrate_schema_history_events')
             ORDER BY type, name",
        )
        .unwrap();
    statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every row of a query, every column as SQLite stores it: to compare whole
/// tables (the tracking table included) before and after.
pub fn rows(conn: &Connection, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
    let mut statement = conn.prepare(sql).unwrap();
    let columns = statement.column_count();
    statement
        .query_map([], |row| (0..columns).map(|i| row.get(i)).collect())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The `CREATE` statement of every schema object in the order SQLite created
/// them, without SQLite's own objects and the tracking tables.
pub fn schema_in_creation_order(conn: &Connection) -> Vec<String> {
    texts(
        conn,
        r"SELECT sql FROM sqlite_schema
          WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'
            AND tbl_name NOT IN ('migrate_schema_history', 'migrate_schema_history_events')
          ORDER BY rowid",
    )
}

/// The message of migration `version`'s failure (its `error`); panics unless
/// `error` is that migration's `Error::MigrationFailed` with that `dirty`.
pub fn failure_of(error: &migrate::Error, version: u64, dirty: bool) -> String {
    match error {
        migrate::Error::MigrationFailed {
            version: v,
            dirty: d,
            error: cause,
            ..
        } if *v == version && *d == dirty => cause.to_string(),
        other => panic!("expected migration {version} to fail (dirty: {dirty}), got {other:?}"),
    }
}
