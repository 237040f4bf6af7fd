//! Running a migration's SQL script statement by statement, and locating the
//! statement that failed.

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection};

#[cfg(test)]
use crate::error::sqlite_message;

/// A statement of a script that failed.
pub(crate) struct ScriptFailure {
    pub(crate) line: Option<usize>,
    pub(crate) statement: Option<String>,
    pub(crate) source: rusqlite::Error,
}

/// Runs every statement of `sql`, stepping through the rows of those that
/// return some (a `PRAGMA` may), and on failure locates the statement.
pub(crate) fn execute_script(conn: &Connection, sql: &str) -> Result<(), ScriptFailure> {
    let mut batch = Batch::new(conn, sql);
    // Byte offset in `sql` up to which statements have been located.
    let mut cursor = 0;
    loop {
        let mut statement = match batch.next() {
            Ok(Some(statement)) => statement,
            Ok(None) => return Ok(()),
            Err(source) => {
                // A statement that did not prepare; SQLite says where.
                let start = match &source {
                    rusqlite::Error::SqlInputError { sql: rest, .. } => {
                        sql.len().checked_sub(rest.len())
                    }
                    _ => None,
                }
                .unwrap_or(cursor);
                let start = start + skip_trivia(&sql[start..]);
                return Err(ScriptFailure {
                    line: Some(line_of(sql, start)),
                    statement: Some(shorten(&sql[start..])),
                    source,
                });
            }
        };
        // SQLite keeps each statement's exact text; find it to name its line.
        let located = statement.expanded_sql().and_then(|text| {
            let found = sql.get(cursor..)?.find(&text)? + cursor;
            cursor = found + text.len();
            Some(found + skip_trivia(&text))
        });
        if let Some(start) = located
            && let Some(keyword) = transaction_control(&sql[start..cursor])
        {
            let message = format!(
                "`{keyword}` is not allowed in a migration: the runner begins and ends its transactions"
            );
            return Err(ScriptFailure {
                line: Some(line_of(sql, start)),
                statement: Some(shorten(&sql[start..cursor])),
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISUSE),
                    Some(message),
                ),
            });
        }
        let mut rows = statement.raw_query();
        loop {
            match rows.next() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(source) => {
                    return Err(ScriptFailure {
                        line: located.map(|start| line_of(sql, start)),
                        statement: located.map(|start| shorten(&sql[start..cursor])),
                        source,
                    });
                }
            }
        }
    }
}

/// The keyword of a statement that would end or nest the migration's
/// transaction: `BEGIN`, `COMMIT`, `END` or `ROLLBACK` (but not `ROLLBACK TO`
/// a savepoint, which stays inside it). `statement` starts at its keyword.
fn transaction_control(statement: &str) -> Option<String> {
    let mut words = statement
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty());
    let first = words.next()?.to_ascii_uppercase();
    match first.as_str() {
        "BEGIN" | "COMMIT" | "END" => Some(first),
        "ROLLBACK" => {
            let next = words.next().map(str::to_ascii_uppercase);
            let to = match next.as_deref() {
                Some("TRANSACTION") => words.next().map(str::to_ascii_uppercase),
                other => other.map(str::to_owned),
            };
            (to.as_deref() != Some("TO")).then_some(first)
        }
        _ => None,
    }
}

/// Length of the whitespace and comments at the start of `sql`.
fn skip_trivia(sql: &str) -> usize {
    let mut rest = sql;
    loop {
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix("--") {
            rest = comment.find('\n').map_or("", |end| &comment[end..]);
        } else if let Some(comment) = trimmed.strip_prefix("/*") {
            rest = comment.find("*/").map_or("", |end| &comment[end + 2..]);
        } else {
            return sql.len() - trimmed.len();
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(sql: &str, offset: usize) -> usize {
    sql.as_bytes()[..offset.min(sql.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A statement on one line, whitespace collapsed, at most 80 characters.
fn shorten(statement: &str) -> String {
    const MAX: usize = 80;
    let end = statement.find(';').map_or(statement.len(), |i| i + 1);
    let words: Vec<&str> = statement[..end].split_whitespace().collect();
    let line = words.join(" ");
    if line.chars().count() <= MAX {
        line
    } else {
        let cut: String = line.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(sql: &str) -> ScriptFailure {
        let conn = Connection::open_in_memory().unwrap();
        execute_script(&conn, sql).expect_err("the script should fail")
    }

    #[test]
    fn runs_every_statement_including_ones_that_return_rows() -> Result<(), rusqlite::Error> {
        let conn = Connection::open_in_memory()?;
        let script = "CREATE TABLE t (x);\nPRAGMA table_info(t);\nINSERT INTO t VALUES (1), (2);\nSELECT * FROM t;";
        execute_script(&conn, script).map_err(|f| f.source)?;
        let count: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
        assert_eq!(count, 2);
        Ok(())
    }

    #[test]
    fn names_the_line_and_statement_of_a_runtime_failure() {
        let sql =
            "CREATE TABLE t (x NOT NULL);\n\n-- a comment\nINSERT INTO t VALUES (NULL);\nSELECT 1;";
        let failed = failure(sql);
        assert_eq!(failed.line, Some(4));
        assert_eq!(
            failed.statement.as_deref(),
            Some("INSERT INTO t VALUES (NULL);")
        );
        assert!(sqlite_message(&failed.source).contains("NOT NULL constraint failed"));
    }

    #[test]
    fn names_the_line_of_a_syntax_error() {
        let failed = failure("CREATE TABLE a (x);\n/* note */\nCREATE TABEL b (y);\n");
        assert_eq!(failed.line, Some(3));
        assert_eq!(failed.statement.as_deref(), Some("CREATE TABEL b (y);"));
        assert!(sqlite_message(&failed.source).contains("syntax error"));
    }

    #[test]
    fn refuses_statements_that_would_end_the_migrations_transaction() {
        for (sql, keyword) in [
            ("CREATE TABLE a (x);\nCOMMIT;", "COMMIT"),
            ("begin transaction;\nCREATE TABLE a (x);", "BEGIN"),
            ("END;", "END"),
            ("ROLLBACK TRANSACTION;", "ROLLBACK"),
        ] {
            let failed = failure(sql);
            let message = sqlite_message(&failed.source);
            assert!(
                message.starts_with(&format!("`{keyword}` is not allowed")),
                "{sql}: {message}"
            );
        }
        let conn = Connection::open_in_memory().unwrap();
        let allowed = "SAVEPOINT s; CREATE TABLE a (x); ROLLBACK TO s; RELEASE s;
            CREATE TABLE b (x); CREATE TRIGGER t AFTER INSERT ON b BEGIN SELECT 1; END;";
        assert!(execute_script(&conn, allowed).is_ok());
    }

    #[test]
    fn shortens_long_statements_to_one_line() {
        let long = format!("INSERT INTO t\n   VALUES ({});", "1, ".repeat(50));
        let short = shorten(&long);
        assert!(short.starts_with("INSERT INTO t VALUES (1, 1,"));
        assert_eq!(short.chars().count(), 80);
        assert!(short.ends_with('…'));
    }
}
