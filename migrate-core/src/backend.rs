//! The seam between the driver and a database engine: what a backend
//! implements so that every action of [`Runner`](crate::Runner) works on it.
//!
//! The shape follows sqlx's per-database `Migrate` trait and golang-migrate's
//! drivers: `&mut self` methods on a connection the backend owns for one
//! action; transactions that carry the tracking table's operations; a lock
//! *mode* rather than an engine's statement; an owned lock for work outside a
//! transaction; and [`Capabilities`] that say which guarantees the engine can
//! keep, so that the driver refuses or degrades honestly instead of promising
//! what the engine cannot do.
//!
//! A backend knows its engine and nothing of the user-facing wording: it
//! returns [`Failure`]s and database errors with what it was doing, and the
//! driver builds the errors and advice users read.
//!
//! Two traits: [`Database`] is what an application passes in (SQLite's
//! [`Connection`](crate::sqlite::Connection)); it opens a [`Backend`] for
//! one action, which puts the connection back as it was given when it is
//! closed or dropped. A backend's [`Backend::Tx`] is an open transaction
//! (dropping it rolls back).
//!
//! The traits are public so that a backend can live in its own crate; their
//! methods may still change before 1.0. A new backend passes the
//! conformance suite in `tests/conformance/` (one line in a test file).

use std::time::Duration;

use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::{BoxError, Migration, Migrations, RustCode};
use crate::report::{
    AppliedMigration, Direction, DirtyMigration, Event, EventKind, FailedMigration,
};
use crate::schema::{Schema, SchemaDifference};

/// How a transaction keeps other runners out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Reads a consistent snapshot, and waits for no other runner (SQLite:
    /// a deferred `BEGIN`; PostgreSQL: a plain transaction).
    Read,
    /// Holds the migration lock from its start to its end, so that one runner
    /// at a time changes the tracking table and every change is read under
    /// it (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `pg_advisory_xact_lock`).
    /// Waits up to the session's lock timeout, then fails with
    /// [`Error::Locked`].
    Write,
}

/// What an engine can guarantee; the driver reads it before it promises
/// anything. Built with [`Capabilities::new`] and the `with_` methods so
/// that adding a field is not a breaking change for backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Schema changes (`CREATE`, `ALTER`, `DROP`) run inside a transaction
    /// and roll back with it (SQLite, PostgreSQL; not MySQL or MariaDB,
    /// whose DDL commits implicitly). Without it, every migration runs as a
    /// `-- migrate:no-transaction` one does: marked dirty while it runs,
    /// so a failure part way is reported as dirty, never as rolled back.
    pub transactional_ddl: bool,
    /// Whether a dry run (apply, report, roll back) is possible: it needs
    /// transactional DDL. Without it, [`Runner::dry_run`](crate::Runner::dry_run)
    /// fails with [`Error::Unsupported`].
    pub dry_run: bool,
    /// Foreign keys are turned off around each migration's transaction and
    /// checked before its commit (SQLite, which cannot defer a table
    /// rebuild's checks otherwise). Describes the backend; the driver does
    /// not act on it (the backend does this in its transactions).
    pub foreign_keys_toggled: bool,
    /// Whether the backend can tell a no-transaction migration another
    /// process is running now from one cut short (SQLite: a lock file beside
    /// a database file; PostgreSQL: a session advisory lock). Describes the
    /// backend: without it, its [`Transaction::another_is_running`] says
    /// `false`, so a dirty mark always counts as cut short.
    pub detects_running_outside: bool,
}

impl Capabilities {
    /// Everything off: the safest assumption for an engine.
    pub const fn new() -> Capabilities {
        Capabilities {
            transactional_ddl: false,
            dry_run: false,
            foreign_keys_toggled: false,
            detects_running_outside: false,
        }
    }

    /// With [`transactional_ddl`](Capabilities::transactional_ddl) set, and
    /// [`dry_run`](Capabilities::dry_run) with it.
    pub const fn with_transactional_ddl(mut self, on: bool) -> Capabilities {
        self.transactional_ddl = on;
        self.dry_run = on;
        self
    }

    /// With [`foreign_keys_toggled`](Capabilities::foreign_keys_toggled) set.
    pub const fn with_foreign_keys_toggled(mut self, on: bool) -> Capabilities {
        self.foreign_keys_toggled = on;
        self
    }

    /// With [`detects_running_outside`](Capabilities::detects_running_outside) set.
    pub const fn with_detects_running_outside(mut self, on: bool) -> Capabilities {
        self.detects_running_outside = on;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Capabilities {
        Capabilities::new()
    }
}

/// What one action needs of its backend: which tracking table, how long to
/// wait, and whether migration code will run.
#[derive(Clone, Copy, Debug)]
pub struct Session<'a> {
    /// The tracking table; the history is `<table>_events`. Always a plain
    /// identifier (ASCII letters, digits and `_`, not starting with a
    /// digit): the driver checks it before opening.
    pub table: &'a str,
    /// How long to wait for another runner's lock (and for another process's
    /// no-transaction migration), as [`Runner::lock_timeout`](crate::Runner::lock_timeout).
    pub lock_timeout: Duration,
    /// What the action does with the database.
    pub purpose: Purpose,
}

/// Whether an action runs migration code, and under which rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Only reads or writes the tracking tables (status, history, baseline,
    /// repair, schema).
    Records,
    /// Runs migrations: their code runs under the backend's rules that
    /// protect the tracking tables and the connection (SQLite's authorizer).
    Migrate,
    /// Runs migrations in a sandbox that also keeps them from touching any
    /// file (the build-time check).
    Sandbox,
}

/// A connection that migrations can run on: what an application passes to
/// [`Migrations::run`](crate::Migrations::run) and every other action.
/// Implemented for [`sqlite::Connection`](crate::sqlite::Connection).
// A `Connection` of another rusqlite version is another type: say which one
// to use instead of only that the bound is not met.
#[diagnostic::on_unimplemented(
    message = "`migrate` cannot run migrations on `{Self}`: it needs a `migrate::rusqlite::Connection` (rusqlite 0.42)",
    label = "not a `migrate::rusqlite::Connection`",
    note = "`migrate` uses rusqlite 0.42 and re-exports it as `migrate::rusqlite`: open the connection with `migrate::rusqlite::Connection::open`, or depend on `rusqlite = \"0.42\"`; a `Connection` of another rusqlite version is another type"
)]
pub trait Database {
    /// The backend that works on this connection for one action.
    type Backend<'c>: Backend
    where
        Self: 'c;

    /// Prepares the connection for one action (its lock timeout, the rules
    /// for migration code) and returns the backend over it.
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`] when the connection is inside a
    /// transaction (the runner's transactions would nest in it); a database
    /// error preparing it. On an error, the connection is as it was given.
    fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<Self::Backend<'c>>;
}

/// One database engine, over one connection, for one action.
///
/// Dropping it (or [`close`](Backend::close)) hands the connection back as
/// it was given: no transaction open, its own settings.
pub trait Backend {
    /// An open transaction; dropping it rolls back.
    type Tx<'t>: Transaction<OutsideLock = Self::OutsideLock>
    where
        Self: 't;

    /// Held while a migration runs outside a transaction, from before its
    /// dirty mark is committed until its outcome is; given back to
    /// [`release`](Backend::release).
    type OutsideLock;

    /// What this engine guarantees.
    fn capabilities(&self) -> Capabilities;

    /// Begins a transaction in `mode`.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] after the lock timeout; a database error.
    fn begin(&mut self, mode: LockMode) -> Result<Self::Tx<'_>>;

    /// Runs a migration's up or down outside a transaction, statement by
    /// statement, under the session's rules. What it did up to a failure
    /// stays in the database.
    ///
    /// # Errors
    ///
    /// A [`Failure`].
    fn execute_outside(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure>;

    /// Whether this backend can run `code`: Rust code written for it (its
    /// step type), not for another engine.
    fn can_run(code: &RustCode) -> bool;

    /// Gives back the lock taken by [`Transaction::lock_outside`].
    fn release(&mut self, lock: Self::OutsideLock);

    /// The schema `migrations` produce on an empty database of this engine,
    /// when they do not carry one from the build (see
    /// [`Migrations::embedded_schema`]).
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] when it cannot be worked out.
    fn expected_schema(&mut self, migrations: &Migrations) -> Result<Schema>;

    /// How `actual`, a schema read from a database of this engine, differs
    /// from `expected`; empty when the engine reads them the same.
    fn differences(&self, expected: &Schema, actual: &Schema) -> Vec<SchemaDifference>;

    /// Hands the connection back as it was given.
    ///
    /// # Errors
    ///
    /// A database error putting it back (the first, when several steps fail;
    /// every step is tried).
    fn close(self) -> Result<()>;
}

/// An open transaction of a [`Backend`], with the tracking table's
/// operations. Dropping it rolls back.
///
/// Every read of a row that is not what the runner writes (a hand edit) is
/// [`Error::MalformedRow`] naming the table and version, never a panic.
pub trait Transaction {
    /// The backend's [`Backend::OutsideLock`].
    type OutsideLock;

    /// Whether the tracking table exists.
    fn table_exists(&mut self) -> Result<bool>;
    /// Creates the tracking table and the history if they do not exist.
    fn create_tables(&mut self) -> Result<()>;
    /// The highest applied version and its running checksum (one row).
    fn latest_applied(&mut self) -> Result<Option<(u64, Checksum)>>;
    /// The running checksum of the highest applied version below `version`.
    fn running_checksum_below(&mut self, version: u64) -> Result<Option<Checksum>>;
    /// Every applied migration, in version order.
    fn applied(&mut self) -> Result<Vec<AppliedMigration>>;
    /// Every recorded failure, in version order.
    fn failed(&mut self) -> Result<Vec<FailedMigration>>;
    /// Every dirty migration, in version order, found without a scan; a row
    /// with a state the runner never writes is [`Error::MalformedRow`].
    fn dirty(&mut self) -> Result<Vec<DirtyMigration>>;
    /// Whether another process is running a no-transaction migration of this
    /// tracking table right now (holds its [`OutsideLock`](Backend::OutsideLock));
    /// `false` when the backend cannot tell.
    fn another_is_running(&mut self) -> bool;
    /// Takes the lock held while a migration runs outside a transaction,
    /// waiting up to the lock timeout for a process that is releasing it.
    ///
    /// # Errors
    ///
    /// It could not be taken in time; [`Error::Io`] for a lock file.
    fn lock_outside(&mut self) -> Result<Self::OutsideLock>;

    /// Runs a migration's up or down inside this transaction, under the
    /// session's rules, putting back what it changed of the connection; with
    /// [`Capabilities::foreign_keys_toggled`], checks the foreign keys before
    /// the caller commits.
    ///
    /// # Errors
    ///
    /// A [`Failure`].
    fn execute(&mut self, migration: &Migration, direction: Direction) -> Result<(), Failure>;

    /// Records a migration as applied, replacing a failed or dirty record of
    /// its version; returns `applied_at` (UTC, RFC 3339 with milliseconds).
    fn record_applied(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String>;
    /// Sets the running checksum of an applied version.
    fn set_running_checksum(&mut self, version: u64, running: Checksum) -> Result<()>;
    /// Sets the name and checksum of an applied version.
    fn set_name_and_checksum(&mut self, version: u64, name: &str, checksum: Checksum)
    -> Result<()>;
    /// Records a failed attempt at an up (after its own transaction rolled
    /// back).
    fn record_failure(
        &mut self,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()>;
    /// Marks a version dirty before its up or down runs outside a
    /// transaction: an up gets a new row, a down's applied row changes.
    fn mark_dirty(&mut self, migration: &Migration, direction: Direction) -> Result<()>;
    /// Records the error a dirty migration failed with.
    fn set_dirty_error(&mut self, version: u64, error: &str) -> Result<()>;
    /// Removes the row of a version (rolled back, or repaired).
    fn remove(&mut self, version: u64) -> Result<()>;
    /// Appends an event to the history.
    fn record_event(&mut self, event: &NewEvent<'_>) -> Result<()>;
    /// The whole history, oldest first; empty without a history table.
    fn events(&mut self) -> Result<Vec<Event>>;
    /// The application's schema: every object but the engine's own and the
    /// tracking tables.
    fn schema(&mut self) -> Result<Schema>;
    /// Commits.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] when the engine waits too long to commit; a database
    /// error.
    fn commit(self) -> Result<()>;
}

/// An event to append to the history: the fields of [`Event`] that the
/// database does not assign (`id`, `at`).
#[derive(Clone, Copy, Debug)]
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

/// How running a migration's up or down failed, as a backend reports it; the
/// driver turns it into [`Error::MigrationFailed`] naming the migration.
#[derive(Debug)]
pub enum Failure {
    /// The migration failed: a statement, its Rust code, a rule the backend
    /// enforces, or a check after it (foreign keys).
    Migration(MigrationFailure),
    /// Not the migration's failure: an error of the database around it, or
    /// one of the driver's errors ([`Error::NotCompiled`], say).
    Error(Error),
}

/// The details of [`Failure::Migration`].
#[derive(Debug)]
pub struct MigrationFailure {
    /// 1-based line in the file where the failing statement starts, when it
    /// could be located.
    pub line: Option<u32>,
    /// The failing statement, shortened to one line of at most 80
    /// characters, when it could be located.
    pub statement: Option<Box<str>>,
    /// What failed: the engine's error (whose message is the engine's own),
    /// the Rust migration's error, or a rule's refusal; it becomes
    /// [`Error::MigrationFailed`]'s `error`.
    pub error: BoxError,
    /// Whether part of it may be in the database although it ran in a
    /// transaction: the transaction ended under it (beyond what the rules
    /// refuse). Outside a transaction the driver counts it dirty anyway.
    pub transaction_ended: bool,
}

impl Failure {
    /// A migration's failure at no statement of its file.
    pub fn of_migration(error: impl Into<BoxError>) -> Failure {
        Failure::Migration(MigrationFailure {
            line: None,
            statement: None,
            error: error.into(),
            transaction_ended: false,
        })
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Error(error)
    }
}
