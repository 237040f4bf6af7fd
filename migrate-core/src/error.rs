//! The runtime error type.

use std::time::Duration;

use crate::checksum::Checksum;
use crate::migration::BoxError;
use crate::other_tables::{AdoptProblem, Tool};
use crate::report::Direction;

/// A `Result` whose error defaults to [`Error`], as in rusqlite.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why running migrations or reading their status failed.
///
/// Whatever the variant, a failed run leaves the database as it was before
/// the failing migration: each migration commits together with its tracking
/// row or not at all. The one exception says so: a migration that ran
/// outside a transaction fails with [`Error::MigrationFailed`] `dirty: true`
/// and stays marked dirty.
///
/// # Messages and causes
///
/// Each message is complete: it includes what the engine or the migration
/// said (SQLite's message, your Rust migration's error, the problem found),
/// so `{}` says it all. So that a report that prints the causes too (`{:#}`
/// under anyhow, `{:?}` of an `anyhow::Error`) does not say it twice, an
/// `Error` has no [`source`](std::error::Error::source): the underlying
/// error is in the variant's public field, to match on and downcast
/// ([`Error::MigrationFailed`]'s, [`Error::Database`]'s and
/// [`Error::Locked`]'s `error`, [`Error::Io`]'s `error`,
/// [`Error::Verification`]'s problem).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// What was applied before does not agree with this build; nothing was
    /// applied. [`Status::problems`](crate::Status::problems) lists every one.
    /// The message is the problem's, then `; nothing was applied`.
    #[error("{0}; nothing was applied")]
    Verification(Problem),

    /// A migration's up or down failed: its SQL, its Rust code, or the
    /// foreign key check before commit. In a transaction it was rolled back
    /// with its tracking row (an up stays pending, a down's migration stays
    /// applied); outside one (`dirty`), the migration is marked dirty. The
    /// failure is recorded in the tracking table and the history, and
    /// nothing after it ran.
    #[error(
        "{}migration {version} ({name}) failed{}: {}; {}",
        if *direction == Direction::Down { "the down of " } else { "" },
        location(file, *line, statement.as_deref()),
        failure_message(error.as_ref()),
        aftermath(*direction, *dirty, *grouped)
    )]
    MigrationFailed {
        /// The migration's version.
        version: u64,
        /// The migration's name.
        name: String,
        /// The file that failed, e.g. `0004_add_email.sql`,
        /// `0004_add_email.down.sql` or `0005_backfill.rs`.
        file: String,
        /// Up or down.
        direction: Direction,
        /// Whether part of it may be in the database: it ran outside a
        /// transaction (`-- migrate:no-transaction`). The migration is now
        /// marked dirty.
        dirty: bool,
        /// Whether it ran in a grouped run ([`Runner::grouped`](crate::Runner::grouped)):
        /// the migrations of the group before it were rolled back with it.
        grouped: bool,
        /// 1-based line in the file where the failing statement starts, when
        /// it could be located.
        line: Option<u32>,
        /// The failing statement, shortened to one line of at most 80
        /// characters, when it could be located.
        statement: Option<Box<str>>,
        /// What failed, its message part of this error's: the engine's error
        /// for SQL (for SQLite a
        /// [`sqlite::StatementError`](crate::sqlite::StatementError), whose
        /// message is SQLite's own and which gives the `rusqlite::Error`),
        /// the Rust migration's own error (on SQLite, a `rusqlite::Error` it
        /// returns is wrapped the same way), a refusal of the rules migration
        /// code runs under, or [`ForeignKeyViolations`](crate::ForeignKeyViolations).
        /// Downcast it: `error.downcast_ref::<ForeignKeyViolations>()`.
        error: BoxError,
    },

    /// A migration is marked dirty: it ran outside a transaction and did not
    /// finish.
    /// Nothing was changed. Undo a cut-short up (or complete a cut-short
    /// down) by hand, then call [`Runner::repair`](crate::Runner::repair),
    /// after which the migration counts as not applied.
    #[error(
        "migration {version} ({name}) is marked dirty: its {} did not finish and part of it may be in the database{}; nothing was changed. {}",
        direction.as_str(),
        error.as_deref().map(|e| format!(" ({e})")).unwrap_or_else(|| " (the process running it stopped)".to_owned()),
        dirty_fix(*direction)
    )]
    Dirty {
        /// The version.
        version: u64,
        /// The name.
        name: String,
        /// Whether its up or its down was cut short.
        direction: Direction,
        /// The recorded error, if it failed rather than stopped.
        error: Option<String>,
    },

    /// A migration is marked dirty because another process is applying it
    /// (or its down) outside a transaction right now: it holds the lock file
    /// `<database>-<table>-lock`. `run` waits for it up to the lock timeout;
    /// other actions refuse at once. Nothing was changed; try again when it
    /// has finished (do not repair it).
    #[error(
        "migration {version} ({name}) is being run outside a transaction by another process right now; nothing was changed: try again when it has finished"
    )]
    InProgress {
        /// The version.
        version: u64,
        /// The name.
        name: String,
    },

    /// A rollback would revert a migration it cannot revert; nothing was
    /// rolled back.
    #[error("cannot roll back migration {version} ({name}): {reason}; nothing was rolled back")]
    Irreversible {
        /// The version.
        version: u64,
        /// The name (from the tracking table when this build does not know
        /// the migration).
        name: String,
        /// Why (boxed to keep `Error` small).
        reason: Box<Irreversible>,
    },

    /// A version given as a target or a baseline is not in the set.
    #[error("version {0} is not a migration of this set")]
    UnknownVersion(u64),

    /// A baseline on a database that already has applied migrations.
    #[error(
        "cannot baseline: migration {version} is already applied; a baseline is only for a database with none applied"
    )]
    BaselineRefused {
        /// The lowest applied version.
        version: u64,
    },

    /// A repair that would record a different migration at an applied
    /// version ([`Problem::VersionReused`]) without being told to: nothing
    /// was changed, not even the repairs it could have made. See
    /// [`Runner::accept_reused_versions`](crate::Runner::accept_reused_versions).
    #[error(
        "cannot repair: {}; recording the new migration on a reused version is right only once the database has what it does and no longer what the applied one did, so nothing was changed: put the applied migration back at its version, or roll it back with the build or folder that applied it (see status), or accept with `accept_reused_versions(true)` (`migrate repair --accept-reused-versions`)",
        reused_versions(reused)
    )]
    RepairRefused {
        /// Every applied version a different migration took, each a
        /// [`Problem::VersionReused`], in version order.
        reused: Vec<Problem>,
    },

    /// A Rust migration read at run time ([`Migrations::from_folder`](crate::Migrations::from_folder)):
    /// its code is only compiled in by `embed_migrations!`.
    #[error(
        "migration {version} ({name}) is Rust code in `{file}`, which only the application that embeds it can run; nothing was changed"
    )]
    NotCompiled {
        /// The version.
        version: u64,
        /// The name.
        name: String,
        /// The `.rs` file.
        file: String,
    },

    /// A Rust migration whose code was written for another database engine
    /// (embedded for another backend): its function takes that engine's
    /// transaction.
    #[error(
        "migration {version} ({name}) is Rust code in `{file}` written for another database engine, so it cannot run on this one; nothing was changed"
    )]
    OtherEngine {
        /// The version.
        version: u64,
        /// The name.
        name: String,
        /// The `.rs` file.
        file: String,
    },

    /// A grouped run (all pending migrations in one transaction) that
    /// includes a migration that must run outside a transaction.
    #[error(
        "migration {version} ({name}, `{file}`) runs outside a transaction (`-- migrate:no-transaction`), so it cannot be part of a grouped run; nothing was applied"
    )]
    NoTransactionInGroup {
        /// The version.
        version: u64,
        /// The name.
        name: String,
        /// Its up file.
        file: String,
    },

    /// Another connection held the migration lock for longer than the lock
    /// timeout (see [`Runner::lock_timeout`](crate::Runner::lock_timeout)).
    #[error(
        "the database is locked by another connection; gave up after waiting {} ms for it",
        waited.as_millis()
    )]
    Locked {
        /// How long the runner waited.
        waited: Duration,
        /// The engine's error (SQLite's `SQLITE_BUSY` or `SQLITE_LOCKED`, a
        /// `rusqlite::Error`), which says no more than this error's message.
        error: BoxError,
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

    /// The schema the migrations produce could not be worked out, so
    /// [`check_schema`](crate::Migrations::check_schema) has nothing to
    /// compare with: no schema was embedded at build time, and applying the
    /// set to an empty in-memory database now failed, or could not run a
    /// Rust migration whose code is not compiled in (see
    /// [`sqlite::verify`](crate::sqlite::verify())).
    #[error("the schema the migrations produce is unknown: {reason}")]
    SchemaUnknown {
        /// Why: verification's problems, or where it stopped.
        reason: Box<str>,
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

    /// A file beside the database could not be used (the lock file of a
    /// no-transaction migration, `<database>-<table>-lock`).
    #[error("{context}: {error}")]
    Io {
        /// What the runner was doing, naming the file.
        context: String,
        /// The I/O error, its message part of this error's.
        error: std::io::Error,
    },

    /// The engine cannot keep a guarantee an action needs (see
    /// [`Capabilities`](crate::backend::Capabilities)); nothing was changed.
    #[error("{action} is not possible on this database: {reason}; nothing was changed")]
    Unsupported {
        /// The action, e.g. "a dry run".
        action: &'static str,
        /// Why, e.g. "its schema changes commit implicitly".
        reason: &'static str,
    },

    /// [`Runner::adopt`](crate::Runner::adopt) found what it cannot
    /// adopt: nothing was changed, in either table.
    #[error(
        "cannot adopt {tool}'s tracking table `{table}`, so nothing was changed: {}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    AdoptRefused {
        /// The tool.
        tool: Tool,
        /// Its table.
        table: String,
        /// Every problem found, in the table's order.
        problems: Vec<AdoptProblem>,
    },

    /// A run on a database that has another tool's tracking table recording
    /// applied migrations, and no tracking table of `migrate`'s: running
    /// would apply every migration again. Nothing was changed.
    #[error(
        "the database has {tool}'s tracking table `{other}` with applied migrations but no `migrate` tracking table `{table}`: running would apply every migration again, so nothing was run; adopt {tool}'s records first with `runner().adopt(conn, Tool::{variant})` (`migrate adopt --from {tool}`), which checks them against this set and records them as applied",
        variant = format!("{tool:?}")
    )]
    OtherToolsTable {
        /// The tool whose table was found.
        tool: Tool,
        /// Its table.
        other: String,
        /// `migrate`'s tracking table, which does not exist.
        table: String,
    },

    /// Any other database error, with what was being done.
    #[error("{context}: {error}")]
    Database {
        /// What the runner was doing, e.g. "reading the tracking table `migrate_schema_history`".
        context: String,
        /// The engine's error (for SQLite a `rusqlite::Error`), its message
        /// part of this error's.
        error: BoxError,
    },
}

impl Error {
    /// A database error with what was being done.
    pub fn database(context: impl Into<String>, error: impl Into<BoxError>) -> Error {
        Error::Database {
            context: context.into(),
            error: error.into(),
        }
    }

    /// An [`Error::Database`] with `context` as what was being done.
    pub(crate) fn while_doing(self, context: &str) -> Error {
        match self {
            Error::Database { error, .. } => Error::Database {
                context: context.to_owned(),
                error,
            },
            other => other,
        }
    }

    /// An [`Error::Locked`] with `waited` as how long the runner waited (a
    /// backend may not know the action's timeout).
    pub(crate) fn waited(self, waited: Duration) -> Error {
        match self {
            Error::Locked { error, .. } => Error::Locked { waited, error },
            other => other,
        }
    }
}

/// The message of a migration's failure: its error's own (an engine's
/// error type for statements gives the engine's message, undecorated).
pub(crate) fn failure_message(error: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    error.to_string()
}

/// `version 2 (applied as add_phone) is now add_avatar, version 5 (…) is now …`.
fn reused_versions(reused: &[Problem]) -> String {
    let described: Vec<String> = reused
        .iter()
        .filter_map(|problem| match problem {
            Problem::VersionReused {
                version,
                applied_name,
                name,
                ..
            } => Some(format!(
                "version {version} (applied as {applied_name}) is now {name}"
            )),
            _ => None,
        })
        .collect();
    described.join(", ")
}

/// Where the applied migration of a reused version went, if this build has it.
fn renumbered_to(applied_name: &str, renumbered: Option<&(u64, String)>) -> String {
    match renumbered {
        Some((version, file)) => {
            format!(", and {applied_name} moved to version {version} (`{file}`)")
        }
        None => format!(", and this build has no {applied_name}"),
    }
}

fn dirty_fix(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => {
            "Undo what it did by hand, then run repair: it then counts as pending and runs again from its start"
        }
        Direction::Down => {
            "Complete its down by hand, then run repair: it then counts as not applied"
        }
    }
}

fn aftermath(direction: Direction, dirty: bool, grouped: bool) -> &'static str {
    match (direction, dirty) {
        (Direction::Up, false) if grouped => {
            "the whole group was rolled back: none of its migrations is applied"
        }
        (_, true) => {
            "it was not inside a transaction to the end, so part of it may be in the database: the migration is marked dirty until repaired"
        }
        (Direction::Up, false) => "it was rolled back and no later migration ran",
        (Direction::Down, false) => "it was rolled back and the migration stays applied",
    }
}

pub(crate) fn location(file: &str, line: Option<u32>, statement: Option<&str>) -> String {
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
///
/// Serialized (feature `serde`) as an object whose `kind` names the variant
/// in `snake_case` (`divergent`, `version_reused`, `missing`,
/// `out_of_order`), beside the variant's fields, some renamed: `{"kind":
/// "divergent", "version": 2, "name": "posts", "file": "0002_posts.sql",
/// "applied_checksum": "sha256:…", "checksum": "sha256:…"}` (`applied`,
/// `embedded`), `{"kind": "version_reused", …, "renumbered_to": {"version":
/// 3, "file": "0003_add_phone.sql"} | null}` (`renumbered`); deserializes
/// too. The message is its `Display`, not a field.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
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
        /// The checksum recorded when it was applied; `applied_checksum`
        /// when serialized.
        #[cfg_attr(feature = "serde", serde(rename = "applied_checksum"))]
        applied: Checksum,
        /// The checksum of this build's file; `checksum` when serialized.
        #[cfg_attr(feature = "serde", serde(rename = "checksum"))]
        embedded: Checksum,
    },
    /// An applied version that a different migration has taken in this
    /// build: the name recorded when it was applied is not the name of this
    /// build's migration at that version, and the checksums differ (typically
    /// after a merge, when one side renumbered its migration). A different
    /// name with the same checksum is a renamed file with the same content,
    /// not a problem.
    #[error(
        "migration {version} ({applied_name}) was applied, but version {version} is now {name} in `{file}`{}: a different migration took its version; put {applied_name} back at version {version} and give {name} a version after the latest, or roll {applied_name} back with the build or folder that applied it",
        renumbered_to(applied_name, renumbered.as_ref())
    )]
    VersionReused {
        /// The version.
        version: u64,
        /// The name recorded in the tracking table when it was applied.
        applied_name: String,
        /// The name of this build's migration at that version.
        name: String,
        /// Its up file.
        file: String,
        /// The version and up file of this build's migration named
        /// `applied_name`, when it is at another version (it was renumbered)
        /// and not applied there under that name; `None` when this build has
        /// no such migration. Serialized as `renumbered_to`, `{"version",
        /// "file"}` or `null`.
        #[cfg_attr(
            feature = "serde",
            serde(
                rename = "renumbered_to",
                default,
                with = "crate::serde_support::renumbered"
            )
        )]
        renumbered: Option<(u64, String)>,
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

/// Why a migration cannot be rolled back.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Irreversible {
    /// It has no down file (or no `pub fn down`).
    #[error("`{file}` has no down: {fix}")]
    NoDown {
        /// Its up file.
        file: String,
        /// What to add to make it reversible.
        fix: String,
    },
    /// Its file changed since it was applied; its down may not match what
    /// the database has.
    #[error(
        "it was applied with checksum {applied} but `{file}` now has {embedded}; restore the file or repair"
    )]
    Divergent {
        /// Its up file.
        file: String,
        /// The checksum recorded when it was applied.
        applied: Checksum,
        /// The checksum of this build's file.
        embedded: Checksum,
    },
    /// A different migration has its version in this build
    /// ([`Problem::VersionReused`]), whose down would not undo it.
    #[error(
        "its version is now {name} in `{file}`, whose down would not undo it; roll it back with the build or folder that applied it"
    )]
    VersionReused {
        /// The name of this build's migration at that version.
        name: String,
        /// Its up file.
        file: String,
    },
    /// This build does not know it: the database is newer than the binary.
    #[error("it is applied but unknown to this build, so its down is unknown")]
    Missing,
    /// Its down is Rust code, not compiled into this program.
    #[error("its down is Rust code in `{file}`, which only the application that embeds it can run")]
    NotCompiled {
        /// The `.rs` file.
        file: String,
    },
    /// Its down is Rust code written for another database engine.
    #[error("its down is Rust code in `{file}` written for another database engine")]
    OtherEngine {
        /// The `.rs` file.
        file: String,
    },
}

#[cfg(test)]
mod tests {
    /// Users who return `migrate::Result` from their own functions and build
    /// with `-D warnings` would trip clippy's `result_large_err` (default
    /// threshold 128 bytes); large payloads are boxed or kept compact for it.
    #[test]
    fn error_stays_below_clippys_large_error_threshold() {
        let size = std::mem::size_of::<super::Error>();
        assert!(size < 128, "`Error` is {size} bytes");
    }
}
