//! Running a migration's SQL script statement by statement, and locating the
//! statement that failed.

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection};

use super::guard::MigrationScope;
#[cfg(test)]
use super::sqlite_message;
use crate::backend::shorten;

/// A statement of a script that failed.
pub(crate) struct ScriptFailure {
    pub(crate) line: Option<usize>,
    pub(crate) statement: Option<String>,
    pub(crate) source: rusqlite::Error,
}

/// Runs every statement of `sql`, stepping through the rows of those that
/// return some (a `PRAGMA` may), under the rules of `scope` (see
/// [`guard`](crate::guard)), and on failure locates the statement.
///
/// The cost is linear in the length of `sql`. SQLite copies the rest of the
/// text on every statement it compiles unless that text ends in a NUL byte
/// (`sqlite3Prepare` in SQLite's `prepare.c`), which made a 10 MB file of
/// `INSERT`s take half a minute; so the script is compiled from one copy of
/// it that ends in NUL.
pub(crate) fn execute_script(
    conn: &Connection,
    sql: &str,
    scope: &MigrationScope<'_, '_>,
) -> Result<(), ScriptFailure> {
    let terminated = format!("{sql}\0");
    let mut batch = Batch::new(conn, &terminated);
    // A failure at the statement that starts at `start`, not yet compiled.
    let at = |start: usize, source| {
        let start = start + skip_trivia(&sql[start..]);
        ScriptFailure {
            line: Some(line_of(sql, start)),
            statement: Some(shorten(&sql[start..])),
            source,
        }
    };
    // Byte offset in `sql` up to which statements have been located.
    let mut cursor = 0;
    loop {
        scope.preparing();
        let next = batch.next();
        // A refusal fails the compilation, so there is one only then.
        let refused = next.as_ref().err().and_then(|_| scope.take_refusal());
        // A `PRAGMA` that changes a connection setting, or a statement that
        // touches what is attached or in `temp`, is refused until what it
        // changes is read, to be put back after the migration; the batch has
        // not moved on, so the statement is compiled again.
        if next.is_err() && refused.is_none() {
            match scope.read_what_is_needed() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(source) => return Err(at(cursor, source)),
            }
        }
        let mut statement = match next {
            Ok(Some(statement)) => statement,
            Ok(None) => return Ok(()),
            Err(source) => {
                // A statement that did not prepare; SQLite says where.
                let start = match &source {
                    rusqlite::Error::SqlInputError { sql: rest, .. } => terminated
                        .len()
                        .checked_sub(rest.len())
                        .filter(|&start| start <= sql.len()),
                    _ => None,
                }
                .unwrap_or(cursor);
                return Err(at(start, refused.map_or(source, refusal)));
            }
        };
        // SQLite keeps each statement's text, from where the last one ended;
        // align it with the script to name its line.
        let located = statement.expanded_sql().and_then(|text| {
            let start = [cursor, cursor + skip_trivia(&sql[cursor..])]
                .into_iter()
                .find_map(|start| Some((start, statement_end(sql, start, &text)?)));
            // Not aligned (never seen): look for it, as a last resort.
            let (found, end) = start.or_else(|| {
                let found = sql.get(cursor..)?.find(&text)? + cursor;
                Some((found, found + text.len()))
            })?;
            cursor = end;
            Some(found + skip_trivia(&sql[found..end]))
        });
        scope.running();
        let mut rows = statement.raw_query();
        let failed = loop {
            match rows.next() {
                Ok(Some(_)) => {}
                // A trigger it created may not write to the tracking tables
                // when it fires.
                Ok(None) => {
                    break scope
                        .check_new_triggers()
                        .map_or_else(Some, |refused| refused.map(refusal));
                }
                Err(source) => break Some(scope.take_refusal().map_or(source, refusal)),
            }
        };
        if let Some(source) = failed {
            return Err(ScriptFailure {
                line: located.map(|start| line_of(sql, start)),
                statement: located.map(|start| shorten(&sql[start..cursor])),
                source,
            });
        }
    }
}

/// Where the statement that starts at `start` in `sql` ends, given its text
/// as SQLite expands it: the same bytes, except that each parameter of the
/// script (`?`, `?NNN`, `:name`, `@name`, `$name`) reads `NULL`, nothing
/// being bound (<https://www.sqlite.org/c3ref/expanded_sql.html>,
/// <https://www.sqlite.org/lang_expr.html#varparam>). `None` when they do
/// not line up. Linear in the statement's length.
fn statement_end(sql: &str, start: usize, expanded: &str) -> Option<usize> {
    let source = sql.as_bytes();
    let expanded = expanded.as_bytes();
    let (mut i, mut j) = (start, 0);
    while j < expanded.len() {
        if source.get(i) == Some(&expanded[j]) {
            i += 1;
            j += 1;
            continue;
        }
        let parameter = parameter_length(&source[i.min(source.len())..]);
        if parameter == 0 || !expanded[j..].starts_with(b"NULL") {
            return None;
        }
        i += parameter;
        j += 4;
    }
    Some(i)
}

/// The length of the parameter `text` starts with, 0 if none.
fn parameter_length(text: &[u8]) -> usize {
    let name = |rest: &[u8], min: usize| {
        let len = rest
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
            .count();
        if len >= min { 1 + len } else { 0 }
    };
    match text.first() {
        Some(b'?') => 1 + text[1..].iter().take_while(|b| b.is_ascii_digit()).count(),
        Some(b':' | b'@' | b'$') => name(&text[1..], 1),
        _ => 0,
    }
}

/// The error of a statement the guard refused, with the rule it broke
/// instead of SQLite's "not authorized".
pub(crate) fn refusal(reason: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_AUTH),
        Some(reason),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::guard::Guard;

    /// Runs `sql` on `conn` under the runner's rules for the tracking table
    /// `tracking`.
    fn run(conn: &mut Connection, sql: &str) -> Result<(), ScriptFailure> {
        let guard = Guard::new(&["tracking".to_owned()], false);
        guard.install(conn).unwrap();
        let result = {
            let scope = guard.migration(conn);
            let result = execute_script(conn, sql, &scope);
            scope.finish().unwrap();
            result
        };
        Guard::remove(conn).unwrap();
        result
    }

    fn failure(sql: &str) -> ScriptFailure {
        let mut conn = Connection::open_in_memory().unwrap();
        run(&mut conn, sql).expect_err("the script should fail")
    }

    #[test]
    fn runs_every_statement_including_ones_that_return_rows() -> Result<(), rusqlite::Error> {
        let mut conn = Connection::open_in_memory()?;
        let script = "CREATE TABLE t (x);\nPRAGMA table_info(t);\nINSERT INTO t VALUES (1), (2);\nSELECT * FROM t;";
        run(&mut conn, script).map_err(|f| f.source)?;
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

    /// SQLite's authorizer sees what a statement does, whatever its
    /// spelling: a comment, a string or an identifier cannot hide it.
    #[test]
    fn refuses_statements_that_would_end_or_nest_the_transaction() {
        for (sql, line, keyword) in [
            ("CREATE TABLE a (x);\nCOMMIT;", 2, "COMMIT"),
            ("begin /* ROLLBACK TO */ transaction;", 1, "BEGIN"),
            ("END;", 1, "COMMIT"),
            ("ROLLBACK TRANSACTION;", 1, "ROLLBACK"),
            (
                "CREATE TABLE \"to\" (x);\nROLLBACK /* TO */;",
                2,
                "ROLLBACK",
            ),
            ("-- ROLLBACK TO s\nROLLBACK;", 2, "ROLLBACK"),
        ] {
            let failed = failure(sql);
            let message = sqlite_message(&failed.source);
            assert!(
                message.starts_with(&format!("`{keyword}` is not allowed in a migration")),
                "{sql}: {message}"
            );
            assert_eq!(failed.line, Some(line), "{sql}");
        }
    }

    #[test]
    fn allows_the_migrations_own_savepoints_only() {
        let mut conn = Connection::open_in_memory().unwrap();
        let allowed = "SAVEPOINT s; CREATE TABLE a (x); ROLLBACK TO s; RELEASE S;
            SAVEPOINT outer; SAVEPOINT inner; RELEASE outer;
            CREATE TABLE b (x); CREATE TRIGGER t AFTER INSERT ON b BEGIN SELECT 1; END;";
        assert!(run(&mut conn, allowed).is_ok());

        conn.execute_batch("BEGIN; SAVEPOINT runners;").unwrap();
        for (sql, statement) in [
            ("RELEASE runners;", "RELEASE runners"),
            ("SAVEPOINT s; RELEASE s; ROLLBACK TO s;", "ROLLBACK TO s"),
            (
                "SAVEPOINT a; SAVEPOINT b; RELEASE a; RELEASE b;",
                "RELEASE b",
            ),
        ] {
            let failed = run(&mut conn, sql).expect_err(sql);
            assert_eq!(
                sqlite_message(&failed.source),
                format!(
                    "`{statement}` is not allowed: the migration did not open a savepoint `{}` (it may only release or roll back to its own)",
                    statement.rsplit(' ').next().unwrap()
                ),
                "{sql}"
            );
        }
        assert!(!conn.is_autocommit(), "the transaction is still open");

        // The runner's own savepoint name, in any case, whatever the use.
        for sql in ["SAVEPOINT Migrate_Rust_Step;", "RELEASE migrate_rust_step;"] {
            let failed = run(&mut conn, sql).expect_err(sql);
            assert!(
                sqlite_message(&failed.source).ends_with(
                    "is the name of the runner's own savepoint: give the migration's savepoint another name"
                ),
                "{sql}: {}",
                sqlite_message(&failed.source)
            );
        }
    }

    #[test]
    fn refuses_changes_to_the_tracking_tables_in_any_schema_or_case() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE tracking (version INTEGER); CREATE TABLE other (x);")
            .unwrap();
        for sql in [
            "INSERT INTO tracking VALUES (1);",
            "UPDATE main.TRACKING SET version = 2;",
            "DELETE FROM \"Tracking\";",
            "CREATE TEMP TABLE tracking (version INTEGER);",
            "CREATE TABLE temp.tracking (version INTEGER);",
            "CREATE TEMP VIEW tracking AS SELECT 1 AS version;",
            "DROP TABLE tracking;",
            "ALTER TABLE tracking ADD COLUMN y;",
            "CREATE INDEX i ON tracking (version);",
            "CREATE TRIGGER t AFTER INSERT ON tracking BEGIN SELECT 1; END;",
            "CREATE TEMP TRIGGER t AFTER INSERT ON main.tracking BEGIN SELECT 1; END;",
        ] {
            let failed = run(&mut conn, sql).expect_err(sql);
            let message = sqlite_message(&failed.source);
            assert!(
                message.starts_with("the tracking tables are off limits to migrations"),
                "{sql}: {message}"
            );
        }
        // A trigger elsewhere that writes to it is refused when it would fire.
        conn.execute_batch(
            "CREATE TRIGGER sneaky AFTER INSERT ON other BEGIN DELETE FROM tracking; END;",
        )
        .unwrap();
        let failed = run(&mut conn, "INSERT INTO other VALUES (1);").expect_err("fires");
        assert!(
            sqlite_message(&failed.source).contains("(through trigger or view `sneaky`)"),
            "{}",
            sqlite_message(&failed.source)
        );
        // Reading it is fine.
        assert!(run(&mut conn, "SELECT count(*) FROM tracking;").is_ok());
    }

    /// A statement with parameters (bound to nothing, so `NULL`) is located
    /// as any other, and the one after it too.
    #[test]
    fn names_the_line_of_statements_with_parameters() {
        let failed = failure(
            "CREATE TABLE t (x);\nINSERT INTO t VALUES (coalesce(?, :a, @b, $c, ?2));\n\n\nCOMMIT;",
        );
        assert_eq!(failed.line, Some(5));
        assert_eq!(failed.statement.as_deref(), Some("COMMIT;"));
        let failed = failure("CREATE TABLE t (x NOT NULL);\nINSERT INTO t VALUES (?);");
        assert_eq!(failed.line, Some(2));
        assert_eq!(
            failed.statement.as_deref(),
            Some("INSERT INTO t VALUES (?);")
        );
        assert_eq!(
            statement_end("SELECT '?', ?;", 0, "SELECT '?', NULL;"),
            Some(14)
        );
        assert_eq!(statement_end("SELECT 1;", 0, "SELECT 2;"), None);
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
