//! The driver: carries out a [`plan`](crate::plan) through a [`Backend`] —
//! the migration lock, one transaction per migration with its tracking row,
//! the no-transaction protocol (written once, for ups and downs), failures
//! recorded, tracing events — behind the [`Runner`] builder and its actions.
//! It names no engine: every database operation is a method of the backend
//! or of its transaction.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::backend::{
    Backend, Blocking, Database, Failure, Head, LockMode, NewEvent, Purpose, Session, Transaction,
    block_on,
};
use crate::checksum::Checksum;
#[cfg(doc)]
use crate::error::Problem;
use crate::error::{Error, Result};
use crate::migration::{Migration, Migrations};
use crate::plan::{self, Options};
use crate::report::{
    AppliedMigration, Direction, DryRunOutcome, DryRunReport, DryRunStep, Event, EventKind,
    PendingMigration, RedoReport, Report, RollbackReport, Status,
};

mod admin;
mod adopt;
mod rollback;
mod schema;
#[cfg(test)]
mod tests;

/// The tracking table's default name (Flyway's is `flyway_schema_history`).
/// The history is kept beside it in `<table>_events`.
pub const DEFAULT_TABLE: &str = "migrate_schema_history";

/// How long the runner waits for another connection's write lock by
/// default: 60 seconds.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Options for applying, reverting and inspecting a set of migrations: the
/// builder behind [`Migrations::run`] and the other shortcuts.
///
/// # Examples
///
/// ```
/// # use migrate_core::Migrations;
/// # use std::time::Duration;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("0001_init.sql"), "CREATE TABLE t (id INTEGER);").unwrap();
/// # std::fs::write(dir.path().join("0002_more.sql"), "CREATE TABLE u (id INTEGER);").unwrap();
/// # let migrations = Migrations::from_folder(dir.path())?;
/// let mut conn = rusqlite::Connection::open_in_memory()?;
/// let report = migrations
///     .runner()
///     .table("schema_migrations")
///     .lock_timeout(Duration::from_secs(5))
///     .target(1)
///     .run(&mut conn)?;
/// assert_eq!(report.applied.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a runner does nothing until `run` or another action is called"]
pub struct Runner<'a> {
    migrations: &'a Migrations,
    pub(crate) table: String,
    allow_out_of_order: bool,
    pub(crate) accept_reused_versions: bool,
    pub(crate) lock_timeout: Duration,
    target: Option<u64>,
    grouped: bool,
    ignore_other_tools_tables: bool,
}

impl Migrations {
    /// A [`Runner`] with the default options, to change some before running.
    pub fn runner(&self) -> Runner<'_> {
        Runner {
            migrations: self,
            table: DEFAULT_TABLE.to_owned(),
            allow_out_of_order: false,
            accept_reused_versions: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            target: None,
            grouped: false,
            ignore_other_tools_tables: false,
        }
    }

    /// Verifies what was applied, then applies every pending migration, each
    /// in its own transaction; see [`Runner::run`]. The functions and
    /// extensions the migrations use must be registered on `conn` first.
    ///
    /// # Errors
    ///
    /// As [`Runner::run`].
    pub fn run<D: Blocking>(&self, conn: &mut D) -> Result<Report> {
        self.runner().run(conn)
    }

    /// The async form of [`run`](Migrations::run), for any [`Database`]
    /// (`tokio_postgres::Client`); see [`Runner::run_async`].
    ///
    /// # Errors
    ///
    /// As [`Runner::run`].
    pub async fn run_async<D: Database>(&self, conn: &mut D) -> Result<Report> {
        self.runner().run_async(conn).await
    }

    /// Applies pending migrations up to and including `version`; see
    /// [`Runner::target`].
    ///
    /// # Errors
    ///
    /// As [`Runner::run`], and [`Error::UnknownVersion`] when `version` is
    /// not in the set.
    pub fn run_to<D: Blocking>(&self, conn: &mut D, version: u64) -> Result<Report> {
        self.runner().target(version).run(conn)
    }

    /// The async form of [`run_to`](Migrations::run_to).
    ///
    /// # Errors
    ///
    /// As [`Migrations::run_to`].
    pub async fn run_to_async<D: Database>(&self, conn: &mut D, version: u64) -> Result<Report> {
        self.runner().target(version).run_async(conn).await
    }

    /// The database's state against this set; see [`Runner::status`].
    ///
    /// # Errors
    ///
    /// As [`Runner::status`].
    pub fn status<D: Blocking>(&self, conn: &mut D) -> Result<Status> {
        self.runner().status(conn)
    }

    /// The async form of [`status`](Migrations::status).
    ///
    /// # Errors
    ///
    /// As [`Runner::status`].
    pub async fn status_async<D: Database>(&self, conn: &mut D) -> Result<Status> {
        self.runner().status_async(conn).await
    }

    /// Reverts the last `count` applied migrations; see [`Runner::rollback`].
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub fn rollback<D: Blocking>(&self, conn: &mut D, count: usize) -> Result<RollbackReport> {
        self.runner().rollback(conn, count)
    }

    /// The async form of [`rollback`](Migrations::rollback).
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub async fn rollback_async<D: Database>(
        &self,
        conn: &mut D,
        count: usize,
    ) -> Result<RollbackReport> {
        self.runner().rollback_async(conn, count).await
    }

    /// Reverts every applied migration above `version`; see
    /// [`Runner::rollback_to`].
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub fn rollback_to<D: Blocking>(&self, conn: &mut D, version: u64) -> Result<RollbackReport> {
        self.runner().rollback_to(conn, version)
    }

    /// The async form of [`rollback_to`](Migrations::rollback_to).
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub async fn rollback_to_async<D: Database>(
        &self,
        conn: &mut D,
        version: u64,
    ) -> Result<RollbackReport> {
        self.runner().rollback_to_async(conn, version).await
    }

    /// Reverts the latest applied migration and applies it again; see
    /// [`Runner::redo`].
    ///
    /// # Errors
    ///
    /// As [`Runner::redo`].
    pub fn redo<D: Blocking>(&self, conn: &mut D) -> Result<Option<RedoReport>> {
        self.runner().redo(conn)
    }

    /// The async form of [`redo`](Migrations::redo).
    ///
    /// # Errors
    ///
    /// As [`Runner::redo`].
    pub async fn redo_async<D: Database>(&self, conn: &mut D) -> Result<Option<RedoReport>> {
        self.runner().redo_async(conn).await
    }

    /// The append-only history of every event; see [`Runner::history`].
    ///
    /// # Errors
    ///
    /// As [`Runner::history`].
    pub fn history<D: Blocking>(&self, conn: &mut D) -> Result<Vec<Event>> {
        self.runner().history(conn)
    }

    /// The async form of [`history`](Migrations::history).
    ///
    /// # Errors
    ///
    /// As [`Runner::history`].
    pub async fn history_async<D: Database>(&self, conn: &mut D) -> Result<Vec<Event>> {
        self.runner().history_async(conn).await
    }
}

impl<'a> Runner<'a> {
    /// Names the tracking table (default [`DEFAULT_TABLE`]); the history is
    /// `<name>_events`. The name must be ASCII letters, digits and `_`, not
    /// starting with a digit; otherwise every action returns
    /// [`Error::InvalidTableName`].
    pub fn table(mut self, name: impl Into<String>) -> Self {
        self.table = name.into();
        self
    }

    /// Applies pending migrations older than the latest applied one instead
    /// of refusing with [`Problem::OutOfOrder`] (default `false`). Risky: the
    /// migration runs after newer ones it was not written against.
    pub fn allow_out_of_order(mut self, allow: bool) -> Self {
        self.allow_out_of_order = allow;
        self
    }

    /// Lets [`repair`](Runner::repair) record this build's migration (its
    /// name and checksum) on an applied version that a different migration
    /// took ([`Problem::VersionReused`]), instead of refusing with
    /// [`Error::RepairRefused`] (default `false`). Risky: the tracking table
    /// then says the new migration is applied there, so do it only once the
    /// database has what the new migration does and no longer what the
    /// applied one did; otherwise the next run applies the renumbered
    /// migration a second time.
    pub fn accept_reused_versions(mut self, accept: bool) -> Self {
        self.accept_reused_versions = accept;
        self
    }

    /// How long to wait for another connection's lock before failing with
    /// [`Error::Locked`] (default [`DEFAULT_LOCK_TIMEOUT`]), and how long
    /// `run` waits for another process's no-transaction migration before
    /// failing with [`Error::InProgress`]. Applies while an action runs; the
    /// connection's own busy timeout is restored after.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Applies pending migrations only up to and including `version`, which
    /// must be a version of the set (default: all). A database already past
    /// it applies nothing; to go down, use [`Runner::rollback_to`].
    pub fn target(mut self, version: u64) -> Self {
        self.target = Some(version);
        self
    }

    /// Runs on a database that has another tool's tracking table recording
    /// applied migrations and no tracking table of this runner's, instead of
    /// refusing with [`Error::OtherToolsTable`] (default `false`). Risky:
    /// the run applies every migration from the first, on a database the
    /// other tool already migrated; adopt its table instead
    /// ([`adopt`](Runner::adopt)).
    pub fn ignore_other_tools_tables(mut self, ignore: bool) -> Self {
        self.ignore_other_tools_tables = ignore;
        self
    }

    /// Applies all pending migrations in one transaction: all or nothing
    /// (default `false`: one transaction per migration). A failure in the
    /// last one leaves none of them applied. Refused with
    /// [`Error::NoTransactionInGroup`] when one must run outside a
    /// transaction. Their tracking rows and history events are written
    /// once the last one has run, in the same transaction (each with its
    /// own duration), unless one applies out of order.
    pub fn grouped(mut self, grouped: bool) -> Self {
        self.grouped = grouped;
        self
    }

    /// Verifies what was applied, then applies every pending migration (up to
    /// the [`target`](Runner::target)) in version order.
    ///
    /// Each migration runs in its own transaction (or all in one, when
    /// [`grouped`](Runner::grouped)), which holds the migration lock from its
    /// start ([`LockMode::Write`]; SQLite: `BEGIN IMMEDIATE`) and re-reads
    /// the tracking table under it, so
    /// concurrent runs on one database apply each migration exactly once and
    /// all succeed. The migration and its tracking row commit together.
    ///
    /// - A migration whose file starts with `-- migrate:no-transaction` runs
    ///   outside a transaction: it is marked dirty first, and the mark is
    ///   cleared when it finishes. If it fails part way the mark stays, and
    ///   every later action refuses with [`Error::Dirty`] until
    ///   [`repair`](Runner::repair).
    /// - On an engine whose schema changes commit implicitly (no
    ///   [`Capabilities::transactional_ddl`](crate::backend::Capabilities)),
    ///   every migration runs as a no-transaction one does.
    /// - On SQLite with foreign keys on (`PRAGMA foreign_keys`), each migration runs
    ///   with them off, `PRAGMA foreign_key_check` runs before its commit and
    ///   a violation it added fails it (naming table and row; violations the
    ///   database already had do not), and they are turned back on afterwards
    ///   whatever happened.
    /// - On SQLite, migration code runs under SQLite's authorizer: a statement that would
    ///   begin or end a transaction (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, a
    ///   savepoint the migration did not open) or touch the tracking tables
    ///   is refused, failing the migration (see the guide's
    ///   `docs/reliability.md`). The authorizer replaces one the application set on `conn`,
    ///   and is removed afterwards.
    /// - However it ends, `conn` is handed back as it was given: no
    ///   transaction open, its settings (SQLite: busy timeout, foreign keys)
    ///   as before.
    /// - The migrations run on `conn` as it is: a function, collation or
    ///   virtual table module a migration uses (one the application
    ///   registers, `conn.create_scalar_function(…)`, or an extension it
    ///   loads provides) must be on `conn` before `run`, or the migration
    ///   fails with SQLite's `no such function`. Naming them for the
    ///   build-time check (`embed_migrations!(…, functions(…))`) registers
    ///   only stand-ins there, never on `conn`.
    ///
    /// On an up-to-date database this is one read transaction with a fixed
    /// number of queries, whatever the number of migrations: the latest
    /// applied migration's running checksum (see [`Checksum::chain`]) covers
    /// every applied checksum.
    ///
    /// Emits a `tracing` event per applied migration (version, name,
    /// duration in ms) and per failure.
    ///
    /// # Errors
    ///
    /// - [`Error::Verification`] before anything is applied: a divergent or
    ///   missing migration, a version a different migration took, or an
    ///   out-of-order one unless allowed.
    /// - [`Error::Dirty`]: a migration was cut short outside a transaction.
    /// - [`Error::MigrationFailed`]: a migration failed; it was rolled back
    ///   (or, outside a transaction, marked dirty), the failure recorded in
    ///   the tracking table and the history, and the migrations before it
    ///   stay applied (none of them, when grouped).
    /// - [`Error::UnknownVersion`]: the target is not in the set.
    /// - [`Error::NotCompiled`]: a pending Rust migration in a set read at
    ///   run time; [`Error::NoTransactionInGroup`].
    /// - [`Error::Unsupported`]: a grouped run on an engine whose schema
    ///   changes cannot be rolled back together.
    /// - [`Error::Locked`]: another connection held the lock too long.
    /// - [`Error::TransactionOpen`]: `conn` is inside a transaction.
    /// - [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Database`], [`Error::Io`] (the lock file of a no-transaction
    ///   migration).
    ///
    /// # Panics
    ///
    /// When a Rust migration panics, the panic goes on to the caller; the
    /// migration's transaction is rolled back on the way and the connection
    /// restored as above, but the failure is not recorded.
    pub fn run<D: Blocking>(&self, conn: &mut D) -> Result<Report> {
        block_on(self.run_async(conn))
    }

    /// The async form of [`run`](Runner::run), for any [`Database`]: the same
    /// steps, awaiting the database at each. Cancelling it (dropping the
    /// future) between two steps rolls back the open transaction, as a
    /// failure would; a no-transaction migration cancelled while it runs
    /// stays dirty, as if its process had stopped.
    ///
    /// # Errors
    ///
    /// As [`run`](Runner::run).
    pub async fn run_async<D: Database>(&self, conn: &mut D) -> Result<Report> {
        self.run_with_progress_async(conn, |_| {}).await
    }

    /// [`run`](Runner::run), calling `progress` with each migration as soon
    /// as it is committed: "n of N" and the time since the run began
    /// applying (see [`Progress`]). Grouped, every migration commits at
    /// once, and `progress` is called for each after the commit. A run that
    /// applies nothing never calls it. Without a callback, [`run`](Runner::run)
    /// does the same work.
    ///
    /// # Examples
    ///
    /// ```
    /// # use migrate_core::Migrations;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER);")?;
    /// # std::fs::write(dir.path().join("0002_posts.sql"), "CREATE TABLE posts (id INTEGER);")?;
    /// # let migrations = Migrations::from_folder(dir.path())?;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// let mut lines = Vec::new();
    /// migrations.runner().run_with_progress(&mut conn, |step| {
    ///     lines.push(format!("{} of {}: {}", step.number, step.total, step.applied.name));
    /// })?;
    /// assert_eq!(lines, ["1 of 2: users", "2 of 2: posts"]);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Runner::run); the migrations reported before an error stay
    /// applied.
    pub fn run_with_progress<D: Blocking>(
        &self,
        conn: &mut D,
        progress: impl FnMut(Progress<'_>),
    ) -> Result<Report> {
        block_on(self.run_with_progress_async(conn, progress))
    }

    /// The async form of [`run_with_progress`](Runner::run_with_progress).
    ///
    /// # Errors
    ///
    /// As [`run`](Runner::run).
    pub async fn run_with_progress_async<D: Database>(
        &self,
        conn: &mut D,
        progress: impl FnMut(Progress<'_>),
    ) -> Result<Report> {
        self.check_target()?;
        // Read first, without the migration lock nor the rules for migration
        // code: an up-to-date database (the usual start of an application)
        // never waits for or takes the lock, and no migration code runs.
        let up_to_date = {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let mut tx = backend.begin(LockMode::Read).await?;
                match self.verify(&mut tx).await {
                    Ok(pending) => Ok(pending.is_empty()),
                    // Another process is running a no-transaction migration:
                    // wait for it below, as for a migration's transaction.
                    Err(Error::InProgress { .. }) => Ok(false),
                    Err(error) => Err(error),
                }
            }
            .await;
            self.close_backend(backend, result).await
        }?;
        if up_to_date {
            return Ok(Report::default());
        }
        {
            let mut backend = self.open_backend(conn, Purpose::Migrate).await?;
            let result = async {
                let backend = &mut backend;
                if self.grouped {
                    self.run_grouped(backend, progress).await
                } else {
                    self.run_each(backend, progress).await
                }
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// Applies what [`run`](Runner::run) would apply inside one transaction,
    /// reports what happened to each migration, and rolls everything back:
    /// the database file is left unchanged byte for byte.
    ///
    /// Stops at the first failure, as a real run would. A migration that must
    /// run outside a transaction is not tried
    /// ([`DryRunOutcome::SkippedNoTransaction`]). Nothing is recorded in the
    /// tracking table or the history.
    ///
    /// # Examples
    ///
    /// ```
    /// # use migrate_core::Migrations;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("0001_users.up.sql"), "CREATE TABLE users (id INTEGER);")?;
    /// # std::fs::write(dir.path().join("0001_users.down.sql"), "DROP TABLE users;")?;
    /// # std::fs::write(dir.path().join("0002_posts.up.sql"), "CREATE TABLE posts (id INTEGER);")?;
    /// # std::fs::write(dir.path().join("0002_posts.down.sql"), "DROP TABLE posts;")?;
    /// # let migrations = Migrations::from_folder(dir.path())?;
    /// use migrate_core::DryRunOutcome;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// let report = migrations.runner().dry_run(&mut conn)?;
    /// assert!(report.steps.iter().all(|step| matches!(step.outcome, DryRunOutcome::Ok(_))));
    /// assert!(report.failure().is_none());
    /// assert_eq!(migrations.status(&mut conn)?.current_version, None, "nothing stays");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`run`](Runner::run) before anything is applied (verification,
    /// dirty, target, lock, connection); a migration's failure is not an
    /// error but part of the report.
    /// [`Error::Unsupported`] on an engine whose schema changes cannot be
    /// rolled back ([`Capabilities::dry_run`](crate::backend::Capabilities)).
    pub fn dry_run<D: Blocking>(&self, conn: &mut D) -> Result<DryRunReport> {
        block_on(self.dry_run_async(conn))
    }

    /// The async form of [`dry_run`](Runner::dry_run).
    ///
    /// # Errors
    ///
    /// As [`dry_run`](Runner::dry_run).
    pub async fn dry_run_async<D: Database>(&self, conn: &mut D) -> Result<DryRunReport> {
        self.check_target()?;
        {
            let mut backend = self.open_backend(conn, Purpose::Migrate).await?;
            let result = async {
                let backend = &mut backend;
                if !backend.capabilities().dry_run {
                    return Err(Error::Unsupported {
                        action: "a dry run",
                        reason: "its schema changes cannot be rolled back",
                    });
                }
                let mut tx = backend.begin(LockMode::Write).await?;
                tx.create_tables().await?;
                let pending = self.verify(&mut tx).await?;
                let mut report = DryRunReport::default();
                for index in pending {
                    let migration = &self.migrations.as_slice()[index];
                    let started = Instant::now();
                    let outcome = if migration.up_no_transaction() {
                        DryRunOutcome::SkippedNoTransaction
                    } else {
                        match execute(&mut tx, migration, Direction::Up).await {
                            Ok(()) => {
                                let duration = whole_millis(started.elapsed());
                                self.record_applied(
                                    &mut tx,
                                    migration,
                                    duration,
                                    EventKind::Applied,
                                )
                                .await?;
                                DryRunOutcome::Ok(duration)
                            }
                            Err(error) => DryRunOutcome::Failed(error.waited(self.lock_timeout)),
                        }
                    };
                    let failed = matches!(outcome, DryRunOutcome::Failed(_));
                    report.steps.push(DryRunStep {
                        version: migration.version(),
                        name: migration.name().to_owned(),
                        file: migration.file().to_owned(),
                        outcome,
                    });
                    if failed {
                        break;
                    }
                }
                // Dropping the transaction rolls everything back.
                drop(tx);
                Ok(report)
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// The database's state against the set: current version, applied,
    /// pending, failed and dirty migrations, and every problem. Only reads
    /// (waiting up to the lock timeout for a writer's commit); a database
    /// without the tracking table has everything pending.
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`],
    /// [`Error::MalformedRow`], [`Error::Database`].
    pub fn status<D: Blocking>(&self, conn: &mut D) -> Result<Status> {
        block_on(self.status_async(conn))
    }

    /// The async form of [`status`](Runner::status).
    ///
    /// # Errors
    ///
    /// As [`status`](Runner::status).
    pub async fn status_async<D: Database>(&self, conn: &mut D) -> Result<Status> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let mut tx = backend.begin(LockMode::Read).await?;
                // The row `run` trusts first (`latest`) must be readable: a
                // status may not call up to date what `run` refuses.
                let Some(records) = tx.records().await? else {
                    return Ok(Status {
                        pending: self.pending(0..self.migrations.len()),
                        ..Status::default()
                    });
                };
                let applied = records.applied;
                let diagnosis = plan::diagnose(self.migrations, &applied);
                Ok(Status {
                    current_version: applied.last().map(|m| m.version),
                    pending: self.pending(diagnosis.pending),
                    failed: records.failed,
                    dirty: records.dirty,
                    problems: diagnosis.problems,
                    applied,
                })
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// Verifies the database in a read transaction, as `run` does first.
    pub(crate) async fn verified<D: Database>(&self, conn: &mut D) -> Result<()> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let mut tx = backend.begin(LockMode::Read).await?;
                self.verify(&mut tx).await.map(drop)
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    pub(crate) fn migrations(&self) -> &'a Migrations {
        self.migrations
    }

    fn check_target(&self) -> Result<()> {
        match self.target {
            Some(version) if self.migrations.get(version).is_none() => {
                Err(Error::UnknownVersion(version))
            }
            _ => Ok(()),
        }
    }

    fn options(&self) -> Options {
        Options {
            target: self.target,
            allow_out_of_order: self.allow_out_of_order,
        }
    }

    /// Opens the backend of `conn` for one action; [`close_backend`]
    /// hands the connection back as it was given (the backend does that when
    /// dropped too, so a panic of a Rust migration leaves it as well).
    ///
    /// An action is `open_backend`, its body as an `async` block borrowing
    /// the backend, and `close_backend`, rather than one function taking the
    /// body as an async closure: the closure's higher-ranked lifetime would
    /// keep rustc from proving the action's future `Send` for an async
    /// client (the "implementation of `Send` is not general enough" error).
    ///
    /// [`close_backend`]: Runner::close_backend
    pub(crate) async fn open_backend<'c, D: Database>(
        &self,
        conn: &'c mut D,
        purpose: Purpose,
    ) -> Result<D::Backend<'c>> {
        validate_table_name(&self.table)?;
        let session = Session {
            table: &self.table,
            lock_timeout: self.lock_timeout,
            purpose,
        };
        let opened = conn.open(&session).await;
        opened.map_err(|error| error.waited(self.lock_timeout))
    }

    /// Closes the backend of an action that returned `result`. A failure to
    /// put the connection back is logged: what the action did is what it
    /// returns, so it does not turn a committed run into an error, nor
    /// replace the action's own.
    pub(crate) async fn close_backend<B: Backend, T>(
        &self,
        backend: B,
        result: Result<T>,
    ) -> Result<T> {
        let result = result.map_err(|error| error.waited(self.lock_timeout));
        if let Err(error) = backend.close().await {
            tracing::error!(%error, "could not put the connection back as it was after an action");
        }
        result
    }

    fn pending(&self, indices: impl IntoIterator<Item = usize>) -> Vec<PendingMigration> {
        let set = self.migrations.as_slice();
        indices
            .into_iter()
            .map(|i| PendingMigration {
                version: set[i].version(),
                name: set[i].name().to_owned(),
                file: set[i].file().to_owned(),
            })
            .collect()
    }

    /// One transaction per migration; re-verifies under the migration lock
    /// before each one. The first pass verifies the whole set; a later one
    /// reads the [`Head`] and, when it is still what this run committed last
    /// (no other process applied or marked anything in between), goes on
    /// with the migrations that were pending after it; otherwise it verifies
    /// the whole set again.
    async fn run_each<B: Backend, P: FnMut(Progress<'_>)>(
        &self,
        backend: &mut B,
        mut progress: P,
    ) -> Result<Report> {
        let transactional = backend.capabilities().transactional_ddl;
        let mut report = Report::default();
        let started_all = Instant::now();
        // How many the first pass found to apply (the N of "n of N").
        let mut total = 0;
        // What this run committed last, and what was pending after it.
        let mut committed: Option<Verified> = None;
        // When another process's no-transaction migration was first seen.
        let mut waiting_since: Option<Instant> = None;
        loop {
            let mut tx = backend.begin(LockMode::Write).await?;
            // Read in every transaction, so that the next one compares with
            // the state this one began in.
            let untouched = tx.unchanged_since_last().await?;
            let (head, unchanged) = match &committed {
                // Nobody else committed since this run's last transaction:
                // the tracking table is as this run left it.
                Some(_) if untouched => (None, true),
                // The tables were created in this run's first transaction
                // (and upgraded: `create_tables` adds what an older table
                // lacks), so later ones only read.
                Some(last) => {
                    let head = tx.head().await?;
                    let same = head
                        .as_ref()
                        .is_some_and(|head| head.dirty.is_none() && head.latest == last.latest);
                    (head, same)
                }
                None => {
                    tx.create_tables().await?;
                    (tx.head().await?, false)
                }
            };
            let verified = match committed.take() {
                Some(last) if unchanged => Ok(last),
                _ => self.verify_head(&mut tx, head).await,
            };
            let Verified {
                mut pending,
                latest,
            } = match verified {
                // Marked dirty by a process that is still running it: wait
                // (up to the lock timeout) for it to finish and record it.
                Err(Error::InProgress { .. })
                    if waiting_since.get_or_insert_with(Instant::now).elapsed()
                        < self.lock_timeout =>
                {
                    drop(tx);
                    sleep(Duration::from_millis(20)).await;
                    continue;
                }
                verified => verified?,
            };
            waiting_since = None;
            let Some(&next) = pending.front() else {
                tx.commit().await?;
                return Ok(report);
            };
            if report.applied.is_empty() && total == 0 {
                let all = pending.make_contiguous();
                plan::refuse_before_applying(self.migrations, all, false, B::can_run)?;
                total = all.len();
            }
            let migration = &self.migrations.as_slice()[next];
            let applied = if migration.up_no_transaction() || !transactional {
                if let Err(failure) = B::check(migration, Direction::Up) {
                    drop(tx);
                    let error = failed(migration, Direction::Up, failure, false);
                    return Err(self
                        .record_failure(backend, migration, Direction::Up, Duration::ZERO, error)
                        .await);
                }
                let lock = mark_outside(tx, migration, Direction::Up).await?;
                let outcome = self
                    .run_outside(backend, lock, migration, Direction::Up)
                    .await?;
                // Its outcome was recorded in a transaction of its own: the
                // next pass verifies the whole set.
                committed = None;
                match outcome {
                    Outcome::Applied(applied) => applied,
                    Outcome::RolledBack(_) => continue,
                }
            } else {
                let started = Instant::now();
                match execute(&mut tx, migration, Direction::Up).await {
                    Ok(()) => {
                        let (applied, now_latest) = self
                            .record_applied_after(
                                &mut tx,
                                latest,
                                migration,
                                started.elapsed(),
                                EventKind::Applied,
                            )
                            .await?;
                        commit_migration(tx, migration).await?;
                        trace_applied(&applied);
                        // What is left after it, without a copy.
                        pending.pop_front();
                        committed = Some(Verified {
                            pending,
                            latest: now_latest,
                        });
                        applied
                    }
                    Err(error) => {
                        drop(tx);
                        let duration = started.elapsed();
                        return Err(self
                            .record_failure(backend, migration, Direction::Up, duration, error)
                            .await);
                    }
                }
            };
            report.applied.push(applied);
            if let Some(applied) = report.applied.last() {
                progress(Progress {
                    applied,
                    number: report.applied.len(),
                    total: total.max(report.applied.len()),
                    elapsed: started_all.elapsed(),
                });
            }
            // Nothing was left to apply after it when this run verified
            // under the lock: no transaction only to find that out.
            if committed
                .as_ref()
                .is_some_and(|last| last.pending.is_empty())
            {
                return Ok(report);
            }
        }
    }

    /// All pending migrations in one transaction.
    async fn run_grouped<B: Backend, P: FnMut(Progress<'_>)>(
        &self,
        backend: &mut B,
        mut progress: P,
    ) -> Result<Report> {
        if !backend.capabilities().transactional_ddl {
            return Err(Error::Unsupported {
                action: "a grouped run",
                reason: "its schema changes cannot be rolled back together",
            });
        }
        let started_all = Instant::now();
        let mut tx = backend.begin(LockMode::Write).await?;
        tx.create_tables().await?;
        let head = tx.head().await?;
        let Verified {
            mut pending,
            mut latest,
        } = self.verify_head(&mut tx, head).await?;
        plan::refuse_before_applying(self.migrations, pending.make_contiguous(), true, B::can_run)?;
        let mut report = Report::default();
        // Above everything applied (no out-of-order migration to re-chain
        // the rows above), the tracking rows and their events are written
        // once every migration has run, still in the one transaction: a
        // migration's schema change makes the engine compile the cached
        // statements of those writes again (SQLite), so written between
        // migrations they are compiled once per migration, and after the
        // last one once for all. Nothing in the group can tell: migration
        // code may not read the tracking tables.
        let set = self.migrations.as_slice();
        let after_latest = match (latest, pending.front()) {
            (Some((version, _)), Some(&first)) => set[first].version() > version,
            _ => true,
        };
        let mut ran: Vec<(&Migration, Duration)> = Vec::new();
        for migration in pending.iter().map(|&i| &set[i]) {
            let started = Instant::now();
            if let Err(mut error) = execute(&mut tx, migration, Direction::Up).await {
                drop(tx);
                if let Error::MigrationFailed { grouped, .. } = &mut error {
                    *grouped = true;
                }
                let duration = started.elapsed();
                return Err(self
                    .record_failure(backend, migration, Direction::Up, duration, error)
                    .await);
            }
            ran.push((migration, started.elapsed()));
            if after_latest {
                continue;
            }
            for (migration, duration) in ran.drain(..) {
                let (applied, now_latest) = self
                    .record_applied_after(&mut tx, latest, migration, duration, EventKind::Applied)
                    .await?;
                latest = now_latest;
                report.applied.push(applied);
            }
        }
        // Left only above everything applied: each chains on the one before.
        let mut rows = Vec::with_capacity(ran.len());
        for (migration, duration) in ran {
            let running = Checksum::chain(
                latest.as_ref().map(|(_, running)| running),
                migration.version(),
                &migration.checksum(),
            );
            latest = Some((migration.version(), running));
            rows.push((migration, running, whole_millis(duration)));
        }
        let times = tx.record_all_applied(&rows).await?;
        for ((migration, _, duration), applied_at) in rows.into_iter().zip(times) {
            report.applied.push(AppliedMigration {
                version: migration.version(),
                name: migration.name().to_owned(),
                checksum: migration.checksum(),
                applied_at,
                duration,
            });
        }
        tx.commit()
            .await
            .map_err(|error| error.while_doing("committing the grouped run"))?;
        report.applied.iter().for_each(trace_applied);
        // Reported once they are committed, all at once.
        let total = report.applied.len();
        let elapsed = started_all.elapsed();
        for (index, applied) in report.applied.iter().enumerate() {
            progress(Progress {
                applied,
                number: index + 1,
                total,
                elapsed,
            });
        }
        Ok(report)
    }

    /// The no-transaction protocol, after [`mark_outside`]: runs the up or
    /// down of a migration marked dirty outside a transaction, then records
    /// the outcome in a transaction of its own (applied, or rolled back,
    /// clearing the mark) or records its error (keeping the mark). The lock
    /// is held until the outcome is committed, so that other processes wait
    /// instead of refusing, and released whatever happens.
    pub(crate) async fn run_outside<B: Backend>(
        &self,
        backend: &mut B,
        lock: B::OutsideLock,
        migration: &Migration,
        direction: Direction,
    ) -> Result<Outcome> {
        let started = Instant::now();
        let result = match backend.execute_outside(migration, direction).await {
            Ok(()) => {
                self.record_outcome(backend, migration, direction, started)
                    .await
            }
            Err(failure) => {
                let error = failed(migration, direction, failure, true);
                Err(self
                    .record_failure(backend, migration, direction, started.elapsed(), error)
                    .await)
            }
        };
        backend.release(lock).await;
        result
    }

    /// Records a migration that ran outside a transaction as applied, or as
    /// rolled back.
    async fn record_outcome<B: Backend>(
        &self,
        backend: &mut B,
        migration: &Migration,
        direction: Direction,
        started: Instant,
    ) -> Result<Outcome> {
        let mut tx = backend.begin(LockMode::Write).await?;
        let outcome = match direction {
            Direction::Up => Outcome::Applied(
                self.record_applied(&mut tx, migration, started.elapsed(), EventKind::Applied)
                    .await?,
            ),
            Direction::Down => {
                Outcome::RolledBack(self.record_rolled_back(&mut tx, migration, started).await?)
            }
        };
        commit_migration(tx, migration).await?;
        if let Outcome::Applied(applied) = &outcome {
            trace_applied(applied);
        }
        Ok(outcome)
    }

    /// Records `migration` as applied (or baselined) with its history event,
    /// and keeps every running checksum equal to the chain over the applied
    /// migrations in version order.
    pub(crate) async fn record_applied<T: Transaction>(
        &self,
        tx: &mut T,
        migration: &Migration,
        duration: Duration,
        kind: EventKind,
    ) -> Result<AppliedMigration> {
        let latest = tx.latest_applied().await?;
        let (applied, _) = self
            .record_applied_after(tx, latest, migration, duration, kind)
            .await?;
        Ok(applied)
    }

    /// [`record_applied`](Runner::record_applied) when the latest applied
    /// migration was already read in `tx` (`latest`, as
    /// [`Transaction::latest_applied`] returns it): a migration above it
    /// chains onto its running checksum without reading the tracking table
    /// again. Returns the latest applied migration afterwards too.
    async fn record_applied_after<T: Transaction>(
        &self,
        tx: &mut T,
        latest: Option<(u64, Checksum)>,
        migration: &Migration,
        duration: Duration,
        kind: EventKind,
    ) -> Result<(AppliedMigration, Option<(u64, Checksum)>)> {
        let duration = whole_millis(duration);
        let version = migration.version();
        let below = match latest {
            None => None,
            Some((latest, running)) if latest < version => Some(running),
            Some(_) => tx.running_checksum_below(version).await?,
        };
        let running = Checksum::chain(below.as_ref(), version, &migration.checksum());
        let event = NewEvent {
            kind,
            version: migration.version(),
            name: migration.name(),
            direction: Direction::Up,
            checksum: Some(migration.checksum()),
            duration: (kind == EventKind::Applied).then_some(duration),
            detail: None,
        };
        let applied_at = tx
            .record_applied_with_event(migration, running, duration, &event)
            .await?;
        // Out of order (allowed): re-chain the applied migrations above it so
        // that the latest one's running checksum again covers all of them.
        let mut now_latest = Some((version, running));
        if latest.is_some_and(|(latest, _)| latest > version) {
            let above: Vec<AppliedMigration> = tx
                .applied()
                .await?
                .into_iter()
                .filter(|a| a.version > version)
                .collect();
            let rows = above.iter().map(|a| (a.version, &a.checksum));
            for (version, chained) in plan::rechain(Some(running), rows) {
                tx.set_running_checksum(version, chained).await?;
                now_latest = Some((version, chained));
            }
        }
        let applied = AppliedMigration {
            version,
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            applied_at,
            duration,
        };
        Ok((applied, now_latest))
    }

    /// Records a failure after its transaction was rolled back, in a
    /// transaction of its own: a failed up's row (or a dirty one's error),
    /// and a `failed` event; returns the error to give the caller (with how
    /// long a lock was waited for, as recorded). A failure to record is
    /// logged, not returned: the caller returns the migration's own error.
    pub(crate) async fn record_failure<B: Backend>(
        &self,
        backend: &mut B,
        migration: &Migration,
        direction: Direction,
        duration: Duration,
        error: Error,
    ) -> Error {
        let error = error.waited(self.lock_timeout);
        tracing::error!(
            version = migration.version(),
            name = migration.name(),
            ?direction,
            error = %error,
            "migration failed"
        );
        let message = error.to_string();
        let dirty = matches!(error, Error::MigrationFailed { dirty: true, .. });
        let outside =
            migration.runs_outside(direction) || !backend.capabilities().transactional_ddl;
        let recorded = async {
            let mut tx = backend.begin(LockMode::Write).await?;
            tx.create_tables().await?;
            if dirty {
                // A migration outside a transaction was marked dirty before
                // it ran; one whose transaction ended under it is now.
                if !outside {
                    tx.mark_dirty(migration, direction).await?;
                }
                tx.set_dirty_error(migration.version(), &message).await?;
            } else if direction == Direction::Up {
                tx.record_failure(migration, duration, &message).await?;
            }
            tx.record_event(&NewEvent {
                kind: EventKind::Failed,
                version: migration.version(),
                name: migration.name(),
                direction,
                checksum: Some(migration.checksum()),
                duration: Some(duration),
                detail: Some(&message),
            })
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(record_error) = recorded {
            tracing::warn!(
                version = migration.version(),
                error = %record_error,
                "could not record the failed migration in the tracking table"
            );
        }
        error
    }

    /// Verifies the applied migrations against the set inside `tx` and
    /// returns what is pending (up to the target), or the first blocking
    /// problem. Without a tracking table, everything is pending. On an
    /// up-to-date database: [`Transaction::head`] only.
    pub(crate) async fn verify<T: Transaction>(&self, tx: &mut T) -> Result<Vec<usize>> {
        let head = tx.head().await?;
        Ok(self.verify_head(tx, head).await?.pending.into())
    }

    /// [`verify`](Runner::verify) from a [`Head`] already read in `tx`.
    async fn verify_head<T: Transaction>(
        &self,
        tx: &mut T,
        head: Option<Head>,
    ) -> Result<Verified> {
        let set = self.migrations;
        let Some(head) = head else {
            self.refuse_other_tools(tx).await?;
            let pending = plan::to_apply(set, plan::after_prefix(set, None), self.options())?;
            return Ok(Verified {
                pending: pending.into(),
                latest: None,
            });
        };
        refuse_dirty(tx, head.dirty).await?;
        let diagnosis = match head.latest {
            None => plan::after_prefix(set, None),
            Some(latest) => match plan::applied_prefix(set, latest) {
                Some(index) => plan::after_prefix(set, Some(index)),
                None => plan::diagnose(set, &tx.applied().await?),
            },
        };
        Ok(Verified {
            pending: plan::to_apply(set, diagnosis, self.options())?.into(),
            latest: head.latest,
        })
    }
}

/// One migration a run has just applied and committed, as
/// [`Runner::run_with_progress`] reports it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Progress<'r> {
    /// The migration, as the run's [`Report`] lists it.
    pub applied: &'r AppliedMigration,
    /// Its place among the migrations this run applies, from 1.
    pub number: usize,
    /// How many this run found to apply when it verified the set under the
    /// migration lock (at least `number`).
    pub total: usize,
    /// Wall-clock time since the run began applying, up to this
    /// migration's commit: the running total.
    pub elapsed: Duration,
}

/// What [`Runner::verify_head`] found in a transaction.
struct Verified {
    /// The pending migrations to apply, as indices into the set, in order.
    pending: VecDeque<usize>,
    /// The latest applied version and its running checksum.
    latest: Option<(u64, Checksum)>,
}

/// Refuses while `dirty`, read in `tx`, is marked dirty (see
/// [`plan::refuse_dirty`]), asking the backend whether another process is
/// running it only then.
pub(crate) async fn refuse_dirty<T: Transaction>(
    tx: &mut T,
    dirty: Option<crate::report::DirtyMigration>,
) -> Result<()> {
    let running = match dirty {
        Some(_) => tx.another_is_running().await,
        None => false,
    };
    plan::refuse_dirty(dirty, || running)
}

/// Waits `duration` without blocking an async caller's thread and without
/// naming a runtime: a helper thread sleeps and wakes the task. Used only
/// while another process runs a no-transaction migration (20 ms at a time).
async fn sleep(duration: Duration) {
    let deadline = Instant::now() + duration;
    std::future::poll_fn(|context| {
        let now = Instant::now();
        if now >= deadline {
            return std::task::Poll::Ready(());
        }
        let waker = context.waker().clone();
        std::thread::spawn(move || {
            std::thread::sleep(deadline - now);
            waker.wake();
        });
        std::task::Poll::Pending
    })
    .await;
}

/// What a migration run outside a transaction came to.
pub(crate) enum Outcome {
    /// Its up was applied.
    Applied(AppliedMigration),
    /// Its down was.
    RolledBack(crate::report::RolledBackMigration),
}

/// The first half of the no-transaction protocol: in `tx`, which holds the
/// migration lock, takes the backend's lock for work outside a transaction,
/// marks the migration dirty and commits, so that the mark is visible only
/// while the lock is held. Then [`Runner::run_outside`].
pub(crate) async fn mark_outside<T: Transaction>(
    mut tx: T,
    migration: &Migration,
    direction: Direction,
) -> Result<T::OutsideLock> {
    let lock = tx.lock_outside().await?;
    tx.mark_dirty(migration, direction).await?;
    tx.commit().await?;
    Ok(lock)
}

/// Runs a migration's up or down inside `tx`, naming it in a failure.
pub(crate) async fn execute<T: Transaction>(
    tx: &mut T,
    migration: &Migration,
    direction: Direction,
) -> Result<()> {
    tx.execute(migration, direction)
        .await
        .map_err(|failure| failed(migration, direction, failure, false))
}

/// A backend's [`Failure`] as the error users read: the migration, its
/// file, whether part of it may be in the database (it ran `outside` a
/// transaction, or its transaction ended under it).
pub(crate) fn failed(
    migration: &Migration,
    direction: Direction,
    failure: Failure,
    outside: bool,
) -> Error {
    match failure {
        Failure::Error(error) => error,
        Failure::Migration(failure) => Error::MigrationFailed {
            version: migration.version(),
            name: migration.name().to_owned(),
            file: migration.file_of(direction).to_owned(),
            direction,
            dirty: outside || failure.transaction_ended,
            grouped: false,
            line: failure.line,
            statement: failure.statement,
            error: failure.error,
        },
    }
}

/// Commits a migration's transaction; a failure names the migration.
pub(crate) async fn commit_migration<T: Transaction>(tx: T, migration: &Migration) -> Result<()> {
    tx.commit().await.map_err(|error| {
        error.while_doing(&format!(
            "committing migration {} ({})",
            migration.version(),
            migration.name()
        ))
    })
}

/// A duration cut to whole milliseconds, as the tracking table and the
/// history store it, so that a report equals what is read back later.
pub(crate) fn whole_millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn trace_applied(applied: &AppliedMigration) {
    tracing::info!(
        version = applied.version,
        name = %applied.name,
        duration_ms = applied.duration.as_millis() as u64,
        "applied migration"
    );
}

/// Checks that a tracking table name is a plain identifier, since it is
/// written into SQL (an identifier cannot be a bound parameter).
fn validate_table_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidTableName(name.to_owned()))
    }
}
