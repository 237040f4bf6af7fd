//! The seam between the runner and a database engine.
//!
//! The runner speaks to a database only through [`Backend`], so another engine
//! (PostgreSQL is planned) is one more implementation, not a new public API.
//! The trait is sealed while its methods settle: it is implemented for
//! [`rusqlite::Connection`] and cannot be implemented outside this crate.

use std::time::Duration;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::{Batch, Connection, ErrorCode, OptionalExtension, params};

use crate::checksum::Checksum;
#[cfg(test)]
use crate::error::sqlite_message;
use crate::error::{Error, Result};
use crate::migration::Migration;
use crate::runner::{AppliedMigration, FailedMigration};

/// A database connection migrations can run on: implemented for
/// [`rusqlite::Connection`].
pub trait Backend: sealed::Sealed {}

impl Backend for Connection {}

/// The methods of [`Backend`], private so they can change.
pub(crate) mod sealed {
    use super::*;

    /// What the runner needs from a database. `table` is always a validated
    /// identifier (see `runner::validate_table_name`).
    pub trait Sealed {
        /// Whether a transaction is open on this connection.
        fn in_transaction(&self) -> bool;
        /// Sets how long to wait for a lock; returns the previous setting.
        fn set_lock_timeout(&mut self, timeout: Duration) -> Result<Duration>;
        /// Starts a transaction: a read transaction, or one holding the write
        /// lock from its start (`BEGIN IMMEDIATE` on SQLite).
        fn begin(&mut self, write: bool, lock_timeout: Duration) -> Result<()>;
        /// Commits the open transaction.
        fn commit(&mut self) -> Result<()>;
        /// Rolls back the open transaction, if any; failures are ignored since
        /// the caller is already returning an error.
        fn rollback(&mut self);
        /// Whether the tracking table exists.
        fn table_exists(&mut self, table: &str) -> Result<bool>;
        /// Creates the tracking table if it does not exist.
        fn create_table(&mut self, table: &str) -> Result<()>;
        /// The highest applied version and its running checksum.
        fn latest_applied(&mut self, table: &str) -> Result<Option<(u64, Checksum)>>;
        /// The running checksum of the highest applied version below `version`.
        fn running_checksum_below(&mut self, table: &str, version: u64)
        -> Result<Option<Checksum>>;
        /// Every applied migration, in version order.
        fn applied(&mut self, table: &str) -> Result<Vec<AppliedMigration>>;
        /// Every recorded failure, in version order.
        fn failed(&mut self, table: &str) -> Result<Vec<FailedMigration>>;
        /// Runs a migration's up SQL in the open transaction.
        fn execute_up(&mut self, migration: &Migration) -> Result<()>;
        /// Records an applied migration, replacing a failure record of its
        /// version; returns `applied_at`.
        fn record_applied(
            &mut self,
            table: &str,
            migration: &Migration,
            running_checksum: Checksum,
            duration: Duration,
        ) -> Result<String>;
        /// Sets the running checksum of an applied version.
        fn set_running_checksum(
            &mut self,
            table: &str,
            version: u64,
            running: Checksum,
        ) -> Result<()>;
        /// Records a failed migration (outside the rolled-back transaction).
        fn record_failure(
            &mut self,
            table: &str,
            migration: &Migration,
            duration: Duration,
            error: &str,
        ) -> Result<()>;
    }
}

fn context(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let context = context.into();
    move |source| Error::Sqlite { context, source }
}

fn reading(table: &str) -> impl FnOnce(rusqlite::Error) -> Error {
    context(format!("reading the tracking table `{table}`"))
}

fn writing(table: &str) -> impl FnOnce(rusqlite::Error) -> Error {
    context(format!("writing to the tracking table `{table}`"))
}

/// Converts a stored version (SQLite INTEGER) into a version.
fn version_of(table: &str, version: i64) -> Result<u64> {
    u64::try_from(version)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| Error::MalformedRow {
            table: table.to_owned(),
            version: Some(version),
            detail: "the version is not a positive integer".to_owned(),
        })
}

fn checksum_of(table: &str, version: i64, column: &str, text: &str) -> Result<Checksum> {
    text.parse().map_err(|error| Error::MalformedRow {
        table: table.to_owned(),
        version: Some(version),
        detail: format!("column `{column}`: {error}"),
    })
}

fn duration_of(table: &str, version: i64, millis: i64) -> Result<Duration> {
    u64::try_from(millis)
        .map(Duration::from_millis)
        .map_err(|_| Error::MalformedRow {
            table: table.to_owned(),
            version: Some(version),
            detail: format!("column `duration_ms` is negative ({millis})"),
        })
}

/// Reads a column, turning a wrong type or NULL into [`Error::MalformedRow`].
fn column<T: rusqlite::types::FromSql>(
    row: &rusqlite::Row<'_>,
    index: usize,
    table: &str,
    version: Option<i64>,
) -> Result<T> {
    row.get(index).map_err(|error| Error::MalformedRow {
        table: table.to_owned(),
        version,
        detail: error.to_string(),
    })
}

/// Reads every row of a query on the tracking table whose first column is the
/// version, with `read` turning a row into a value.
fn tracking_rows<T>(
    conn: &Connection,
    table: &str,
    sql: &str,
    mut read: impl FnMut(&rusqlite::Row<'_>, i64) -> Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare(sql).map_err(reading(table))?;
    let mut rows = statement.query([]).map_err(reading(table))?;
    let mut values = Vec::new();
    while let Some(row) = rows.next().map_err(reading(table))? {
        let version = column(row, 0, table, None)?;
        values.push(read(row, version)?);
    }
    Ok(values)
}

/// The `checksum` column (index 2) of a tracking row.
fn checksum_column(row: &rusqlite::Row<'_>, table: &str, version: i64) -> Result<Checksum> {
    let text: String = column(row, 2, table, Some(version))?;
    checksum_of(table, version, "checksum", &text)
}

/// A UTC timestamp in RFC 3339 with milliseconds, computed by SQLite.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

impl sealed::Sealed for Connection {
    fn in_transaction(&self) -> bool {
        !self.is_autocommit()
    }

    fn set_lock_timeout(&mut self, timeout: Duration) -> Result<Duration> {
        let previous: i64 = self
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .map_err(context("reading the busy timeout"))?;
        self.busy_timeout(timeout)
            .map_err(context("setting the busy timeout"))?;
        Ok(Duration::from_millis(previous.max(0).unsigned_abs()))
    }

    fn begin(&mut self, write: bool, lock_timeout: Duration) -> Result<()> {
        let sql = if write {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN DEFERRED"
        };
        self.execute_batch(sql).map_err(|source| match &source {
            rusqlite::Error::SqliteFailure(error, _) if error.code == ErrorCode::DatabaseBusy => {
                Error::Locked {
                    waited: lock_timeout,
                    source,
                }
            }
            _ => Error::Sqlite {
                context: "starting a transaction".to_owned(),
                source,
            },
        })
    }

    fn commit(&mut self) -> Result<()> {
        self.execute_batch("COMMIT")
            .map_err(context("committing the transaction"))
    }

    fn rollback(&mut self) {
        if !self.is_autocommit() {
            let _ = self.execute_batch("ROLLBACK");
        }
    }

    fn table_exists(&mut self, table: &str) -> Result<bool> {
        // `pragma_table_info` looks the table up in SQLite's in-memory schema
        // hash; a query on `sqlite_schema` would scan every schema object.
        self.query_row(
            "SELECT count(*) FROM pragma_table_info(?1, 'main')",
            [table],
            |row| row.get::<_, i64>(0),
        )
        .map(|count| count > 0)
        .map_err(reading(table))
    }

    fn create_table(&mut self, table: &str) -> Result<()> {
        // One row per version: an applied migration (success = 1) or the last
        // failed attempt at one (success = 0, error set, running_checksum NULL).
        let sql = format!(
            r#"CREATE TABLE IF NOT EXISTS "{table}" (
    version          INTEGER PRIMARY KEY NOT NULL CHECK (version > 0),
    name             TEXT    NOT NULL,
    checksum         TEXT    NOT NULL,
    running_checksum TEXT,
    applied_at       TEXT    NOT NULL,
    duration_ms      INTEGER NOT NULL,
    success          INTEGER NOT NULL CHECK (success IN (0, 1)),
    error            TEXT
)"#
        );
        self.execute_batch(&sql)
            .map_err(context(format!("creating the tracking table `{table}`")))
    }

    fn latest_applied(&mut self, table: &str) -> Result<Option<(u64, Checksum)>> {
        let sql = format!(
            r#"SELECT version, running_checksum FROM "{table}"
               WHERE success = 1 ORDER BY version DESC LIMIT 1"#
        );
        let row = self
            .query_row(&sql, [], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, Option<String>>(1)?))
            })
            .optional()
            .map_err(reading(table))?;
        let Some((version, running)) = row else {
            return Ok(None);
        };
        let running = running.ok_or_else(|| Error::MalformedRow {
            table: table.to_owned(),
            version: Some(version),
            detail: "an applied migration without `running_checksum`".to_owned(),
        })?;
        Ok(Some((
            version_of(table, version)?,
            checksum_of(table, version, "running_checksum", &running)?,
        )))
    }

    fn running_checksum_below(&mut self, table: &str, version: u64) -> Result<Option<Checksum>> {
        let sql = format!(
            r#"SELECT version, running_checksum FROM "{table}"
               WHERE success = 1 AND version < ?1 ORDER BY version DESC LIMIT 1"#
        );
        let row = self
            .query_row(&sql, [sql_version(version)], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()
            .map_err(reading(table))?;
        row.map(|(v, text)| checksum_of(table, v, "running_checksum", &text))
            .transpose()
    }

    fn applied(&mut self, table: &str) -> Result<Vec<AppliedMigration>> {
        let sql = format!(
            r#"SELECT version, name, checksum, applied_at, duration_ms FROM "{table}"
               WHERE success = 1 ORDER BY version"#
        );
        tracking_rows(self, table, &sql, |row, version| {
            Ok(AppliedMigration {
                version: version_of(table, version)?,
                name: column(row, 1, table, Some(version))?,
                checksum: checksum_column(row, table, version)?,
                applied_at: column(row, 3, table, Some(version))?,
                duration: duration_of(table, version, column(row, 4, table, Some(version))?)?,
            })
        })
    }

    fn failed(&mut self, table: &str) -> Result<Vec<FailedMigration>> {
        let sql = format!(
            r#"SELECT version, name, checksum, applied_at, error FROM "{table}"
               WHERE success = 0 ORDER BY version"#
        );
        tracking_rows(self, table, &sql, |row, version| {
            Ok(FailedMigration {
                version: version_of(table, version)?,
                name: column(row, 1, table, Some(version))?,
                checksum: checksum_column(row, table, version)?,
                failed_at: column(row, 3, table, Some(version))?,
                error: column::<Option<String>>(row, 4, table, Some(version))?.unwrap_or_default(),
            })
        })
    }

    fn execute_up(&mut self, migration: &Migration) -> Result<()> {
        execute_script(self, migration.up_sql().unwrap_or_default()).map_err(|failure| Error::MigrationFailed {
            version: migration.version(),
            name: migration.name().to_owned(),
            file: migration.file().to_owned(),
            line: failure.line,
            statement: failure.statement,
            source: Box::new(failure.source),
        })
    }

    fn record_applied(
        &mut self,
        table: &str,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String> {
        let sql = format!(
            r#"INSERT INTO "{table}"
                   (version, name, checksum, running_checksum, applied_at, duration_ms, success, error)
               VALUES (?1, ?2, ?3, ?4, {NOW}, ?5, 1, NULL)
               ON CONFLICT (version) DO UPDATE SET
                   name = excluded.name, checksum = excluded.checksum,
                   running_checksum = excluded.running_checksum, applied_at = excluded.applied_at,
                   duration_ms = excluded.duration_ms, success = 1, error = NULL
               WHERE success = 0
               RETURNING applied_at"#
        );
        self.query_row(
            &sql,
            params![
                sql_version(migration.version()),
                migration.name(),
                migration.checksum().to_string(),
                running_checksum.to_string(),
                millis(duration),
            ],
            |row| row.get(0),
        )
        .map_err(writing(table))
    }

    fn set_running_checksum(&mut self, table: &str, version: u64, running: Checksum) -> Result<()> {
        let sql = format!(r#"UPDATE "{table}" SET running_checksum = ?2 WHERE version = ?1"#);
        self.execute(&sql, params![sql_version(version), running.to_string()])
            .map(drop)
            .map_err(writing(table))
    }

    fn record_failure(
        &mut self,
        table: &str,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()> {
        let sql = format!(
            r#"INSERT INTO "{table}"
                   (version, name, checksum, running_checksum, applied_at, duration_ms, success, error)
               VALUES (?1, ?2, ?3, NULL, {NOW}, ?4, 0, ?5)
               ON CONFLICT (version) DO UPDATE SET
                   name = excluded.name, checksum = excluded.checksum, applied_at = excluded.applied_at,
                   duration_ms = excluded.duration_ms, error = excluded.error
               WHERE success = 0"#
        );
        self.execute(
            &sql,
            params![
                sql_version(migration.version()),
                migration.name(),
                migration.checksum().to_string(),
                millis(duration),
                error,
            ],
        )
        .map(drop)
        .map_err(writing(table))
    }
}

/// A version as SQLite INTEGER. Every version of a [`Migration`] or read from
/// the tracking table is at most `i64::MAX` (the folder grammar and
/// `version_of` check it), so the conversion is exact.
fn sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A statement of a script that failed.
struct ScriptFailure {
    line: Option<usize>,
    statement: Option<String>,
    source: rusqlite::Error,
}

/// Runs every statement of `sql`, stepping through the rows of those that
/// return some (a `PRAGMA` may), and on failure locates the statement.
fn execute_script(conn: &Connection, sql: &str) -> Result<(), ScriptFailure> {
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
                "`{keyword}` is not allowed in a migration: each migration runs in a transaction of its own"
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
