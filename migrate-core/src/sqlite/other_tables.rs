//! Reading another tool's tracking table on SQLite, for
//! [`Transaction::other_table`](crate::backend::Transaction::other_table).

use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::backend::OtherTable;
use crate::error::Result;

use super::tracking::context;

/// The table `table` of the `main` schema with the cells of `columns` as
/// text (see [`OtherTable`]); `None` without such a table. `table` and
/// `columns` are plain identifiers (the caller's constants), quoted anyway.
pub(super) fn other_table(
    conn: &Connection,
    table: &str,
    columns: &[&str],
) -> Result<Option<OtherTable>> {
    let reading = || context(format!("reading the table `{table}`"));
    // SQLite's own answer to "which columns": empty for a missing table.
    // Cached: a run on a new database asks it of every tool's table, and
    // compiling the table-valued pragma declares its virtual table each
    // time.
    let mut statement = conn
        .prepare_cached("SELECT name FROM pragma_table_info(?1, 'main')")
        .map_err(reading())?;
    let present: Vec<String> = statement
        .query_map([table], |row| row.get::<_, String>(0))
        .map_err(reading())?
        .collect::<Result<_, _>>()
        .map_err(reading())?;
    if present.is_empty() {
        return Ok(None);
    }
    let found = OtherTable {
        columns: present,
        rows: Vec::new(),
    };
    let select: Vec<String> = columns
        .iter()
        .map(|column| match found.has_column(column) {
            true => format!("\"{}\"", column.replace('"', "\"\"")),
            false => "NULL".to_owned(),
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM main.\"{}\"",
        select.join(", "),
        table.replace('"', "\"\"")
    );
    let mut statement = conn.prepare(&sql).map_err(reading())?;
    let mut rows = statement.query([]).map_err(reading())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(reading())? {
        let mut cells = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            let cell = match row.get_ref(index).map_err(reading())? {
                ValueRef::Null => None,
                ValueRef::Integer(value) => Some(value.to_string()),
                ValueRef::Real(value) => Some(value.to_string()),
                ValueRef::Text(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
                ValueRef::Blob(bytes) => Some(hex::encode(bytes)),
            };
            cells.push(cell);
        }
        out.push(cells);
    }
    Ok(Some(OtherTable { rows: out, ..found }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_text_and_missing_columns_none() -> Result<(), Box<dyn std::error::Error>> {
        let conn = Connection::open_in_memory()?;
        assert_eq!(other_table(&conn, "t", &["a"])?, None);
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b BLOB, c TEXT, d REAL);
             INSERT INTO t VALUES (7, x'00ff', 'x', 1.5), (NULL, NULL, NULL, NULL);",
        )?;
        let found = other_table(&conn, "t", &["a", "b", "c", "d", "e"])?.ok_or("no table")?;
        assert_eq!(found.columns, ["a", "b", "c", "d"]);
        assert_eq!(
            found.rows[0],
            [
                Some("7".to_owned()),
                Some("00ff".to_owned()),
                Some("x".to_owned()),
                Some("1.5".to_owned()),
                None
            ]
        );
        assert_eq!(found.rows[1], [None, None, None, None, None]);
        Ok(())
    }
}
