//! `schema`: the database's schema as SQL, from `sqlite_master`.

use anyhow::{Context, Result};
use rusqlite::Connection;

/// One object of the schema: a table, index, view or trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaObject {
    /// `table`, `index`, `view` or `trigger`.
    pub(crate) kind: String,
    /// Its name.
    pub(crate) name: String,
    /// The table it belongs to (its own name for a table or a view).
    pub(crate) table: String,
    /// The statement that creates it, as SQLite stores it.
    pub(crate) sql: String,
}

/// Every object of the schema that has SQL, without SQLite's own
/// (`sqlite_…`, automatic indexes) and, unless `include_tracking`, without
/// the tracking table `table`, its history `<table>_events` and their
/// indexes. Ordered so that the statements can be replayed: tables, indexes,
/// views, then triggers, each kind in the order it was created.
///
/// # Errors
///
/// SQLite cannot read `sqlite_master`, naming `database`.
pub(crate) fn read(
    conn: &Connection,
    database: &str,
    table: &str,
    include_tracking: bool,
) -> Result<Vec<SchemaObject>> {
    let reading = || format!("reading the schema of `{database}`");
    let mut statement = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_master
             WHERE sql IS NOT NULL
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
               AND (?1 OR tbl_name NOT IN (?2, ?2 || '_events'))
             ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END,
                      rowid",
        )
        .with_context(reading)?;
    let objects = statement
        .query_map((include_tracking, table), |row| {
            Ok(SchemaObject {
                kind: row.get(0)?,
                name: row.get(1)?,
                table: row.get(2)?,
                sql: row.get(3)?,
            })
        })
        .and_then(Iterator::collect)
        .with_context(reading)?;
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_schema_without_sqlites_own_and_the_tracking_tables() -> Result<()> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(
            "CREATE VIEW named AS SELECT name FROM users;
             CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE);
             CREATE INDEX users_by_name ON users (name);
             CREATE TRIGGER no_delete BEFORE DELETE ON users BEGIN SELECT RAISE(ABORT, 'no'); END;
             CREATE TABLE t (v INTEGER);
             CREATE TABLE t_events (v INTEGER);
             CREATE INDEX t_latest ON t (v);",
        )?;
        let summary = |include| -> Result<Vec<String>> {
            Ok(read(&conn, "test", "t", include)?
                .into_iter()
                .map(|o| format!("{} {}", o.kind, o.name))
                .collect())
        };
        assert_eq!(
            summary(false)?,
            [
                "table users",
                "index users_by_name",
                "view named",
                "trigger no_delete"
            ]
        );
        assert_eq!(
            summary(true)?,
            [
                "table users",
                "table t",
                "table t_events",
                "index users_by_name",
                "index t_latest",
                "view named",
                "trigger no_delete"
            ]
        );
        Ok(())
    }
}
