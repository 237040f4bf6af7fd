//! The backend conformance suite (`tests/conformance`) on SQLite: each case
//! on a fresh database file in a temporary directory, through rusqlite
//! connections with their defaults.

#[macro_use]
mod conformance;

use conformance::{Harness, Message};
use rusqlite::Connection;
use tempfile::TempDir;

/// A SQLite database file, `app.db` in a temporary directory removed with
/// the harness.
struct SqliteHarness {
    dir: TempDir,
}

/// Leaves out SQLite's own objects (`sqlite_sequence`, the automatic indexes
/// of `PRIMARY KEY` and `UNIQUE` constraints) and the default tracking
/// tables with their index.
const APPLICATION_OBJECTS: &str = r"name NOT LIKE 'sqlite\_%' ESCAPE '\'
    AND tbl_name NOT IN ('migrate_schema_history', 'migrate_schema_history_events')";

impl Harness for SqliteHarness {
    type Conn = Connection;

    fn new_database() -> Self {
        SqliteHarness {
            dir: tempfile::tempdir().expect("create a temporary folder"),
        }
    }

    fn connect(&self) -> Connection {
        Connection::open(self.dir.path().join("app.db")).expect("open the database file")
    }

    fn execute(conn: &mut Connection, sql: &str) {
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn count(conn: &mut Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn texts(conn: &mut Connection, sql: &str) -> Vec<String> {
        let mut statement = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        statement
            .query_map([], |row| row.get(0))
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn table_exists(conn: &mut Connection, name: &str) -> bool {
        conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [name],
            |row| row.get::<_, i64>(0),
        )
        .expect("read sqlite_schema")
            > 0
    }

    fn columns(conn: &mut Connection, table: &str) -> Vec<String> {
        let mut statement = conn
            .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
            .expect("prepare pragma_table_info");
        statement
            .query_map([table], |row| row.get(0))
            .and_then(Iterator::collect)
            .expect("read pragma_table_info")
    }

    fn objects(conn: &mut Connection) -> Vec<String> {
        Self::texts(
            conn,
            &format!(
                "SELECT type || ' ' || name FROM sqlite_schema
                 WHERE {APPLICATION_OBJECTS} ORDER BY type, name"
            ),
        )
    }

    /// Each object's `CREATE` statement as SQLite stores it, which changes
    /// with any column, type or constraint.
    fn schema(conn: &mut Connection) -> Vec<String> {
        Self::texts(
            conn,
            &format!(
                "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || coalesce(sql, '')
                 FROM sqlite_schema WHERE {APPLICATION_OBJECTS} ORDER BY type, name"
            ),
        )
    }

    fn is_empty(conn: &mut Connection) -> bool {
        Self::count(conn, "SELECT count(*) FROM sqlite_schema") == 0
    }

    fn message(failure: Message<'_>) -> String {
        match failure {
            Message::NoSuchTable(table) => format!("no such table: {table}"),
            Message::UniqueViolation { table, column } => {
                format!("UNIQUE constraint failed: {table}.{column}")
            }
            Message::SyntaxError { near } => format!("near \"{near}\": syntax error"),
            Message::VacuumInTransaction => "cannot VACUUM from within a transaction".to_owned(),
        }
    }
}

conformance_suite!(SqliteHarness);
