//! The runtime error type.

use std::time::Duration;

use crate::checksum::Checksum;

/// A `Result` whose error defaults to [`Error`], as in rusqlite.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why running migrations or reading their status failed.
///
/// Whatever the variant, a failed run leaves the database as it was before
/// the failing migration: each migration commits together with its tracking
/// row or not at all.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was applied before does not agree with this build; nothing was
    /// applied. [`Status::problems`](crate::Status::problems) lists every one.
    #[error("{0}; nothing was applied")]
    Verification(#[source] Problem),

    /// A migration's SQL failed. It was rolled back with its tracking row, the
    /// failure was recorded in the tracking table, and no later migration ran.
    #[error(
        "migration {version} ({name}) failed{}: {}; it was rolled back and no later migration ran",
        location(file, *line, statement.as_deref()),
        sqlite_message(source)
    )]
    MigrationFailed {
        /// The migration's version.
        version: u64,
        /// The migration's name.
        name: String,
        /// The up file, e.g. `0004_add_email.sql`.
        file: String,
        /// 1-based line in the file where the failing statement starts, when
        /// it could be located.
        line: Option<usize>,
        /// The failing statement, shortened to one line of at most 80
        /// characters, when it could be located.
        statement: Option<String>,
        /// SQLite's error (boxed to keep `Error` small); its message is part
        /// of this error's.
        #[source]
        source: Box<rusqlite::Error>,
    },

    /// Another connection held the write lock for longer than the lock
    /// timeout (see [`Runner::lock_timeout`](crate::Runner::lock_timeout)).
    #[error(
        "the database is locked by another connection; gave up after waiting {} ms for the write lock",
        waited.as_millis()
    )]
    Locked {
        /// How long the runner waited.
        waited: Duration,
        /// SQLite's `SQLITE_BUSY` error.
        #[source]
        source: rusqlite::Error,
    },

    /// A row of the tracking table could not be read (edited by hand, or
    /// written by an incompatible tool).
    #[error(
        "the tracking table `{table}` has a malformed row{}: {detail}",
        version.map(|v| format!(" for version {v}")).unwrap_or_default()
    )]
    MalformedRow {
        /// The tracking table.
        table: String,
        /// The row's version, when it could be read.
        version: Option<i64>,
        /// What is wrong.
        detail: String,
    },

    /// The tracking table name is not a plain SQL identifier.
    #[error(
        "`{0}` is not a valid tracking table name: use ASCII letters, digits and `_`, not starting with a digit"
    )]
    InvalidTableName(String),

    /// The connection passed in is inside a transaction, so migrations could
    /// not run in transactions of their own.
    #[error(
        "the connection is inside an open transaction; commit or roll it back before running migrations"
    )]
    TransactionOpen,

    /// Any other database error, with what was being done.
    #[error("{context}: {source}")]
    Sqlite {
        /// What the runner was doing, e.g. "reading the tracking table `migrate_schema_history`".
        context: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// SQLite's own message for an error, without rusqlite's decoration.
pub(crate) fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
}

fn location(file: &str, line: Option<usize>, statement: Option<&str>) -> String {
    let mut text = format!(" in `{file}`");
    if let Some(line) = line {
        text.push_str(&format!(" at line {line}"));
    }
    if let Some(statement) = statement {
        text.push_str(&format!(" (`{statement}`)"));
    }
    text
}

/// A disagreement between the database's applied migrations and this build's
/// set, found by verification. [`run`](crate::Migrations::run) refuses to apply
/// anything while one exists (out of order only unless allowed).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// An applied migration whose file has changed since.
    #[error(
        "migration {version} ({name}) was applied with checksum {applied} but `{file}` now has {embedded}; restore the file and put the change in a new migration"
    )]
    Divergent {
        /// The version.
        version: u64,
        /// The name in this build.
        name: String,
        /// The up file in this build.
        file: String,
        /// The checksum recorded when it was applied.
        applied: Checksum,
        /// The checksum of this build's file.
        embedded: Checksum,
    },
    /// An applied migration this build does not know: the database is newer
    /// than the binary.
    #[error(
        "migration {version} ({name}) is applied but unknown to this build: the database is newer than this binary"
    )]
    Missing {
        /// The version.
        version: u64,
        /// The name recorded in the tracking table.
        name: String,
    },
    /// A pending migration below the latest applied one (typically from a
    /// merge).
    #[error(
        "migration {version} ({name}, `{file}`) is pending but is older than {latest_applied}, the latest applied migration; renumber it above {latest_applied} or allow out-of-order migrations"
    )]
    OutOfOrder {
        /// The pending version.
        version: u64,
        /// Its name.
        name: String,
        /// Its up file.
        file: String,
        /// The latest applied version.
        latest_applied: u64,
    },
}
