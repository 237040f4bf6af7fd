//! The tracking table and its history on SQLite: their `CREATE`
//! statements, and every read and write of them, as bound-parameter SQL on
//! `main."<table>"` (the name is a validated identifier).

use std::time::Duration;

use rusqlite::{Connection, params};

use crate::backend::NewEvent;
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

/// The `checksum` column (index 2) of a tracking row.
fn checksum_column(row: &rusqlite::Row<'_>, table: &str, version: i64) -> Result<Checksum> {
    let text: String = column(row, 2, table, Some(version))?;
    checksum_of(table, version, "checksum", &text)
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

/// A UTC timestamp in RFC 3339 with milliseconds, computed by SQLite.
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

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
            checksum: checksum_column(row, table, version)?,
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
            checksum: checksum_column(row, table, version)?,
            failed_at: column(row, 3, table, Some(version))?,
            error: column::<Option<String>>(row, 4, table, Some(version))?.unwrap_or_default(),
        })
    })
}

pub(super) fn dirty(conn: &Connection, table: &str) -> Result<Vec<DirtyMigration>> {
    let sql = format!(
        r#"SELECT version, name, checksum, applied_at, error, state FROM main."{table}"
           WHERE {UNFINISHED} ORDER BY version"#
    );
    tracking_rows(conn, table, &sql, |row, version| {
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

pub(super) fn record_applied(
    conn: &Connection,
    table: &str,
    migration: &Migration,
    running_checksum: Checksum,
    duration: Duration,
) -> Result<String> {
    let params = params![
        sql_version(migration.version()),
        migration.name(),
        migration.checksum().to_string(),
        running_checksum.to_string(),
        millis(duration),
    ];
    // Usually the version has no row yet: an INSERT that does nothing on a
    // conflict, which SQLite prepares in about half the upsert's time (and
    // a migration's schema change makes it prepare the cached statement
    // again each time). Its conflict clause needs the primary key, as the
    // upsert's does, so a table rebuilt without it is refused alike.
    let insert = format!(
        r#"INSERT INTO main."{table}"
               (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
           VALUES (?1, ?2, ?3, ?4, {NOW}, ?5, 'applied', NULL)
           ON CONFLICT (version) DO NOTHING
           RETURNING applied_at"#
    );
    match query_row_cached(conn, &insert, params, |row| row.get(0)) {
        // The version has a row (a failed attempt, a dirty mark, or an
        // applied row): the upsert decides.
        Err(rusqlite::Error::QueryReturnedNoRows) => {}
        inserted => return inserted.map_err(writing(table)),
    }
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
    query_row_cached(conn, &sql, params, |row| row.get(0))
    .map_err(|source| match source {
        // The upsert skips a row that is already applied: another process
        // recorded it while this one ran it outside a transaction.
        rusqlite::Error::QueryReturnedNoRows => engine_error(
            format!(
                "recording migration {} ({}) as applied in `{table}`: it is already recorded as applied, by another process",
                migration.version(),
                migration.name()
            ),
            source,
        ),
        source => writing(table)(source),
    })
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
        params![sql_version(version), running.to_string()],
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
        params![sql_version(version), name, checksum.to_string()],
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
           VALUES (?1, ?2, ?3, NULL, {NOW}, ?4, 'failed', ?5)
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
            migration.checksum().to_string(),
            millis(duration),
            error,
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
        Direction::Down => execute_cached(
        conn,
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

pub(super) fn record_event(conn: &Connection, table: &str, event: &NewEvent<'_>) -> Result<()> {
    let events = events_table(table);
    let sql = format!(
        r#"INSERT INTO main."{events}" (at, event, version, name, direction, checksum, duration_ms, detail)
           VALUES ({NOW}, ?1, ?2, ?3, ?4, ?5, ?6, ?7)"#
    );
    execute_cached(
        conn,
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
