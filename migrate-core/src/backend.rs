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
//!
//! # Async
//!
//! The methods that talk to the database are `async`, so that one driver
//! serves blocking and async clients alike: an async backend
//! (`tokio_postgres::Client`) awaits the server, and a blocking one (SQLite's
//! [`Connection`](crate::sqlite::Connection), `postgres::Client`) does its
//! work inside the call and returns a future that is ready at once. The
//! blocking actions ([`Migrations::run`] and every action without `_async`)
//! take only a [`Blocking`] database and drive its futures on the calling
//! thread with [`block_on`]; the `_async` actions take any [`Database`].
//!
//! The traits do not require their futures to be `Send` (`async fn` in a
//! trait cannot say so for every implementation, hence the
//! `async_fn_in_trait` allowance; SQLite's are not, a rusqlite connection not
//! being `Sync`). An action's future over tokio-postgres is made of `Send`
//! parts, but rustc cannot prove it yet (rust-lang/rust#100013: auto traits
//! of async code over types with lifetimes), so it is awaited where it is
//! created rather than spawned.

use std::time::Duration;

use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::{BoxError, Migration, Migrations, RustCode};
pub use crate::other_tables::OtherTable;
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
/// the `_async` actions ([`Migrations::run_async`]); the blocking ones
/// ([`Migrations::run`]) take a [`Blocking`] one. Implemented for
/// [`sqlite::Connection`](crate::sqlite::Connection), and with the features
/// `postgres` and `tokio-postgres` for their clients.
#[diagnostic::on_unimplemented(
    message = "`migrate` cannot run migrations on `{Self}`",
    label = "not a connection `migrate` runs on",
    note = "`migrate` runs on a `migrate::rusqlite::Connection` (rusqlite 0.42), a `postgres::Client` (feature `postgres`) or a `tokio_postgres::Client` (feature `tokio-postgres`)"
)]
#[allow(async_fn_in_trait)] // see "Async" in the module docs
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
    async fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<Self::Backend<'c>>;
}

/// A [`Database`] whose operations block the calling thread until they are
/// done, so that its futures are ready at once: SQLite's
/// [`Connection`](crate::sqlite::Connection) and `postgres::Client`. The
/// blocking actions ([`Migrations::run`], [`Runner::status`](crate::Runner::status),
/// ...) take only these; an async client (`tokio_postgres::Client`) goes to
/// the `_async` forms ([`Migrations::run_async`]).
// A `Connection` of another rusqlite version is another type: say which one
// to use instead of only that the bound is not met.
#[diagnostic::on_unimplemented(
    message = "`migrate` cannot run migrations on `{Self}`: it needs a `migrate::rusqlite::Connection` (rusqlite 0.42)",
    label = "not a `migrate::rusqlite::Connection`",
    note = "`migrate` uses rusqlite 0.42 and re-exports it as `migrate::rusqlite`: open the connection with `migrate::rusqlite::Connection::open`, or depend on `rusqlite = \"0.42\"`; a `Connection` of another rusqlite version is another type",
    note = "on PostgreSQL, pass a `postgres::Client` (feature `postgres`), or a `tokio_postgres::Client` to the `_async` form of the action (`run_async(&mut client).await`; feature `tokio-postgres`)"
)]
pub trait Blocking: Database {}

/// Drives `future` to its end on the calling thread, parking the thread
/// while it waits. For the futures of a [`Blocking`] database, which are
/// ready at once; a future that needs an async runtime's reactor (a
/// tokio-postgres query) would wait forever.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// Wakes the thread that drives the future.
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// What the up-to-date check reads first: see [`Transaction::head`].
#[derive(Clone, Debug, Default)]
pub struct Head {
    /// The highest applied version and its running checksum.
    pub latest: Option<(u64, Checksum)>,
    /// The lowest dirty migration (as [`Transaction::dirty`] finds them).
    pub dirty: Option<DirtyMigration>,
}

/// What `status` reads of the tracking table: see [`Transaction::records`].
#[derive(Clone, Debug, Default)]
pub struct Records {
    /// The highest applied version and its running checksum, as
    /// [`Transaction::latest_applied`] reads it.
    pub latest: Option<(u64, Checksum)>,
    /// Every applied migration, in version order.
    pub applied: Vec<AppliedMigration>,
    /// Every recorded failure, in version order.
    pub failed: Vec<FailedMigration>,
    /// Every dirty migration, in version order.
    pub dirty: Vec<DirtyMigration>,
}

/// One database engine, over one connection, for one action.
///
/// Dropping it (or [`close`](Backend::close)) hands the connection back as
/// it was given: no transaction open, its own settings.
#[allow(async_fn_in_trait)] // see "Async" in the module docs
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
    async fn begin(&mut self, mode: LockMode) -> Result<Self::Tx<'_>>;

    /// Runs a migration's up or down outside a transaction, statement by
    /// statement, under the session's rules. What it did up to a failure
    /// stays in the database.
    ///
    /// # Errors
    ///
    /// A [`Failure`].
    async fn execute_outside(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure>;

    /// Whether this backend can run `code`: Rust code written for it (its
    /// step type), not for another engine.
    fn can_run(code: &RustCode) -> bool;

    /// Checks a migration's up or down before anything of it runs or is
    /// recorded, for what this backend refuses in any migration without
    /// running it (PostgreSQL: a statement that would end the runner's
    /// transaction), so that a migration outside a transaction is refused
    /// before its dirty mark. Nothing to check by default.
    ///
    /// # Errors
    ///
    /// The [`Failure`] the migration would fail with.
    fn check(migration: &Migration, direction: Direction) -> Result<(), Failure> {
        let _ = (migration, direction);
        Ok(())
    }

    /// Gives back the lock taken by [`Transaction::lock_outside`].
    async fn release(&mut self, lock: Self::OutsideLock);

    /// The schema `migrations` produce on an empty database of this engine,
    /// when they do not carry one from the build (see
    /// [`Migrations::embedded_schema`]).
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] when it cannot be worked out.
    async fn expected_schema(&mut self, migrations: &Migrations) -> Result<Schema>;

    /// How `actual`, a schema read from a database of this engine, differs
    /// from `expected`; empty when the engine reads them the same.
    fn differences(&self, expected: &Schema, actual: &Schema) -> Vec<SchemaDifference>;

    /// Hands the connection back as it was given.
    ///
    /// # Errors
    ///
    /// A database error putting it back (the first, when several steps fail;
    /// every step is tried).
    async fn close(self) -> Result<()>;
}

/// An open transaction of a [`Backend`], with the tracking table's
/// operations. Dropping it rolls back.
///
/// Every read of a row that is not what the runner writes (a hand edit) is
/// [`Error::MalformedRow`] naming the table and version, never a panic.
#[allow(async_fn_in_trait)] // see "Async" in the module docs
pub trait Transaction {
    /// The backend's [`Backend::OutsideLock`].
    type OutsideLock;

    /// Whether the tracking table exists.
    async fn table_exists(&mut self) -> Result<bool>;
    /// Creates the tracking table and the history if they do not exist.
    async fn create_tables(&mut self) -> Result<()>;
    /// The highest applied version and its running checksum (one row).
    async fn latest_applied(&mut self) -> Result<Option<(u64, Checksum)>>;
    /// The running checksum of the highest applied version below `version`.
    async fn running_checksum_below(&mut self, version: u64) -> Result<Option<Checksum>>;
    /// Every applied migration, in version order.
    async fn applied(&mut self) -> Result<Vec<AppliedMigration>>;
    /// Every recorded failure, in version order.
    async fn failed(&mut self) -> Result<Vec<FailedMigration>>;
    /// Every dirty migration, in version order, found without a scan; a row
    /// with a state the runner never writes is [`Error::MalformedRow`].
    async fn dirty(&mut self) -> Result<Vec<DirtyMigration>>;
    /// Whether another process is running a no-transaction migration of this
    /// tracking table right now (holds its [`OutsideLock`](Backend::OutsideLock));
    /// `false` when the backend cannot tell.
    async fn another_is_running(&mut self) -> bool;
    /// What the up-to-date check reads first: `None` without a tracking
    /// table, else the latest applied version and the lowest dirty
    /// migration. In one round trip where the engine can (PostgreSQL); the
    /// default asks [`table_exists`](Transaction::table_exists),
    /// [`dirty`](Transaction::dirty) and
    /// [`latest_applied`](Transaction::latest_applied) in turn.
    ///
    /// # Errors
    ///
    /// As those three.
    async fn head(&mut self) -> Result<Option<Head>> {
        if !self.table_exists().await? {
            return Ok(None);
        }
        let dirty = self.dirty().await?.into_iter().next();
        let latest = self.latest_applied().await?;
        Ok(Some(Head { latest, dirty }))
    }
    /// Everything [`Runner::status`](crate::Runner::status) reads of the
    /// tracking table: `None` without one, else each part as the method of
    /// its name reads it (a row one of them refuses is refused here too).
    /// In one pass where the engine can (SQLite); the default asks
    /// [`table_exists`](Transaction::table_exists),
    /// [`latest_applied`](Transaction::latest_applied),
    /// [`applied`](Transaction::applied), [`failed`](Transaction::failed)
    /// and [`dirty`](Transaction::dirty) in turn.
    ///
    /// # Errors
    ///
    /// As those five.
    async fn records(&mut self) -> Result<Option<Records>> {
        if !self.table_exists().await? {
            return Ok(None);
        }
        Ok(Some(Records {
            latest: self.latest_applied().await?,
            applied: self.applied().await?,
            failed: self.failed().await?,
            dirty: self.dirty().await?,
        }))
    }
    /// Whether nothing was committed to the database by anyone else since
    /// the previous transaction of this action began (SQLite:
    /// `PRAGMA data_version`), so that the tracking table is as this action
    /// left it and the driver need not read it again (PostgreSQL: while the
    /// run holds its session lock, which every writer of the table takes).
    /// Not asked in an action's first transaction; `false` by default (the
    /// driver then reads the [`head`](Transaction::head)).
    ///
    /// # Errors
    ///
    /// A database error.
    async fn unchanged_since_last(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Takes the lock held while a migration runs outside a transaction,
    /// waiting up to the lock timeout for a process that is releasing it.
    ///
    /// # Errors
    ///
    /// It could not be taken in time; [`Error::Io`] for a lock file.
    async fn lock_outside(&mut self) -> Result<Self::OutsideLock>;

    /// Runs a migration's up or down inside this transaction, under the
    /// session's rules, putting back what it changed of the connection; with
    /// [`Capabilities::foreign_keys_toggled`], checks the foreign keys before
    /// the caller commits.
    ///
    /// # Errors
    ///
    /// A [`Failure`].
    async fn execute(&mut self, migration: &Migration, direction: Direction)
    -> Result<(), Failure>;

    /// Records a migration as applied, replacing a failed or dirty record of
    /// its version; returns `applied_at` (UTC, RFC 3339 with milliseconds).
    async fn record_applied(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String>;
    /// [`record_applied`](Transaction::record_applied) and then
    /// [`record_event`](Transaction::record_event) of `event`, in one round
    /// trip where the engine can (PostgreSQL: one statement); returns
    /// `applied_at` as `record_applied` does. The default makes the two
    /// calls.
    ///
    /// # Errors
    ///
    /// As those two.
    async fn record_applied_with_event(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
        event: &NewEvent<'_>,
    ) -> Result<String> {
        let applied_at = self
            .record_applied(migration, running_checksum, duration)
            .await?;
        self.record_event(event).await?;
        Ok(applied_at)
    }
    /// [`record_applied_with_event`](Transaction::record_applied_with_event)
    /// for each of `applied`, in order: migrations applied in this
    /// transaction (a grouped run), each as `(migration, running checksum,
    /// duration)`, with its `applied` event. Returns each `applied_at`. The
    /// default makes the calls one by one; a backend may write the events
    /// in one statement (SQLite: copied from the rows just written).
    ///
    /// # Errors
    ///
    /// As `record_applied_with_event`.
    async fn record_all_applied(
        &mut self,
        applied: &[(&Migration, Checksum, Duration)],
    ) -> Result<Vec<String>> {
        let mut times = Vec::with_capacity(applied.len());
        for &(migration, running, duration) in applied {
            let event = NewEvent::applied(migration, duration);
            times.push(
                self.record_applied_with_event(migration, running, duration, &event)
                    .await?,
            );
        }
        Ok(times)
    }
    /// Sets the running checksum of an applied version.
    async fn set_running_checksum(&mut self, version: u64, running: Checksum) -> Result<()>;
    /// Sets the name and checksum of an applied version.
    async fn set_name_and_checksum(
        &mut self,
        version: u64,
        name: &str,
        checksum: Checksum,
    ) -> Result<()>;
    /// Records a failed attempt at an up (after its own transaction rolled
    /// back).
    async fn record_failure(
        &mut self,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()>;
    /// Marks a version dirty before its up or down runs outside a
    /// transaction: an up gets a new row, a down's applied row changes.
    async fn mark_dirty(&mut self, migration: &Migration, direction: Direction) -> Result<()>;
    /// Records the error a dirty migration failed with.
    async fn set_dirty_error(&mut self, version: u64, error: &str) -> Result<()>;
    /// Removes the row of a version (rolled back, or repaired).
    async fn remove(&mut self, version: u64) -> Result<()>;
    /// Appends an event to the history.
    async fn record_event(&mut self, event: &NewEvent<'_>) -> Result<()>;
    /// The whole history, oldest first; empty without a history table.
    async fn events(&mut self) -> Result<Vec<Event>>;
    /// The application's schema: every object but the engine's own and the
    /// tracking tables.
    async fn schema(&mut self) -> Result<Schema>;
    /// Another tool's tracking table `table` (a plain identifier, looked up
    /// where the engine finds an unqualified name: SQLite's `main`,
    /// PostgreSQL's `search_path`), with the cells of `columns` as text;
    /// `None` when there is no such table. Only reads. See [`OtherTable`]
    /// for how cells are written.
    ///
    /// # Errors
    ///
    /// A database error reading it.
    async fn other_table(&mut self, table: &str, columns: &[&str]) -> Result<Option<OtherTable>>;
    /// Commits.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] when the engine waits too long to commit; a database
    /// error.
    async fn commit(self) -> Result<()>;
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

impl<'a> NewEvent<'a> {
    /// The `applied` event of `migration`, applied up in `duration`.
    pub fn applied(migration: &'a Migration, duration: Duration) -> NewEvent<'a> {
        NewEvent {
            kind: EventKind::Applied,
            version: migration.version(),
            name: migration.name(),
            direction: Direction::Up,
            checksum: Some(migration.checksum()),
            duration: Some(duration),
            detail: None,
        }
    }
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

/// A statement on one line, whitespace collapsed, cut after its first `;`,
/// at most 80 characters: how a [`MigrationFailure`] shows it.
pub(crate) fn shorten(statement: &str) -> String {
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
