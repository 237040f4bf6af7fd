//! The tracking table and its history on SQLite: their `CREATE`
//! statements, and every read and write of them, as bound-parameter SQL on
//! `main."<table>"` (the name is a validated identifier).

use std::time::Duration;

use rusqlite::{Connection, params};

use crate::backend::{Head, NewEvent, Records};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::Migration;
use crate::report::{
    AppliedMigration, Direction, DirtyMigration, Event, EventKind, FailedMigration,
};

/// The `state` of a dirty row: its up or its down was cut short.
fn dirty_state(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "dirty_up",
        Direction::Down => "dirty_down",
    }
}

/// A SQLite error with what was being done: [`Error::Locked`] when SQLite
/// gave up waiting for a lock (`SQLITE_BUSY`, `SQLITE_LOCKED`; the driver
/// fills in how long it waited), [`Error::Database`] otherwise.
pub(super) fn engine_error(context: impl Into<String>, error: rusqlite::Error) -> Error {
    if is_busy(&error) {
        Error::Locked {
            waited: Duration::ZERO,
            error: Box::new(error),
        }
    } else {
        Error::database(context, error)
    }
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _)
            if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// [`engine_error`] as a closure for `map_err`.
pub(super) fn context(context: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> Error {
    let context = context.into();
    move |source| engine_error(context, source)
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
    // `reading` formats its context: only on an error, not once per row.
    let mut statement = conn
        .prepare_cached(sql)
        .map_err(|error| reading(table)(error))?;
    let mut rows = statement.query([]).map_err(|error| reading(table)(error))?;
    let mut values = Vec::new();
    while let Some(row) = rows.next().map_err(|error| reading(table)(error))? {
        let version = column(row, 0, table, None)?;
        values.push(read(row, version)?);
    }
    Ok(values)
}

/// The `checksum` column (at `index`) of a tracking row, read without
/// copying its text.
fn checksum_column(
    row: &rusqlite::Row<'_>,
    index: usize,
    table: &str,
    version: i64,
) -> Result<Checksum> {
    let text = row
        .get_ref(index)
        .and_then(|value| value.as_str().map_err(Into::into))
        .map_err(|error| Error::MalformedRow {
            table: table.to_owned(),
            version: Some(version),
            detail: format!("column `checksum`: {error}"),
        })?;
    checksum_of(table, version, "checksum", text)
}

/// Runs `sql` with `params` through the connection's cache of prepared
/// statements (rusqlite's `prepare_cached`): the tracking table's statements
/// run once or more per migration, and preparing one costs more than running
/// it. Returns the number of rows changed.
fn execute_cached(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// [`execute_cached`] for a statement that returns one row.
fn query_row_cached<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, read)
}

/// The time now, as the tracking table and the history store it: UTC,
/// RFC 3339 with milliseconds (`2024-01-31T12:00:00.123Z`), the text
/// SQLite's `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')` gives. Computed here
/// rather than by SQL, so that the statements that record it are plain
/// `INSERT`s with bound values, and an applied row and its event carry the
/// same time. A clock set before 1970 reads as 1970-01-01.
pub(super) fn now() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    rfc3339_millis(millis)
}

/// `unix_millis` (milliseconds since 1970-01-01T00:00:00Z) as UTC RFC 3339
/// with milliseconds, years padded to four digits.
fn rfc3339_millis(unix_millis: u64) -> String {
    let (days, in_day) = (unix_millis / 86_400_000, unix_millis % 86_400_000);
    let (year, month, day) = civil_from_days(days);
    let (seconds, millis) = (in_day / 1000, in_day % 1000);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The proleptic Gregorian date (year, month 1-12, day 1-31) `days` days
/// after 1970-01-01: counted in 400-year eras of 146,097 days from
/// 0000-03-01, with years starting in March so that a leap day ends one.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01 (719,468 days before 1970-01-01).
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    // Year of the era, 0..=399: 365 days a year, less the leap days.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28/29.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

/// Rows that are neither applied nor a failed attempt: dirty ones, and any
/// with a state the runner never writes (a hand edit), which must be refused
/// rather than ignored. The same text in the partial index and the query, so
/// that SQLite answers from the index without a scan.
const UNFINISHED: &str = "coalesce(state, '') NOT IN ('applied', 'failed')";

/// The history table beside a tracking table.
pub(super) fn events_table(table: &str) -> String {
    format!("{table}_events")
}

pub(super) fn table_exists(conn: &Connection, table: &str) -> Result<bool> {
    // `pragma_table_info` looks the table up in SQLite's in-memory schema
    // hash; a query on `sqlite_schema` would scan every schema object.
    query_row_cached(
        conn,
        "SELECT count(*) FROM pragma_table_info(?1, 'main')",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count > 0)
    .map_err(reading(table))
}

pub(super) fn create_tables(conn: &Connection, table: &str) -> Result<()> {
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
    conn.execute_batch(&sql)
        .map_err(context(format!("creating the tracking table `{table}`")))
}

pub(super) fn latest_applied(conn: &Connection, table: &str) -> Result<Option<(u64, Checksum)>> {
    let sql = format!(
        r#"SELECT version, running_checksum FROM main."{table}"
           WHERE state = 'applied' ORDER BY version DESC LIMIT 1"#
    );
    let rows = tracking_rows(conn, table, &sql, |row, version| {
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

pub(super) fn running_checksum_below(
    conn: &Connection,
    table: &str,
    version: u64,
) -> Result<Option<Checksum>> {
    let sql = format!(
        r#"SELECT version, running_checksum FROM main."{table}"
           WHERE state = 'applied' AND version < {} ORDER BY version DESC LIMIT 1"#,
        sql_version(version)
    );
    let rows = tracking_rows(conn, table, &sql, |row, version| {
        let running: String = column(row, 1, table, Some(version))?;
        checksum_of(table, version, "running_checksum", &running)
    })?;
    Ok(rows.into_iter().next())
}

pub(super) fn applied(conn: &Connection, table: &str) -> Result<Vec<AppliedMigration>> {
    let sql = format!(
        r#"SELECT version, name, checksum, applied_at, duration_ms FROM main."{table}"
           WHERE state = 'applied' ORDER BY version"#
    );
    tracking_rows(conn, table, &sql, |row, version| {
        Ok(AppliedMigration {
            version: version_of(table, version)?,
            name: column(row, 1, table, Some(version))?,
            checksum: checksum_column(row, 2, table, version)?,
            applied_at: column(row, 3, table, Some(version))?,
            duration: duration_of(table, version, column(row, 4, table, Some(version))?)?,
        })
    })
}

pub(super) fn failed(conn: &Connection, table: &str) -> Result<Vec<FailedMigration>> {
    let sql = format!(
        r#"SELECT version, name, checksum, applied_at, error FROM main."{table}"
           WHERE state = 'failed' ORDER BY version"#
    );
    tracking_rows(conn, table, &sql, |row, version| {
        Ok(FailedMigration {
            version: version_of(table, version)?,
            name: column(row, 1, table, Some(version))?,
            checksum: checksum_column(row, 2, table, version)?,
            failed_at: column(row, 3, table, Some(version))?,
            error: column::<Option<String>>(row, 4, table, Some(version))?.unwrap_or_default(),
        })
    })
}

pub(super) fn dirty(conn: &Connection, table: &str) -> Result<Vec<DirtyMigration>> {
    let sql = format!(
        r#"SELECT version, name, applied_at, error, state FROM main."{table}"
           WHERE {UNFINISHED} ORDER BY version"#
    );
    tracking_rows(conn, table, &sql, |row, version| {
        dirty_row(row, table, version, [1, 2, 3, 4])
    })
}

/// A dirty row whose name, `applied_at`, error and state are the columns
/// `at`; a state the runner never writes is [`Error::MalformedRow`].
fn dirty_row(
    row: &rusqlite::Row<'_>,
    table: &str,
    version: i64,
    at: [usize; 4],
) -> Result<DirtyMigration> {
    let [name, started_at, error, state] = at;
    let state: Option<String> = column(row, state, table, Some(version))?;
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
        name: column(row, name, table, Some(version))?,
        direction,
        started_at: column(row, started_at, table, Some(version))?,
        error: column(row, error, table, Some(version))?,
    })
}

/// What the up-to-date check reads first (see
/// [`Transaction::head`](crate::backend::Transaction::head)), in one
/// statement, prepared once per connection: the latest applied row (from
/// the end of the table, by its rowid) and every unfinished row (from the
/// partial index), so the cost does not grow with the number applied.
/// `None` without a tracking table: the statement does not compile then,
/// and [`table_exists`] tells that apart from any other error.
pub(super) fn head(conn: &Connection, table: &str) -> Result<Option<Head>> {
    // Part 0: the latest applied row; part 1: the unfinished ones, with
    // the columns `dirty` reads.
    let sql = format!(
        r#"SELECT 0, version, running_checksum, NULL, NULL, NULL FROM (
               SELECT version, running_checksum FROM main."{table}"
               WHERE state = 'applied' ORDER BY version DESC LIMIT 1)
           UNION ALL
           SELECT 1, version, name, applied_at, error, state FROM main."{table}"
           WHERE {UNFINISHED}"#
    );
    unless_missing(conn, table, || {
        let mut statement = match conn.prepare_cached(&sql) {
            Ok(statement) => statement,
            Err(error) => return Ok(Err(error)),
        };
        let mut rows = match statement.query([]) {
            Ok(rows) => rows,
            Err(error) => return Ok(Err(error)),
        };
        let mut head = Head::default();
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(error) => return Ok(Err(error)),
            };
            let version: i64 = column(row, 1, table, None)?;
            if column::<i64>(row, 0, table, Some(version))? == 0 {
                let running = checksum_ref(row, 2, table, version, "running_checksum")?
                    .ok_or_else(|| Error::MalformedRow {
                        table: table.to_owned(),
                        version: Some(version),
                        detail: "an applied migration without `running_checksum`".to_owned(),
                    })?;
                head.latest = Some((version_of(table, version)?, running));
            } else {
                let dirty = dirty_row(row, table, version, [2, 3, 4, 5])?;
                // The lowest, as `dirty` lists them first.
                if head
                    .dirty
                    .as_ref()
                    .is_none_or(|d| dirty.version < d.version)
                {
                    head.dirty = Some(dirty);
                }
            }
        }
        Ok(Ok(head))
    })
}

/// Runs `read`, a read of the tracking table that returns SQLite's errors
/// as its inner result: `None` when it fails because there is no tracking
/// table. A statement that names a missing table fails when it is prepared,
/// or, cached while the table existed (before a rollback that dropped it),
/// when it runs; either way [`table_exists`] is asked. A failed prepare
/// begins no read of the database, so another connection may have created
/// the table in between: then `read` runs again, in the read that
/// `table_exists` began, where the table exists.
fn unless_missing<T>(
    conn: &Connection,
    table: &str,
    mut read: impl FnMut() -> Result<rusqlite::Result<T>>,
) -> Result<Option<T>> {
    if let Ok(value) = read()? {
        return Ok(Some(value));
    }
    if !table_exists(conn, table)? {
        return Ok(None);
    }
    read()?.map(Some).map_err(reading(table))
}

/// A checksum column read without copying its text: `None` for NULL.
fn checksum_ref(
    row: &rusqlite::Row<'_>,
    index: usize,
    table: &str,
    version: i64,
    name: &str,
) -> Result<Option<Checksum>> {
    let malformed = |detail: String| Error::MalformedRow {
        table: table.to_owned(),
        version: Some(version),
        detail,
    };
    match row.get_ref(index).map_err(|e| malformed(e.to_string()))? {
        rusqlite::types::ValueRef::Null => Ok(None),
        value => {
            let text = value
                .as_str()
                .map_err(|e| malformed(format!("column `{name}`: {e}")))?;
            checksum_of(table, version, name, text).map(Some)
        }
    }
}

/// Everything `status` reads, in one pass over the tracking table in
/// version order (see [`Records`]), each row read as the query of its kind
/// reads it: applied rows as [`applied`], the latest one's running checksum
/// as [`latest_applied`], failed ones as [`failed`], and every other state
/// as [`dirty`] does (a state the runner never writes is an error).
pub(super) fn records(conn: &Connection, table: &str) -> Result<Option<Records>> {
    let sql = format!(
        r#"SELECT version, state, name, checksum, running_checksum, applied_at, duration_ms, error
           FROM main."{table}" ORDER BY version"#
    );
    unless_missing(conn, table, || {
        let mut statement = match conn.prepare_cached(&sql) {
            Ok(statement) => statement,
            Err(error) => return Ok(Err(error)),
        };
        let mut rows = match statement.query([]) {
            Ok(rows) => rows,
            Err(error) => return Ok(Err(error)),
        };
        let mut records = Records::default();
        // The latest applied row so far: its version, and whether it has a
        // running checksum, whose text is kept in a buffer used again for each
        // row, and read (as `latest_applied` reads it) once the latest is known.
        let mut latest: Option<(i64, bool)> = None;
        let mut running = String::new();
        loop {
            let row = match rows.next() {
                Ok(Some(row)) => row,
                Ok(None) => break,
                Err(error) => return Ok(Err(error)),
            };
            let version: i64 = column(row, 0, table, None)?;
            let state = row.get_ref(1).ok().and_then(|state| state.as_str().ok());
            match state {
                Some("applied") => {
                    records.applied.push(AppliedMigration {
                        version: version_of(table, version)?,
                        name: column(row, 2, table, Some(version))?,
                        checksum: checksum_column(row, 3, table, version)?,
                        applied_at: column(row, 5, table, Some(version))?,
                        duration: duration_of(
                            table,
                            version,
                            column(row, 6, table, Some(version))?,
                        )?,
                    });
                    let text = row.get_ref(4).ok().and_then(|value| value.as_str().ok());
                    running.clear();
                    running.push_str(text.unwrap_or_default());
                    latest = Some((version, text.is_some()));
                }
                Some("failed") => records.failed.push(FailedMigration {
                    version: version_of(table, version)?,
                    name: column(row, 2, table, Some(version))?,
                    checksum: checksum_column(row, 3, table, version)?,
                    failed_at: column(row, 5, table, Some(version))?,
                    error: column::<Option<String>>(row, 7, table, Some(version))?
                        .unwrap_or_default(),
                }),
                _ => records
                    .dirty
                    .push(dirty_row(row, table, version, [2, 5, 7, 1])?),
            }
        }
        drop(rows);
        records.latest = match latest {
            None => None,
            Some((version, false)) => {
                return Err(Error::MalformedRow {
                    table: table.to_owned(),
                    version: Some(version),
                    detail: "an applied migration without `running_checksum`".to_owned(),
                });
            }
            Some((version, true)) => Some((
                version_of(table, version)?,
                checksum_of(table, version, "running_checksum", &running)?,
            )),
        };
        Ok(Ok(records))
    })
}

/// Records `migration` as applied at `at` (see [`now`]): one plain
/// `INSERT` of its row when the version has none, the usual case; an upsert
/// over a failed attempt or a dirty mark otherwise.
pub(super) fn record_applied(
    conn: &Connection,
    table: &str,
    migration: &Migration,
    running_checksum: Checksum,
    duration: Duration,
    at: &str,
) -> Result<()> {
    let (checksum, running) = (migration.checksum().text(), running_checksum.text());
    let params = params![
        sql_version(migration.version()),
        migration.name(),
        checksum.as_str(),
        running.as_str(),
        at,
        millis(duration),
    ];
    // An INSERT that does nothing on a conflict: SQLite prepares it in about
    // half the upsert's time, and a migration's schema change makes it
    // prepare the cached statement again each time. Its conflict clause
    // needs the primary key, as the upsert's does, so a table rebuilt
    // without it is refused alike.
    let insert = format!(
        r#"INSERT INTO main."{table}"
               (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'applied', NULL)
           ON CONFLICT (version) DO NOTHING"#
    );
    if execute_cached(conn, &insert, params).map_err(writing(table))? == 1 {
        return Ok(());
    }
    // The version has a row (a failed attempt, a dirty mark, or an applied
    // row): the upsert decides.
    let upsert = format!(
        r#"INSERT INTO main."{table}"
               (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'applied', NULL)
           ON CONFLICT (version) DO UPDATE SET
               name = excluded.name, checksum = excluded.checksum,
               running_checksum = excluded.running_checksum, applied_at = excluded.applied_at,
               duration_ms = excluded.duration_ms, state = 'applied', error = NULL
           WHERE state <> 'applied'"#
    );
    match execute_cached(conn, &upsert, params).map_err(writing(table))? {
        // The upsert skips a row that is already applied: another process
        // recorded it while this one ran it outside a transaction.
        0 => Err(Error::database(
            format!(
                "recording migration {} ({}) as applied in `{table}`",
                migration.version(),
                migration.name()
            ),
            "it is already recorded as applied, by another process",
        )),
        _ => Ok(()),
    }
}

pub(super) fn set_running_checksum(
    conn: &Connection,
    table: &str,
    version: u64,
    running: Checksum,
) -> Result<()> {
    let sql = format!(r#"UPDATE main."{table}" SET running_checksum = ?2 WHERE version = ?1"#);
    execute_cached(
        conn,
        &sql,
        params![sql_version(version), running.text().as_str()],
    )
    .map(drop)
    .map_err(writing(table))
}

pub(super) fn set_name_and_checksum(
    conn: &Connection,
    table: &str,
    version: u64,
    name: &str,
    checksum: Checksum,
) -> Result<()> {
    let sql = format!(r#"UPDATE main."{table}" SET name = ?2, checksum = ?3 WHERE version = ?1"#);
    execute_cached(
        conn,
        &sql,
        params![sql_version(version), name, checksum.text().as_str()],
    )
    .map(drop)
    .map_err(writing(table))
}

pub(super) fn record_failure(
    conn: &Connection,
    table: &str,
    migration: &Migration,
    duration: Duration,
    error: &str,
) -> Result<()> {
    let sql = format!(
        r#"INSERT INTO main."{table}"
               (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
           VALUES (?1, ?2, ?3, NULL, ?6, ?4, 'failed', ?5)
           ON CONFLICT (version) DO UPDATE SET
               name = excluded.name, checksum = excluded.checksum, applied_at = excluded.applied_at,
               duration_ms = excluded.duration_ms, error = excluded.error
           WHERE state = 'failed'"#
    );
    execute_cached(
        conn,
        &sql,
        params![
            sql_version(migration.version()),
            migration.name(),
            migration.checksum().text().as_str(),
            millis(duration),
            error,
            now(),
        ],
    )
    .map(drop)
    .map_err(writing(table))
}

pub(super) fn mark_dirty(
    conn: &Connection,
    table: &str,
    migration: &Migration,
    direction: Direction,
) -> Result<()> {
    let version = sql_version(migration.version());
    let state = dirty_state(direction);
    let changed = match direction {
        // A new row, or one replacing a failed attempt.
        Direction::Up => execute_cached(
            conn,
            &format!(
                r#"INSERT INTO main."{table}"
                       (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
                   VALUES (?1, ?2, ?3, NULL, ?5, 0, ?4, NULL)
                   ON CONFLICT (version) DO UPDATE SET
                       name = excluded.name, checksum = excluded.checksum,
                       applied_at = excluded.applied_at, duration_ms = 0,
                       state = excluded.state, error = NULL
                   WHERE state = 'failed'"#
            ),
            params![
                version,
                migration.name(),
                migration.checksum().text().as_str(),
                state,
                now(),
            ],
        ),
        // The applied row; it leaves the running checksum chain.
        Direction::Down => execute_cached(
            conn,
            &format!(
                r#"UPDATE main."{table}" SET state = ?2, running_checksum = NULL,
                       applied_at = ?3, error = NULL
                   WHERE version = ?1 AND state = 'applied'"#
            ),
            params![version, state, now()],
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

pub(super) fn set_dirty_error(
    conn: &Connection,
    table: &str,
    version: u64,
    error: &str,
) -> Result<()> {
    let sql = format!(
        r#"UPDATE main."{table}" SET error = ?2
           WHERE version = ?1 AND state IN ('dirty_up', 'dirty_down')"#
    );
    execute_cached(conn, &sql, params![sql_version(version), error])
        .map(drop)
        .map_err(writing(table))
}

pub(super) fn remove(conn: &Connection, table: &str, version: u64) -> Result<()> {
    let sql = format!(r#"DELETE FROM main."{table}" WHERE version = ?1"#);
    execute_cached(conn, &sql, [sql_version(version)])
        .map(drop)
        .map_err(writing(table))
}

/// Appends `event` to the history at `at` (see [`now`]).
pub(super) fn record_event(
    conn: &Connection,
    table: &str,
    event: &NewEvent<'_>,
    at: &str,
) -> Result<()> {
    let events = events_table(table);
    let sql = format!(
        r#"INSERT INTO main."{events}" (at, event, version, name, direction, checksum, duration_ms, detail)
           VALUES (?8, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"#
    );
    let checksum = event.checksum.map(|c| c.text());
    execute_cached(
        conn,
        &sql,
        params![
            event.kind.as_str(),
            sql_version(event.version),
            event.name,
            event.direction.as_str(),
            checksum.as_ref().map(|c| c.as_str()),
            event.duration.map(millis),
            event.detail,
            at,
        ],
    )
    .map(drop)
    .map_err(context(format!("writing to the history `{events}`")))
}

/// The `applied` events of `versions`, in that order, copied from their
/// tracking rows as [`record_applied`] just wrote them (the event's time,
/// checksum and duration are the row's): one statement for a group.
/// `versions` travel as one JSON array bound to the statement, read with
/// SQLite's `json_each` (<https://www.sqlite.org/json1.html#jeach>), whose
/// `key` is the position in the array.
pub(super) fn record_applied_events(
    conn: &Connection,
    table: &str,
    versions: &[u64],
) -> Result<()> {
    let events = events_table(table);
    let sql = format!(
        r#"INSERT INTO main."{events}" (at, event, version, name, direction, checksum, duration_ms, detail)
           SELECT t.applied_at, 'applied', t.version, t.name, 'up', t.checksum, t.duration_ms, NULL
           FROM json_each(?1) AS j JOIN main."{table}" AS t ON t.version = j.value
           ORDER BY j.key"#
    );
    let list = format!(
        "[{}]",
        versions
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    let written = conn
        .prepare_cached(&sql)
        .and_then(|mut statement| statement.execute([list]))
        .map_err(context(format!("writing to the history `{events}`")))?;
    if written == versions.len() {
        Ok(())
    } else {
        Err(Error::database(
            format!("writing to the history `{events}`"),
            format!(
                "{written} of {} applied migrations had a tracking row to copy",
                versions.len()
            ),
        ))
    }
}

pub(super) fn events(conn: &Connection, table: &str) -> Result<Vec<Event>> {
    let events = events_table(table);
    if !table_exists(conn, &events)? {
        return Ok(Vec::new());
    }
    let sql = format!(
        r#"SELECT version, id, at, event, name, direction, checksum, duration_ms, detail
           FROM main."{events}" ORDER BY id"#
    );
    tracking_rows(conn, &events, &sql, |row, version| {
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

/// A version as SQLite INTEGER. Every version of a [`Migration`] or read from
/// the tracking table is at most `i64::MAX` (the folder grammar and
/// `version_of` check it), so the conversion is exact.
pub(super) fn sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's own text for `unix_millis`, as `now` must match it.
    fn sqlite_text(conn: &Connection, unix_millis: u64) -> rusqlite::Result<String> {
        conn.query_row(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?1 / 1000.0, 'unixepoch')",
            [unix_millis as f64],
            |row| row.get(0),
        )
    }

    #[test]
    fn times_are_written_as_sqlite_writes_them() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        // Milliseconds that are exact binary fractions (.000, .125, .500,
        // .875), so that SQLite's floating-point seconds do not round them.
        let day = 86_400_000;
        let mut samples = vec![0, 125, day - 125, 951_782_400_000 + 500];
        // Every 97 days and a few hours from 1970 to past 2400, through
        // leap days, century years (2100 is not a leap year, 2000 is).
        let mut at = 0;
        while at < 13_800_000_000_000 {
            samples.push(at + 875);
            at += 97 * day + 3_600_000 * 5 + 61_000;
        }
        // 2000-02-29, 2100-02-28 and 2100-03-01, 9999-12-31 23:59:59.
        samples.extend([951_782_400_000, 4_107_456_000_000, 4_107_542_400_000]);
        samples.push(253_402_300_799_000);
        for millis in samples {
            assert_eq!(
                rfc3339_millis(millis),
                sqlite_text(&conn, millis)?,
                "{millis}"
            );
        }
        Ok(())
    }

    #[test]
    fn now_is_the_time_sqlite_reads() -> rusqlite::Result<()> {
        let conn = Connection::open_in_memory()?;
        let sqlite_now = || -> rusqlite::Result<String> {
            conn.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| {
                row.get(0)
            })
        };
        let before = sqlite_now()?;
        let ours = now();
        let after = sqlite_now()?;
        // One clock: ours falls between SQLite's readings before and after.
        assert!(before <= ours && ours <= after, "{before} {ours} {after}");
        Ok(())
    }
}
