//! The seam between the runner and a database engine.
//!
//! The runner speaks to a database only through [`Backend`], so another engine
//! (PostgreSQL is planned) is one more implementation, not a new public API.
//! The trait is sealed while its methods settle: it is implemented for
//! [`rusqlite::Connection`] and cannot be implemented outside this crate.
//!
//! # Tables
//!
//! The tracking table (one row per version; see the crate docs) and, beside
//! it, the append-only history `<table>_events` (one row per event), created
//! together on the first write.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior, params};

use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::guard::{Guard, MigrationScope, RUNNER_SAVEPOINT};
use crate::migration::{BoxError, Migration, Script};
use crate::report::{
    AppliedMigration, Direction, DirtyMigration, Event, EventKind, FailedMigration,
    ForeignKeyViolation, ForeignKeyViolations,
};
use crate::runner::{not_compiled, tracking_tables};
use crate::schema::Schema;
use crate::script::execute_script;

/// A database connection migrations can run on: implemented for
/// [`rusqlite::Connection`].
// A `Connection` of another rusqlite version is another type: say which one
// to use instead of only that the bound is not met.
#[diagnostic::on_unimplemented(
    message = "`migrate` cannot run migrations on `{Self}`: it needs a `migrate::rusqlite::Connection` (rusqlite 0.42)",
    label = "not a `migrate::rusqlite::Connection`",
    note = "`migrate` uses rusqlite 0.42 and re-exports it as `migrate::rusqlite`: open the connection with `migrate::rusqlite::Connection::open`, or depend on `rusqlite = \"0.42\"`; a `Connection` of another rusqlite version is another type"
)]
pub trait Backend: sealed::Sealed {}

impl Backend for Connection {}

/// The `state` of a dirty row: its up or its down was cut short.
fn dirty_state(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "dirty_up",
        Direction::Down => "dirty_down",
    }
}

/// An event to append to the history; the fields of [`Event`] that the
/// database does not assign (`id`, `at`). Public only because the sealed
/// trait names it; this module is private.
pub struct NewEvent<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The migration's version.
    pub version: u64,
    /// The migration's name.
    pub name: &'a str,
    /// Up or down.
    pub direction: Direction,
    /// The checksum involved.
    pub checksum: Option<Checksum>,
    /// How long the migration ran.
    pub duration: Option<Duration>,
    /// An error, or what a repair changed.
    pub detail: Option<&'a str>,
}

/// The methods of [`Backend`], private so they can change.
pub(crate) mod sealed {
    use super::*;

    /// What the runner needs from a database. `table` is always a validated
    /// identifier (see `runner::validate_table_name`).
    pub trait Sealed {
        /// An open transaction; dropping it rolls back.
        type Tx<'c>: Deref<Target = Self>
        where
            Self: 'c;

        /// Whether a transaction is open on this connection.
        fn in_transaction(&self) -> bool;
        /// The database's file, if it has one (not in memory).
        fn database_file(&self) -> Option<PathBuf>;
        /// Installs `guard`'s rules for migration code (SQLite's authorizer,
        /// replacing one the application set).
        fn guard(&mut self, guard: &Guard) -> Result<()>;
        /// Removes them, and detaches what migrations attached that could
        /// not be detached inside their transactions.
        fn unguard(&mut self, guard: &Guard) -> Result<()>;
        /// Detaches what migrations attached inside their transactions, once
        /// none is open (before the runner begins its next).
        fn detach_leftovers(&self, guard: &Guard) -> Result<()>;
        /// Rolls back a transaction left open on the connection, if any.
        fn roll_back_open_transaction(&self) -> Result<()>;
        /// Sets how long to wait for a lock; returns the previous setting.
        fn set_lock_timeout(&self, timeout: Duration) -> Result<Duration>;
        /// Starts a transaction: a read transaction, or one holding the write
        /// lock from its start (`BEGIN IMMEDIATE` on SQLite).
        fn begin(&self, write: bool, lock_timeout: Duration) -> Result<Self::Tx<'_>>;
        /// Commits a transaction.
        fn commit(tx: Self::Tx<'_>) -> Result<()>;
        /// Whether foreign keys are enforced on this connection.
        fn foreign_keys(&self) -> Result<bool>;
        /// Turns foreign key enforcement on or off (outside a transaction).
        fn set_foreign_keys(&self, on: bool) -> Result<()>;
        /// Every row that breaks a foreign key.
        fn foreign_key_violations(&self) -> Result<Vec<ForeignKeyViolation>>;
        /// Whether the tracking table exists.
        fn table_exists(&self, table: &str) -> Result<bool>;
        /// Creates the tracking table and the history if they do not exist.
        fn create_tables(&self, table: &str) -> Result<()>;
        /// The highest applied version and its running checksum.
        fn latest_applied(&self, table: &str) -> Result<Option<(u64, Checksum)>>;
        /// The running checksum of the highest applied version below `version`.
        fn running_checksum_below(&self, table: &str, version: u64) -> Result<Option<Checksum>>;
        /// Every applied migration, in version order.
        fn applied(&self, table: &str) -> Result<Vec<AppliedMigration>>;
        /// Every recorded failure, in version order.
        fn failed(&self, table: &str) -> Result<Vec<FailedMigration>>;
        /// Every dirty migration, in version order (an indexed lookup); a row
        /// with a state the runner never writes is [`Error::MalformedRow`].
        fn dirty(&self, table: &str) -> Result<Vec<DirtyMigration>>;
        /// Runs a migration's up or down inside `tx`, under `guard`'s rules,
        /// putting back what it changed of the connection.
        fn execute(
            tx: &Self::Tx<'_>,
            migration: &Migration,
            direction: Direction,
            guard: &Guard,
        ) -> Result<()>;
        /// Runs a migration's up or down SQL outside a transaction, statement
        /// by statement, under `guard`'s rules; a transaction it leaves open
        /// is rolled back, and what it changed of the connection put back.
        fn execute_outside(
            &self,
            migration: &Migration,
            direction: Direction,
            guard: &Guard,
        ) -> Result<()>;
        /// Records a migration as applied, replacing a failed or dirty record
        /// of its version; returns `applied_at`.
        fn record_applied(
            &self,
            table: &str,
            migration: &Migration,
            running_checksum: Checksum,
            duration: Duration,
        ) -> Result<String>;
        /// Sets the running checksum of an applied version.
        fn set_running_checksum(&self, table: &str, version: u64, running: Checksum) -> Result<()>;
        /// Sets the name and checksum of an applied version.
        fn set_name_and_checksum(
            &self,
            table: &str,
            version: u64,
            name: &str,
            checksum: Checksum,
        ) -> Result<()>;
        /// Records a failed attempt at an up (outside the rolled-back
        /// transaction).
        fn record_failure(
            &self,
            table: &str,
            migration: &Migration,
            duration: Duration,
            error: &str,
        ) -> Result<()>;
        /// Marks a version dirty before its up or down runs outside a
        /// transaction; an up gets a new row, a down's applied row changes.
        fn mark_dirty(
            &self,
            table: &str,
            migration: &Migration,
            direction: Direction,
        ) -> Result<()>;
        /// Records the error a dirty migration failed with.
        fn set_dirty_error(&self, table: &str, version: u64, error: &str) -> Result<()>;
        /// Removes the row of a version (rolled back, or repaired).
        fn remove(&self, table: &str, version: u64) -> Result<()>;
        /// Appends an event to the history.
        fn record_event(&self, table: &str, event: &NewEvent<'_>) -> Result<()>;
        /// The whole history, oldest first; empty without a history table.
        fn events(&self, table: &str) -> Result<Vec<Event>>;
        /// The application's schema: every object but SQLite's own and the
        /// tracking tables of `table`.
        fn schema(&self, table: &str) -> Result<Schema>;
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

/// Rows that are neither applied nor a failed attempt: dirty ones, and any
/// with a state the runner never writes (a hand edit), which must be refused
/// rather than ignored. The same text in the partial index and the query, so
/// that SQLite answers from the index without a scan.
const UNFINISHED: &str = "coalesce(state, '') NOT IN ('applied', 'failed')";

/// The history table beside a tracking table.
fn events_table(table: &str) -> String {
    format!("{table}_events")
}

impl sealed::Sealed for Connection {
    type Tx<'c> = Transaction<'c>;

    fn in_transaction(&self) -> bool {
        !self.is_autocommit()
    }

    fn database_file(&self) -> Option<PathBuf> {
        // `Some("")` for an in-memory or temporary database.
        self.path()
            .filter(|path| !path.is_empty())
            .map(PathBuf::from)
    }

    fn guard(&mut self, guard: &Guard) -> Result<()> {
        guard
            .install(self)
            .map_err(context("setting the authorizer"))
    }

    fn detach_leftovers(&self, guard: &Guard) -> Result<()> {
        guard
            .detach_leftovers(self)
            .map_err(context("detaching a database a migration attached"))
    }

    fn unguard(&mut self, guard: &Guard) -> Result<()> {
        let detached = sealed::Sealed::detach_leftovers(self, guard);
        let removed = Guard::remove(self).map_err(context("removing the authorizer"));
        detached.and(removed)
    }

    fn roll_back_open_transaction(&self) -> Result<()> {
        if self.is_autocommit() {
            return Ok(());
        }
        self.execute_batch("ROLLBACK")
            .map_err(context("rolling back a transaction left open"))
    }

    fn set_lock_timeout(&self, timeout: Duration) -> Result<Duration> {
        let previous: i64 = self
            .query_row("PRAGMA busy_timeout", [], |row| row.get(0))
            .map_err(context("reading the busy timeout"))?;
        self.busy_timeout(timeout)
            .map_err(context("setting the busy timeout"))?;
        Ok(Duration::from_millis(previous.max(0).unsigned_abs()))
    }

    fn begin(&self, write: bool, lock_timeout: Duration) -> Result<Transaction<'_>> {
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        Transaction::new_unchecked(self, behavior).map_err(|source| match &source {
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

    fn commit(tx: Transaction<'_>) -> Result<()> {
        tx.commit().map_err(context("committing the transaction"))
    }

    fn foreign_keys(&self) -> Result<bool> {
        self.query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .map_err(context("reading PRAGMA foreign_keys"))
    }

    fn set_foreign_keys(&self, on: bool) -> Result<()> {
        self.pragma_update(None, "foreign_keys", on)
            .map_err(context("setting PRAGMA foreign_keys"))
    }

    fn foreign_key_violations(&self) -> Result<Vec<ForeignKeyViolation>> {
        let checking = || context("running PRAGMA foreign_key_check");
        let mut statement = self
            .prepare("PRAGMA foreign_key_check")
            .map_err(checking())?;
        let rows = statement
            .query_map([], |row| {
                Ok(ForeignKeyViolation {
                    table: row.get(0)?,
                    rowid: row.get(1)?,
                    parent: row.get(2)?,
                    foreign_key: row.get(3)?,
                })
            })
            .map_err(checking())?;
        rows.collect::<rusqlite::Result<_>>().map_err(checking())
    }

    fn table_exists(&self, table: &str) -> Result<bool> {
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

    fn create_tables(&self, table: &str) -> Result<()> {
        // One row per version: applied, the last failed attempt (rolled
        // back), or dirty (cut short outside a transaction). Only applied
        // rows have a running checksum. The partial index finds dirty rows
        // (and hand-edited states) without a scan, so the up-to-date check
        // stays constant-cost.
        let events = events_table(table);
        let sql = format!(
            r#"CREATE TABLE IF NOT EXISTS main."{table}" (
    version          INTEGER PRIMARY KEY NOT NULL CHECK (version > 0),
    name             TEXT    NOT NULL,
    checksum         TEXT    NOT NULL,
    running_checksum TEXT,
    applied_at       TEXT    NOT NULL,
    duration_ms      INTEGER NOT NULL,
    state            TEXT    NOT NULL
                     CHECK (state IN ('applied', 'failed', 'dirty_up', 'dirty_down')),
    error            TEXT
);
CREATE INDEX IF NOT EXISTS main."{table}_unfinished" ON "{table}" (version)
    WHERE {UNFINISHED};
CREATE TABLE IF NOT EXISTS main."{events}" (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,
    event       TEXT    NOT NULL
                CHECK (event IN ('applied', 'rolled_back', 'failed', 'baselined', 'repaired')),
    version     INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    direction   TEXT    NOT NULL CHECK (direction IN ('up', 'down')),
    checksum    TEXT,
    duration_ms INTEGER,
    detail      TEXT
);"#
        );
        self.execute_batch(&sql)
            .map_err(context(format!("creating the tracking table `{table}`")))
    }

    fn latest_applied(&self, table: &str) -> Result<Option<(u64, Checksum)>> {
        let sql = format!(
            r#"SELECT version, running_checksum FROM main."{table}"
               WHERE state = 'applied' ORDER BY version DESC LIMIT 1"#
        );
        let rows = tracking_rows(self, table, &sql, |row, version| {
            let running: Option<String> = column(row, 1, table, Some(version))?;
            let running = running.ok_or_else(|| Error::MalformedRow {
                table: table.to_owned(),
                version: Some(version),
                detail: "an applied migration without `running_checksum`".to_owned(),
            })?;
            Ok((
                version_of(table, version)?,
                checksum_of(table, version, "running_checksum", &running)?,
            ))
        })?;
        Ok(rows.into_iter().next())
    }

    fn running_checksum_below(&self, table: &str, version: u64) -> Result<Option<Checksum>> {
        let sql = format!(
            r#"SELECT version, running_checksum FROM main."{table}"
               WHERE state = 'applied' AND version < {} ORDER BY version DESC LIMIT 1"#,
            sql_version(version)
        );
        let rows = tracking_rows(self, table, &sql, |row, version| {
            let running: String = column(row, 1, table, Some(version))?;
            checksum_of(table, version, "running_checksum", &running)
        })?;
        Ok(rows.into_iter().next())
    }

    fn applied(&self, table: &str) -> Result<Vec<AppliedMigration>> {
        let sql = format!(
            r#"SELECT version, name, checksum, applied_at, duration_ms FROM main."{table}"
               WHERE state = 'applied' ORDER BY version"#
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

    fn failed(&self, table: &str) -> Result<Vec<FailedMigration>> {
        let sql = format!(
            r#"SELECT version, name, checksum, applied_at, error FROM main."{table}"
               WHERE state = 'failed' ORDER BY version"#
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

    fn dirty(&self, table: &str) -> Result<Vec<DirtyMigration>> {
        let sql = format!(
            r#"SELECT version, name, checksum, applied_at, error, state FROM main."{table}"
               WHERE {UNFINISHED} ORDER BY version"#
        );
        tracking_rows(self, table, &sql, |row, version| {
            let state: Option<String> = column(row, 5, table, Some(version))?;
            let direction = match state.as_deref() {
                Some(state) if state == dirty_state(Direction::Up) => Direction::Up,
                Some(state) if state == dirty_state(Direction::Down) => Direction::Down,
                other => {
                    return Err(Error::MalformedRow {
                        table: table.to_owned(),
                        version: Some(version),
                        detail: format!(
                            "column `state` is {}, not one of applied, failed, dirty_up, dirty_down",
                            other.map_or("NULL".to_owned(), |s| format!("`{s}`"))
                        ),
                    });
                }
            };
            Ok(DirtyMigration {
                version: version_of(table, version)?,
                name: column(row, 1, table, Some(version))?,
                direction,
                started_at: column(row, 3, table, Some(version))?,
                error: column(row, 4, table, Some(version))?,
            })
        })
    }

    fn execute(
        tx: &Transaction<'_>,
        migration: &Migration,
        direction: Direction,
        guard: &Guard,
    ) -> Result<()> {
        let scope = guard.migration(tx);
        let script = script_of(migration, direction)?;
        let result = match script {
            Script::Sql { sql, .. } => run_sql(tx, migration, direction, sql, false, &scope),
            Script::Rust(Some(step)) => {
                // The authorizer refuses a statement of the step's that would
                // end the transaction, or use the name of this savepoint,
                // which tells afterwards that the transaction it was given
                // is still the one open, whatever the code did.
                tx.execute_batch(&format!("SAVEPOINT {RUNNER_SAVEPOINT}"))
                    .map_err(context("starting the savepoint around a Rust migration"))?;
                scope.rust().map_err(context(format!(
                    "reading the connection's settings before migration {} ({})",
                    migration.version(),
                    migration.name()
                )))?;
                let result = step(tx);
                scope.runner();
                // A refused statement fails the migration even when the code
                // went on regardless of the error.
                let result = match scope.take_refusal() {
                    Some(reason) => Err(reason.into()),
                    None => result,
                };
                // A trigger it created may not write to the tracking tables
                // when it fires.
                let result = result.and_then(|()| match scope.check_new_triggers() {
                    Ok(None) => Ok(()),
                    Ok(Some(reason)) => Err(reason.into()),
                    Err(error) => Err(error.into()),
                });
                match tx.execute_batch(&format!("RELEASE {RUNNER_SAVEPOINT}")) {
                    Ok(()) => result.map_err(|source| failure(migration, direction, source)),
                    Err(_) => Err(transaction_ended(migration, direction)),
                }
            }
            Script::Rust(None) => Err(not_compiled(migration)),
        };
        let put_back = scope.finish().map_err(putting_back(migration, direction));
        if tx.is_autocommit() {
            return match (script, result) {
                // SQLite rolls the whole transaction back by itself on some
                // errors (`INSERT OR ROLLBACK`, `RAISE(ROLLBACK)`, a full
                // disk: https://www.sqlite.org/lang_transaction.html,
                // "Response To Errors Within A Transaction"); the script
                // stopped at that statement, so nothing ran outside it.
                (Script::Sql { .. }, Err(error)) => Err(error),
                _ => Err(transaction_ended(migration, direction)),
            };
        }
        result.and(put_back)
    }

    fn execute_outside(
        &self,
        migration: &Migration,
        direction: Direction,
        guard: &Guard,
    ) -> Result<()> {
        let Script::Sql { sql, .. } = script_of(migration, direction)? else {
            return Err(not_compiled(migration));
        };
        sealed::Sealed::detach_leftovers(self, guard)?;
        let scope = guard.migration(self);
        let mut result = run_sql(self, migration, direction, sql, true, &scope);
        scope.runner();
        // A `SAVEPOINT` outside a transaction begins one; one the migration
        // did not release would take the caller's next writes with it.
        if !self.is_autocommit() {
            let open = scope.open_savepoint();
            // The migration's own error, if it has one, is the one to tell.
            if let Err(error) = self.roll_back_open_transaction()
                && result.is_ok()
            {
                result = Err(error);
            }
            if result.is_ok() {
                let message = format!(
                    "it left a transaction open (`SAVEPOINT {}` was never released), which the runner rolled back, undoing what ran inside it",
                    open.as_deref().unwrap_or("…")
                );
                result = Err(failure(migration, direction, message.into()));
            }
        }
        let put_back = scope.finish().map_err(putting_back(migration, direction));
        let mut result = result.and(put_back);
        // Outside a transaction, part of it may be in the database.
        if let Err(Error::MigrationFailed { dirty, .. }) = &mut result {
            *dirty = true;
        }
        result
    }

    fn record_applied(
        &self,
        table: &str,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String> {
        let sql = format!(
            r#"INSERT INTO main."{table}"
                   (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
               VALUES (?1, ?2, ?3, ?4, {NOW}, ?5, 'applied', NULL)
               ON CONFLICT (version) DO UPDATE SET
                   name = excluded.name, checksum = excluded.checksum,
                   running_checksum = excluded.running_checksum, applied_at = excluded.applied_at,
                   duration_ms = excluded.duration_ms, state = 'applied', error = NULL
               WHERE state <> 'applied'
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
        .map_err(|source| match source {
            // The upsert skips a row that is already applied: another process
            // recorded it while this one ran it outside a transaction.
            rusqlite::Error::QueryReturnedNoRows => Error::Sqlite {
                context: format!(
                    "recording migration {} ({}) as applied in `{table}`: it is already recorded as applied, by another process",
                    migration.version(),
                    migration.name()
                ),
                source,
            },
            source => writing(table)(source),
        })
    }

    fn set_running_checksum(&self, table: &str, version: u64, running: Checksum) -> Result<()> {
        let sql = format!(r#"UPDATE main."{table}" SET running_checksum = ?2 WHERE version = ?1"#);
        self.execute(&sql, params![sql_version(version), running.to_string()])
            .map(drop)
            .map_err(writing(table))
    }

    fn set_name_and_checksum(
        &self,
        table: &str,
        version: u64,
        name: &str,
        checksum: Checksum,
    ) -> Result<()> {
        let sql =
            format!(r#"UPDATE main."{table}" SET name = ?2, checksum = ?3 WHERE version = ?1"#);
        self.execute(
            &sql,
            params![sql_version(version), name, checksum.to_string()],
        )
        .map(drop)
        .map_err(writing(table))
    }

    fn record_failure(
        &self,
        table: &str,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()> {
        let sql = format!(
            r#"INSERT INTO main."{table}"
                   (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
               VALUES (?1, ?2, ?3, NULL, {NOW}, ?4, 'failed', ?5)
               ON CONFLICT (version) DO UPDATE SET
                   name = excluded.name, checksum = excluded.checksum, applied_at = excluded.applied_at,
                   duration_ms = excluded.duration_ms, error = excluded.error
               WHERE state = 'failed'"#
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

    fn mark_dirty(&self, table: &str, migration: &Migration, direction: Direction) -> Result<()> {
        let version = sql_version(migration.version());
        let state = dirty_state(direction);
        let changed = match direction {
            // A new row, or one replacing a failed attempt.
            Direction::Up => self.execute(
                &format!(
                    r#"INSERT INTO main."{table}"
                           (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
                       VALUES (?1, ?2, ?3, NULL, {NOW}, 0, ?4, NULL)
                       ON CONFLICT (version) DO UPDATE SET
                           name = excluded.name, checksum = excluded.checksum,
                           applied_at = excluded.applied_at, duration_ms = 0,
                           state = excluded.state, error = NULL
                       WHERE state = 'failed'"#
                ),
                params![
                    version,
                    migration.name(),
                    migration.checksum().to_string(),
                    state
                ],
            ),
            // The applied row; it leaves the running checksum chain.
            Direction::Down => self.execute(
                &format!(
                    r#"UPDATE main."{table}" SET state = ?2, running_checksum = NULL,
                           applied_at = {NOW}, error = NULL
                       WHERE version = ?1 AND state = 'applied'"#
                ),
                params![version, state],
            ),
        }
        .map_err(writing(table))?;
        if changed == 1 {
            Ok(())
        } else {
            Err(Error::MalformedRow {
                table: table.to_owned(),
                version: Some(version),
                detail: format!(
                    "expected one row to mark `{state}`, found {changed}: the row changed under the write lock"
                ),
            })
        }
    }

    fn set_dirty_error(&self, table: &str, version: u64, error: &str) -> Result<()> {
        let sql = format!(
            r#"UPDATE main."{table}" SET error = ?2
               WHERE version = ?1 AND state IN ('dirty_up', 'dirty_down')"#
        );
        self.execute(&sql, params![sql_version(version), error])
            .map(drop)
            .map_err(writing(table))
    }

    fn remove(&self, table: &str, version: u64) -> Result<()> {
        let sql = format!(r#"DELETE FROM main."{table}" WHERE version = ?1"#);
        self.execute(&sql, [sql_version(version)])
            .map(drop)
            .map_err(writing(table))
    }

    fn record_event(&self, table: &str, event: &NewEvent<'_>) -> Result<()> {
        let events = events_table(table);
        let sql = format!(
            r#"INSERT INTO main."{events}" (at, event, version, name, direction, checksum, duration_ms, detail)
               VALUES ({NOW}, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"#
        );
        self.execute(
            &sql,
            params![
                event.kind.as_str(),
                sql_version(event.version),
                event.name,
                event.direction.as_str(),
                event.checksum.map(|c| c.to_string()),
                event.duration.map(millis),
                event.detail,
            ],
        )
        .map(drop)
        .map_err(context(format!("writing to the history `{events}`")))
    }

    fn schema(&self, table: &str) -> Result<Schema> {
        Schema::read_excluding(self, &tracking_tables(table)).map_err(context("reading the schema"))
    }

    fn events(&self, table: &str) -> Result<Vec<Event>> {
        let events = events_table(table);
        if !sealed::Sealed::table_exists(self, &events)? {
            return Ok(Vec::new());
        }
        let sql = format!(
            r#"SELECT version, id, at, event, name, direction, checksum, duration_ms, detail
               FROM main."{events}" ORDER BY id"#
        );
        tracking_rows(self, &events, &sql, |row, version| {
            let malformed = |detail: String| Error::MalformedRow {
                table: events.clone(),
                version: Some(version),
                detail,
            };
            let id: i64 = column(row, 1, &events, Some(version))?;
            let kind: String = column(row, 3, &events, Some(version))?;
            let direction: String = column(row, 5, &events, Some(version))?;
            let checksum: Option<String> = column(row, 6, &events, Some(version))?;
            let duration: Option<i64> = column(row, 7, &events, Some(version))?;
            Ok(Event {
                id: u64::try_from(id).map_err(|_| malformed(format!("negative id {id}")))?,
                at: column(row, 2, &events, Some(version))?,
                kind: EventKind::parse(&kind)
                    .ok_or_else(|| malformed(format!("unknown event `{kind}`")))?,
                version: version_of(&events, version)?,
                name: column(row, 4, &events, Some(version))?,
                direction: match direction.as_str() {
                    "up" => Direction::Up,
                    "down" => Direction::Down,
                    other => return Err(malformed(format!("unknown direction `{other}`"))),
                },
                checksum: checksum
                    .map(|text| checksum_of(&events, version, "checksum", &text))
                    .transpose()?,
                duration: duration
                    .map(|ms| duration_of(&events, version, ms))
                    .transpose()?,
                detail: column(row, 8, &events, Some(version))?,
            })
        })
    }
}

/// The up or the down of a migration; a missing down is the caller's bug,
/// reported as an irreversible migration rather than a panic.
fn script_of(migration: &Migration, direction: Direction) -> Result<&Script> {
    match direction {
        Direction::Up => Ok(migration.up()),
        Direction::Down => migration.down().ok_or_else(|| Error::Irreversible {
            version: migration.version(),
            name: migration.name().to_owned(),
            reason: Box::new(crate::error::Irreversible::NoDown {
                file: migration.file().to_owned(),
                fix: crate::rollback::how_to_add_a_down(migration),
            }),
        }),
    }
}

/// The file a migration's up or down is in.
fn file_of(migration: &Migration, direction: Direction) -> &str {
    match direction {
        Direction::Up => migration.file(),
        Direction::Down => migration.down_file().unwrap_or(migration.file()),
    }
}

/// Runs a migration's SQL on `conn`, naming the failing statement.
fn run_sql(
    conn: &Connection,
    migration: &Migration,
    direction: Direction,
    sql: &str,
    outside: bool,
    scope: &MigrationScope<'_, '_>,
) -> Result<()> {
    execute_script(conn, sql, scope).map_err(|failure| Error::MigrationFailed {
        version: migration.version(),
        name: migration.name().to_owned(),
        file: file_of(migration, direction).to_owned(),
        direction,
        dirty: outside,
        grouped: false,
        line: failure.line.and_then(|line| u32::try_from(line).ok()),
        statement: failure.statement.map(String::into_boxed_str),
        source: Box::new(failure.source),
    })
}

/// A migration's failure in its transaction, not at a statement of its
/// file: a Rust step's error, or the foreign key check's.
fn failure(migration: &Migration, direction: Direction, source: BoxError) -> Error {
    Error::MigrationFailed {
        version: migration.version(),
        name: migration.name().to_owned(),
        file: file_of(migration, direction).to_owned(),
        direction,
        dirty: false,
        grouped: false,
        line: None,
        statement: None,
        source,
    }
}

/// A failure to put the connection back as it was before a migration, as
/// the migration's failure.
fn putting_back(
    migration: &Migration,
    direction: Direction,
) -> impl FnOnce(rusqlite::Error) -> Error {
    move |error| {
        let message = format!(
            "putting the connection back as it was before the migration (its settings, attached databases and temporary objects): {}",
            crate::error::sqlite_message(&error)
        );
        failure(migration, direction, message.into())
    }
}

/// The runner's transaction ended while a migration ran in it (beyond what
/// the authorizer refuses: unsafe code, say): what ran before may have been
/// committed without its tracking row, so the migration counts as dirty.
fn transaction_ended(migration: &Migration, direction: Direction) -> Error {
    let mut error = failure(
        migration,
        direction,
        "the runner's transaction ended while it ran, so what it did before may have been committed without its tracking row"
            .into(),
    );
    if let Error::MigrationFailed { dirty, .. } = &mut error {
        *dirty = true;
    }
    error
}

/// Wraps the violations found by the foreign key check as a migration's
/// failure.
pub(crate) fn foreign_key_failure(
    migration: &Migration,
    direction: Direction,
    violations: Vec<ForeignKeyViolation>,
) -> Error {
    failure(
        migration,
        direction,
        Box::new(ForeignKeyViolations(violations)),
    )
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
