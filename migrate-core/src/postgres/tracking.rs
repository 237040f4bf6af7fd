//! The tracking table and its history on PostgreSQL: their `CREATE`
//! statements, every read and write of them (bound parameters on
//! `"<schema>"."<table>"`, both validated identifiers), and the rows read
//! back as reports. The same columns and states as on SQLite; versions are
//! `BIGINT`, times `timestamptz`, reported in UTC as RFC 3339 with
//! milliseconds.

use std::time::Duration;

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use crate::backend::Head;
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::report::{
    AppliedMigration, Direction, DirtyMigration, Event, EventKind, FailedMigration,
};

/// The names of one tracking table: its schema and table, and its history.
#[derive(Debug)]
pub(crate) struct Names {
    schema: String,
    table: String,
}

impl Names {
    pub(crate) fn new(schema: &str, table: &str) -> Names {
        Names {
            schema: schema.to_owned(),
            table: table.to_owned(),
        }
    }

    /// The schema, unquoted.
    pub(crate) fn schema_name(&self) -> &str {
        &self.schema
    }

    /// The table, unquoted.
    pub(crate) fn table_name(&self) -> &str {
        &self.table
    }

    /// `"schema"."table"`.
    fn table(&self) -> String {
        format!(r#""{}"."{}""#, self.schema, self.table)
    }

    /// `"schema"."table_events"`.
    fn events(&self) -> String {
        format!(r#""{}"."{}_events""#, self.schema, self.table)
    }

    /// The table as `to_regclass` takes it.
    pub(crate) fn regclass(&self) -> String {
        self.table()
    }

    /// The history as `to_regclass` takes it.
    pub(crate) fn events_regclass(&self) -> String {
        self.events()
    }

    /// The table as messages name it: `table`, or `schema.table` outside
    /// the default schema.
    fn name(&self) -> String {
        if self.schema == super::DEFAULT_SCHEMA {
            self.table.clone()
        } else {
            format!("{}.{}", self.schema, self.table)
        }
    }

    /// The table's name in backquotes, for messages.
    pub(crate) fn display(&self) -> String {
        format!("`{}`", self.name())
    }

    fn malformed(&self, version: Option<i64>, detail: impl Into<String>) -> Error {
        Error::MalformedRow {
            table: self.name(),
            version,
            detail: detail.into(),
        }
    }
}

/// Which advisory lock.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// The run's: held by a run (session lock) or a write to the tracking
    /// table (transaction lock).
    Run,
    /// Held while a migration runs outside a transaction.
    Outside,
}

/// The advisory lock key of `key` for this tracking table, as a SQL
/// expression computed by the server: the first 64 bits of the SHA-256 of
/// (database, schema, table, which lock), so that runners on any machine
/// agree on it and two tracking tables never share one.
fn key(names: &Names, key: Key) -> String {
    let which = match key {
        Key::Run => "run",
        Key::Outside => "outside",
    };
    format!(
        "('x' || left(encode(sha256(convert_to(concat_ws(chr(31), 'migrate', current_database(), '{}', '{}', '{which}'), 'UTF8')), 'hex'), 16))::bit(64)::bigint",
        names.schema, names.table
    )
}

/// How long a lock is held.
#[derive(Clone, Copy)]
pub(crate) enum Lock {
    /// Until released (`pg_advisory_lock`).
    Session,
    /// Until the transaction ends (`pg_advisory_xact_lock`).
    Transaction,
}

/// Takes the run's lock, waiting at most `timeout` (PostgreSQL's
/// `lock_timeout`, whole milliseconds, at least 1 since 0 means forever),
/// then puts the client's own `lock_timeout` back, so that the migrations do
/// not run under the runner's. One statement: if the wait fails, the setting
/// is undone with its (implicit or enclosing) transaction.
pub(crate) fn lock(names: &Names, lock: Lock, timeout: Duration) -> String {
    let ms = timeout.as_millis().clamp(1, u128::from(u32::MAX));
    let (function, local) = match lock {
        Lock::Session => ("pg_advisory_lock", "false"),
        Lock::Transaction => ("pg_advisory_xact_lock", "true"),
    };
    format!(
        "DO $migrate$
DECLARE own text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', '{ms}ms', {local});
    PERFORM {function}({key});
    PERFORM set_config('lock_timeout', own, {local});
END
$migrate$",
        key = key(names, Key::Run)
    )
}

/// Releases a session lock.
pub(crate) fn unlock(names: &Names, which: Key) -> String {
    format!("SELECT pg_advisory_unlock({})", key(names, which))
}

/// Takes the lock held while a migration runs outside a transaction.
pub(crate) fn lock_outside(names: &Names) -> String {
    format!("SELECT pg_advisory_lock({})", key(names, Key::Outside))
}

/// Whether another session holds the lock of a migration running outside a
/// transaction: it cannot be taken at once (when it can, it is given back).
pub(crate) fn another_is_running(names: &Names) -> String {
    let key = key(names, Key::Outside);
    format!(
        "SELECT CASE WHEN pg_try_advisory_lock({key}) THEN NOT pg_advisory_unlock({key}) ELSE true END"
    )
}

/// A time column as the reports give it: UTC, RFC 3339, milliseconds.
fn time(column: &str) -> String {
    format!(r#"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#)
}

/// Rows that are neither applied nor a failed attempt (see the SQLite
/// backend's `UNFINISHED`): the same text in the partial index and the
/// queries, so that PostgreSQL answers from the index.
const UNFINISHED: &str = "coalesce(state, '') NOT IN ('applied', 'failed')";

/// The `state` of a dirty row.
pub(crate) fn dirty_state(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "dirty_up",
        Direction::Down => "dirty_down",
    }
}

pub(crate) fn create_tables(names: &Names) -> String {
    let table = names.table();
    let events = names.events();
    let schema = &names.schema;
    let bare = &names.table;
    format!(
        r#"CREATE SCHEMA IF NOT EXISTS "{schema}";
CREATE TABLE IF NOT EXISTS {table} (
version          BIGINT      PRIMARY KEY CHECK (version > 0),
name             TEXT        NOT NULL,
checksum         TEXT        NOT NULL,
running_checksum TEXT,
applied_at       TIMESTAMPTZ NOT NULL,
duration_ms      BIGINT      NOT NULL,
state            TEXT        NOT NULL
                 CHECK (state IN ('applied', 'failed', 'dirty_up', 'dirty_down')),
error            TEXT
);
CREATE INDEX IF NOT EXISTS "{bare}_unfinished" ON {table} (version) WHERE {UNFINISHED};
CREATE TABLE IF NOT EXISTS {events} (
id          BIGINT      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
at          TIMESTAMPTZ NOT NULL,
event       TEXT        NOT NULL
            CHECK (event IN ('applied', 'rolled_back', 'failed', 'baselined', 'repaired')),
version     BIGINT      NOT NULL,
name        TEXT        NOT NULL,
direction   TEXT        NOT NULL CHECK (direction IN ('up', 'down')),
checksum    TEXT,
duration_ms BIGINT,
detail      TEXT
);"#
    )
}

/// The columns of a dirty row, from `version` on (see [`dirty_of`]).
fn dirty_columns(prefix: &str) -> String {
    format!(
        "{prefix}version, {prefix}name, {applied_at}, {prefix}error, {prefix}state",
        applied_at = time(&format!("{prefix}applied_at"))
    )
}

/// One row: the latest applied version and its running checksum (columns
/// 0–1), then the lowest unfinished row (columns 2–6, as [`dirty_of`]).
pub(crate) fn head(names: &Names) -> String {
    let table = names.table();
    format!(
        "SELECT l.version, l.running_checksum, {dirty}
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT version, running_checksum FROM {table}
                            WHERE state = 'applied' ORDER BY version DESC LIMIT 1) AS l ON true
         LEFT JOIN LATERAL (SELECT * FROM {table}
                            WHERE {UNFINISHED} ORDER BY version LIMIT 1) AS d ON true",
        dirty = dirty_columns("d.")
    )
}

pub(crate) fn head_of(names: &Names, row: &Row) -> Result<Head> {
    Ok(Head {
        latest: latest_of(names, row, 0)?,
        dirty: dirty_of(names, row, 2)?,
    })
}

/// The up-to-date check in one statement, for the simple-query protocol
/// outside any transaction: column 0 is whether the client is inside a
/// transaction of its own (`statement_timestamp() <> transaction_timestamp()`,
/// see the backend's `check_outside_transaction`), column 1 NULL when the
/// tracking table does not exist, else the head's summary (see
/// [`summary_of`]).
///
/// The table is read through `query_to_xml`, PostgreSQL's function that runs
/// a query given as text
/// (<https://www.postgresql.org/docs/15/functions-xml.html#FUNCTIONS-XML-MAPPING>),
/// under a `CASE` on `to_regclass`: "a CASE expression does not evaluate any
/// subexpressions that are not needed to determine the result"
/// (<https://www.postgresql.org/docs/15/functions-conditional.html>), and
/// `query_to_xml` is volatile, so never evaluated early. A query naming a
/// missing table would fail, and the error would abort a transaction the
/// caller had open; this one answers NULL instead.
pub(crate) fn head_summary(names: &Names) -> String {
    let table = names.table();
    let summary = format!(
        "SELECT concat(l.version, '|', l.running_checksum, '|', d.version) AS h
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT version, running_checksum FROM {table}
                            WHERE state = 'applied' ORDER BY version DESC LIMIT 1) AS l ON true
         LEFT JOIN LATERAL (SELECT version FROM {table}
                            WHERE {UNFINISHED} ORDER BY version LIMIT 1) AS d ON true"
    );
    format!(
        "SELECT statement_timestamp() <> transaction_timestamp(),
                CASE WHEN to_regclass({regclass}) IS NOT NULL
                     THEN query_to_xml({summary}, false, true, '') END",
        regclass = literal(&names.regclass()),
        summary = literal(&summary),
    )
}

/// A string literal of `text` (standard-conforming: only `'` is special).
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What [`head_summary`] found: the latest applied version with its running
/// checksum, and whether an unfinished (dirty) row exists, whose details
/// [`head`] then reads.
///
/// `xml` is `query_to_xml`'s one row, `<row …><h>VERSION|RUNNING|DIRTY</h></row>`,
/// each part empty when NULL; the text is XML-escaped (`&amp;`, `&lt;`,
/// `&gt;`, `&#x0d;`: PostgreSQL's `escape_xml`). A row that does not parse
/// is [`Error::MalformedRow`].
pub(crate) fn summary_of(names: &Names, xml: &str) -> Result<(Option<(u64, Checksum)>, bool)> {
    let malformed = || names.malformed(None, format!("the check returned `{xml}`"));
    let text = xml
        .split_once("<h>")
        .and_then(|(_, rest)| rest.split_once("</h>"))
        .map(|(text, _)| unescape_xml(text))
        .ok_or_else(malformed)?;
    let (version, rest) = text.split_once('|').ok_or_else(malformed)?;
    let (running, dirty) = rest.rsplit_once('|').ok_or_else(malformed)?;
    let latest = if version.is_empty() {
        None
    } else {
        let version: i64 = version.parse().map_err(|_| malformed())?;
        if running.is_empty() {
            return Err(names.malformed(
                Some(version),
                "an applied migration without `running_checksum`",
            ));
        }
        Some((
            version_of(names, version)?,
            checksum_of(names, version, "running_checksum", running)?,
        ))
    };
    Ok((latest, !dirty.is_empty()))
}

/// Undoes PostgreSQL's `escape_xml` (and the two entities it never writes).
fn unescape_xml(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#x0d;", "\r")
        .replace("&amp;", "&")
}

pub(crate) fn latest_applied(names: &Names) -> String {
    format!(
        "SELECT version, running_checksum FROM {} WHERE state = 'applied'
         ORDER BY version DESC LIMIT 1",
        names.table()
    )
}

pub(crate) fn running_checksum_below(names: &Names) -> String {
    format!(
        "SELECT version, running_checksum FROM {} WHERE state = 'applied' AND version < $1
         ORDER BY version DESC LIMIT 1",
        names.table()
    )
}

/// A version and running checksum at columns `at`, `at + 1`; `None` when
/// the version is NULL (no row).
pub(crate) fn latest_of(names: &Names, row: &Row, at: usize) -> Result<Option<(u64, Checksum)>> {
    let Some(version) = column::<Option<i64>>(names, row, at, None)? else {
        return Ok(None);
    };
    let running: Option<String> = column(names, row, at + 1, Some(version))?;
    let running = running.ok_or_else(|| {
        names.malformed(
            Some(version),
            "an applied migration without `running_checksum`",
        )
    })?;
    Ok(Some((
        version_of(names, version)?,
        checksum_of(names, version, "running_checksum", &running)?,
    )))
}

pub(crate) fn applied(names: &Names) -> String {
    format!(
        "SELECT version, name, checksum, {}, duration_ms FROM {} WHERE state = 'applied'
         ORDER BY version",
        time("applied_at"),
        names.table()
    )
}

pub(crate) fn applied_of(names: &Names, row: &Row) -> Result<AppliedMigration> {
    let version: i64 = column(names, row, 0, None)?;
    let checksum: String = column(names, row, 2, Some(version))?;
    Ok(AppliedMigration {
        version: version_of(names, version)?,
        name: column(names, row, 1, Some(version))?,
        checksum: checksum_of(names, version, "checksum", &checksum)?,
        applied_at: column(names, row, 3, Some(version))?,
        duration: duration_of(names, version, column(names, row, 4, Some(version))?)?,
    })
}

pub(crate) fn failed(names: &Names) -> String {
    format!(
        "SELECT version, name, checksum, {}, error FROM {} WHERE state = 'failed'
         ORDER BY version",
        time("applied_at"),
        names.table()
    )
}

pub(crate) fn failed_of(names: &Names, row: &Row) -> Result<FailedMigration> {
    let version: i64 = column(names, row, 0, None)?;
    let checksum: String = column(names, row, 2, Some(version))?;
    Ok(FailedMigration {
        version: version_of(names, version)?,
        name: column(names, row, 1, Some(version))?,
        checksum: checksum_of(names, version, "checksum", &checksum)?,
        failed_at: column(names, row, 3, Some(version))?,
        error: column::<Option<String>>(names, row, 4, Some(version))?.unwrap_or_default(),
    })
}

pub(crate) fn dirty(names: &Names) -> String {
    format!(
        "SELECT {} FROM {} WHERE {UNFINISHED} ORDER BY version",
        dirty_columns(""),
        names.table()
    )
}

/// A dirty row at columns `at..at + 5` (version, name, started at, error,
/// state); `None` when the version is NULL (no row). A state the runner
/// never writes is [`Error::MalformedRow`].
pub(crate) fn dirty_of(names: &Names, row: &Row, at: usize) -> Result<Option<DirtyMigration>> {
    let Some(version) = column::<Option<i64>>(names, row, at, None)? else {
        return Ok(None);
    };
    let state: Option<String> = column(names, row, at + 4, Some(version))?;
    let direction = match state.as_deref() {
        Some("dirty_up") => Direction::Up,
        Some("dirty_down") => Direction::Down,
        other => {
            return Err(names.malformed(
                Some(version),
                format!(
                    "column `state` is {}, not one of applied, failed, dirty_up, dirty_down",
                    other.map_or("NULL".to_owned(), |s| format!("`{s}`"))
                ),
            ));
        }
    };
    Ok(Some(DirtyMigration {
        version: version_of(names, version)?,
        name: column(names, row, at + 1, Some(version))?,
        direction,
        started_at: column(names, row, at + 2, Some(version))?,
        error: column(names, row, at + 3, Some(version))?,
    }))
}

/// Records a migration as applied (`$1`–`$5`: version, name, checksum,
/// running checksum, duration in milliseconds), replacing a failed or
/// dirty row of its version but not an applied one.
fn upsert_applied(names: &Names) -> String {
    format!(
        "INSERT INTO {} AS t
             (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
         VALUES ($1, $2, $3, $4, statement_timestamp(), $5, 'applied', NULL)
         ON CONFLICT (version) DO UPDATE SET
             name = excluded.name, checksum = excluded.checksum,
             running_checksum = excluded.running_checksum, applied_at = excluded.applied_at,
             duration_ms = excluded.duration_ms, state = 'applied', error = NULL
         WHERE t.state <> 'applied'",
        names.table()
    )
}

/// [`upsert_applied`], returning `applied_at` as text (no row when the
/// version was already applied).
pub(crate) fn record_applied(names: &Names) -> String {
    format!("{} RETURNING {}", upsert_applied(names), time("applied_at"))
}

/// [`record_applied`] and [`record_event`]'s insert in one statement (a
/// data-modifying `WITH`): `$1`–`$5` as `record_applied`, `$6`–`$12` as
/// `record_event`'s `$1`–`$7`. The event is written only when the row is.
pub(crate) fn record_applied_with_event(names: &Names) -> String {
    format!(
        "WITH recorded AS ({upsert} RETURNING applied_at),
         logged AS (
             INSERT INTO {events} (at, event, version, name, direction, checksum, duration_ms, detail)
             SELECT statement_timestamp(), $6, $7, $8, $9, $10, $11, $12 FROM recorded
         )
         SELECT {applied_at} FROM recorded",
        upsert = upsert_applied(names),
        events = names.events(),
        applied_at = time("applied_at")
    )
}

pub(crate) fn set_running_checksum(names: &Names) -> String {
    format!(
        "UPDATE {} SET running_checksum = $2 WHERE version = $1",
        names.table()
    )
}

pub(crate) fn set_name_and_checksum(names: &Names) -> String {
    format!(
        "UPDATE {} SET name = $2, checksum = $3 WHERE version = $1",
        names.table()
    )
}

pub(crate) fn record_failure(names: &Names) -> String {
    format!(
        "INSERT INTO {} AS t
             (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
         VALUES ($1, $2, $3, NULL, statement_timestamp(), $4, 'failed', $5)
         ON CONFLICT (version) DO UPDATE SET
             name = excluded.name, checksum = excluded.checksum, applied_at = excluded.applied_at,
             duration_ms = excluded.duration_ms, error = excluded.error
         WHERE t.state = 'failed'",
        names.table()
    )
}

/// A new dirty row, or one replacing a failed attempt; returns the row.
pub(crate) fn mark_dirty_up(names: &Names) -> String {
    format!(
        "INSERT INTO {} AS t
             (version, name, checksum, running_checksum, applied_at, duration_ms, state, error)
         VALUES ($1, $2, $3, NULL, statement_timestamp(), 0, $4, NULL)
         ON CONFLICT (version) DO UPDATE SET
             name = excluded.name, checksum = excluded.checksum,
             applied_at = excluded.applied_at, duration_ms = 0, state = excluded.state,
             error = NULL
         WHERE t.state = 'failed'
         RETURNING version",
        names.table()
    )
}

/// The applied row leaves the running checksum chain; returns the row.
pub(crate) fn mark_dirty_down(names: &Names) -> String {
    format!(
        "UPDATE {} SET state = $2, running_checksum = NULL, applied_at = statement_timestamp(),
             error = NULL
         WHERE version = $1 AND state = 'applied'
         RETURNING version",
        names.table()
    )
}

pub(crate) fn set_dirty_error(names: &Names) -> String {
    format!(
        "UPDATE {} SET error = $2 WHERE version = $1 AND state IN ('dirty_up', 'dirty_down')",
        names.table()
    )
}

pub(crate) fn remove(names: &Names) -> String {
    format!("DELETE FROM {} WHERE version = $1", names.table())
}

pub(crate) fn record_event(names: &Names) -> String {
    format!(
        "INSERT INTO {} (at, event, version, name, direction, checksum, duration_ms, detail)
         VALUES (statement_timestamp(), $1, $2, $3, $4, $5, $6, $7)",
        names.events()
    )
}

pub(crate) fn events(names: &Names) -> String {
    format!(
        "SELECT version, id, {}, event, name, direction, checksum, duration_ms, detail
         FROM {} ORDER BY id",
        time("at"),
        names.events()
    )
}

pub(crate) fn event_of(names: &Names, row: &Row) -> Result<Event> {
    let version: i64 = column(names, row, 0, None)?;
    let malformed = |detail: String| names.malformed(Some(version), detail);
    let id: i64 = column(names, row, 1, Some(version))?;
    let kind: String = column(names, row, 3, Some(version))?;
    let direction: String = column(names, row, 5, Some(version))?;
    let checksum: Option<String> = column(names, row, 6, Some(version))?;
    let duration: Option<i64> = column(names, row, 7, Some(version))?;
    Ok(Event {
        id: u64::try_from(id).map_err(|_| malformed(format!("negative id {id}")))?,
        at: column(names, row, 2, Some(version))?,
        kind: EventKind::parse(&kind)
            .ok_or_else(|| malformed(format!("unknown event `{kind}`")))?,
        version: version_of(names, version)?,
        name: column(names, row, 4, Some(version))?,
        direction: match direction.as_str() {
            "up" => Direction::Up,
            "down" => Direction::Down,
            other => return Err(malformed(format!("unknown direction `{other}`"))),
        },
        checksum: checksum
            .map(|text| checksum_of(names, version, "checksum", &text))
            .transpose()?,
        duration: duration
            .map(|ms| duration_of(names, version, ms))
            .transpose()?,
        detail: column(names, row, 8, Some(version))?,
    })
}

/// A column, a wrong type or NULL being [`Error::MalformedRow`].
fn column<'r, T: FromSql<'r>>(
    names: &Names,
    row: &'r Row,
    index: usize,
    version: Option<i64>,
) -> Result<T> {
    row.try_get(index)
        .map_err(|error| names.malformed(version, error.to_string()))
}

fn version_of(names: &Names, version: i64) -> Result<u64> {
    u64::try_from(version)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| names.malformed(Some(version), "the version is not a positive integer"))
}

fn checksum_of(names: &Names, version: i64, column: &str, text: &str) -> Result<Checksum> {
    text.parse()
        .map_err(|error| names.malformed(Some(version), format!("column `{column}`: {error}")))
}

fn duration_of(names: &Names, version: i64, millis: i64) -> Result<Duration> {
    u64::try_from(millis)
        .map(Duration::from_millis)
        .map_err(|_| {
            names.malformed(
                Some(version),
                format!("column `duration_ms` is negative ({millis})"),
            )
        })
}

/// A version as `BIGINT`: every version of a migration or read back is at
/// most `i64::MAX` (the folder grammar and [`version_of`] check it).
pub(crate) fn sql_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        Names::new("public", "migrate_schema_history")
    }

    fn row(h: &str) -> String {
        format!(
            "<row xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n  <h>{h}</h>\n</row>\n\n"
        )
    }

    #[test]
    fn a_summary_gives_the_latest_version_its_running_checksum_and_a_dirty_row() {
        let running = Checksum::of_text("x");
        let found = summary_of(&names(), &row(&format!("12|{running}|"))).unwrap();
        assert_eq!(found, (Some((12, running)), false));
        let found = summary_of(&names(), &row(&format!("12|{running}|13"))).unwrap();
        assert_eq!(found, (Some((12, running)), true));
        assert_eq!(summary_of(&names(), &row("||")).unwrap(), (None, false));
        assert_eq!(summary_of(&names(), &row("||1")).unwrap(), (None, true));
    }

    #[test]
    fn a_malformed_summary_is_a_malformed_row() {
        for h in [
            "12||",
            "x|sha256:00|",
            "0|sha256:00|",
            "12|sha256:zz|",
            "12",
        ] {
            let error = summary_of(&names(), &row(h)).unwrap_err();
            assert!(
                matches!(error, Error::MalformedRow { .. }),
                "{h}: {error:?}"
            );
        }
        let error = summary_of(&names(), "<row></row>").unwrap_err();
        assert!(matches!(error, Error::MalformedRow { .. }), "{error:?}");
    }

    #[test]
    fn escaped_text_is_read_back_as_written() {
        assert_eq!(unescape_xml("a&lt;b&gt;c&amp;lt;&#x0d;"), "a<b>c&lt;\r");
        assert_eq!(unescape_xml("plain|sha256:ab|"), "plain|sha256:ab|");
    }

    #[test]
    fn a_literal_doubles_its_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
