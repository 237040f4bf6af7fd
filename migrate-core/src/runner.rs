//! Applying a set of migrations to a database, and reading its status.

use std::time::{Duration, Instant};

use crate::backend::{Backend, NewEvent};
use crate::checksum::Checksum;
use crate::error::{Error, Problem, Result};
use crate::foreign_keys::ForeignKeyCheck;
use crate::guard::Guard;
use crate::in_progress::{Running, another_is_running};
use crate::migration::{Migration, Migrations};
use crate::report::{
    AppliedMigration, Direction, DryRunOutcome, DryRunReport, DryRunStep, Event, EventKind,
    PendingMigration, RedoReport, Report, RollbackReport, Status,
};

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
        }
    }

    /// Verifies what was applied, then applies every pending migration, each
    /// in its own transaction; see [`Runner::run`].
    ///
    /// # Errors
    ///
    /// As [`Runner::run`].
    pub fn run<B: Backend>(&self, conn: &mut B) -> Result<Report> {
        self.runner().run(conn)
    }

    /// Applies pending migrations up to and including `version`; see
    /// [`Runner::target`].
    ///
    /// # Errors
    ///
    /// As [`Runner::run`], and [`Error::UnknownVersion`] when `version` is
    /// not in the set.
    pub fn run_to<B: Backend>(&self, conn: &mut B, version: u64) -> Result<Report> {
        self.runner().target(version).run(conn)
    }

    /// The database's state against this set; see [`Runner::status`].
    ///
    /// # Errors
    ///
    /// As [`Runner::status`].
    pub fn status<B: Backend>(&self, conn: &mut B) -> Result<Status> {
        self.runner().status(conn)
    }

    /// Reverts the last `count` applied migrations; see [`Runner::rollback`].
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub fn rollback<B: Backend>(&self, conn: &mut B, count: usize) -> Result<RollbackReport> {
        self.runner().rollback(conn, count)
    }

    /// Reverts every applied migration above `version`; see
    /// [`Runner::rollback_to`].
    ///
    /// # Errors
    ///
    /// As [`Runner::rollback`].
    pub fn rollback_to<B: Backend>(&self, conn: &mut B, version: u64) -> Result<RollbackReport> {
        self.runner().rollback_to(conn, version)
    }

    /// Reverts the latest applied migration and applies it again; see
    /// [`Runner::redo`].
    ///
    /// # Errors
    ///
    /// As [`Runner::redo`].
    pub fn redo<B: Backend>(&self, conn: &mut B) -> Result<Option<RedoReport>> {
        self.runner().redo(conn)
    }

    /// The append-only history of every event; see [`Runner::history`].
    ///
    /// # Errors
    ///
    /// As [`Runner::history`].
    pub fn history<B: Backend>(&self, conn: &mut B) -> Result<Vec<Event>> {
        self.runner().history(conn)
    }
}

/// What verification found: the pending migrations (indices into the set)
/// and the problems.
struct Plan {
    pending: Vec<usize>,
    problems: Vec<Problem>,
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

    /// Applies all pending migrations in one transaction: all or nothing
    /// (default `false`: one transaction per migration). A failure in the
    /// last one leaves none of them applied. Refused with
    /// [`Error::NoTransactionInGroup`] when one must run outside a
    /// transaction.
    pub fn grouped(mut self, grouped: bool) -> Self {
        self.grouped = grouped;
        self
    }

    /// Verifies what was applied, then applies every pending migration (up to
    /// the [`target`](Runner::target)) in version order.
    ///
    /// Each migration runs in its own transaction (or all in one, when
    /// [`grouped`](Runner::grouped)), which holds the write lock from its
    /// start (`BEGIN IMMEDIATE`) and re-reads the tracking table under it, so
    /// concurrent runs on one database apply each migration exactly once and
    /// all succeed. The migration and its tracking row commit together.
    ///
    /// - A migration whose file starts with `-- migrate:no-transaction` runs
    ///   outside a transaction: it is marked dirty first, and the mark is
    ///   cleared when it finishes. If it fails part way the mark stays, and
    ///   every later action refuses with [`Error::Dirty`] until
    ///   [`repair`](Runner::repair).
    /// - With foreign keys on (`PRAGMA foreign_keys`), each migration runs
    ///   with them off, `PRAGMA foreign_key_check` runs before its commit and
    ///   a violation it added fails it (naming table and row; violations the
    ///   database already had do not), and they are turned back on afterwards
    ///   whatever happened.
    /// - Migration code runs under SQLite's authorizer: a statement that would
    ///   begin or end a transaction (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, a
    ///   savepoint the migration did not open) or touch the tracking tables
    ///   is refused, failing the migration (see the README's Reliability
    ///   section). The authorizer replaces one the application set on `conn`,
    ///   and is removed afterwards.
    /// - However it ends, `conn` is handed back as it was given: no
    ///   transaction open, its busy timeout and foreign key setting as
    ///   before.
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
    /// - [`Error::Locked`]: another connection held the lock too long.
    /// - [`Error::TransactionOpen`]: `conn` is inside a transaction.
    /// - [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Sqlite`], [`Error::Io`] (the lock file of a no-transaction
    ///   migration).
    ///
    /// # Panics
    ///
    /// When a Rust migration panics, the panic goes on to the caller; the
    /// migration's transaction is rolled back on the way and the connection
    /// restored as above, but the failure is not recorded.
    pub fn run<B: Backend>(&self, conn: &mut B) -> Result<Report> {
        self.check_target()?;
        // Read first, without the write lock nor the rules for migration
        // code: an up-to-date database (the usual start of an application)
        // never waits for or takes the lock, and no migration code runs.
        let up_to_date = self.session(conn, |conn| {
            let tx = conn.begin(false, self.lock_timeout)?;
            match self.verify(&*tx) {
                Ok(plan) => Ok(plan.pending.is_empty()),
                // Another process is running a no-transaction migration:
                // wait for it below, as for a migration's transaction.
                Err(Error::InProgress { .. }) => Ok(false),
                Err(error) => Err(error),
            }
        })?;
        if up_to_date {
            return Ok(Report::default());
        }
        self.migrating(conn, false, |conn, guard| {
            let mut foreign_keys = ForeignKeyCheck::new(conn)?;
            if self.grouped {
                self.run_grouped(conn, guard, &mut foreign_keys)
            } else {
                self.run_each(conn, guard, &mut foreign_keys)
            }
        })
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
    pub fn dry_run<B: Backend>(&self, conn: &mut B) -> Result<DryRunReport> {
        self.check_target()?;
        self.migrating(conn, false, |conn, guard| {
            let mut foreign_keys = ForeignKeyCheck::new(conn)?;
            let _off = foreign_keys.off(conn)?;
            let tx = self.begin_migration(conn, guard)?;
            tx.create_tables(&self.table)?;
            let plan = self.verify(&*tx)?;
            let mut report = DryRunReport::default();
            for index in plan.pending {
                let migration = &self.migrations.as_slice()[index];
                let started = Instant::now();
                let outcome = if migration.up_no_transaction() {
                    DryRunOutcome::SkippedNoTransaction
                } else {
                    match self.execute::<B>(&tx, migration, Direction::Up, guard, &mut foreign_keys)
                    {
                        Ok(()) => {
                            let duration = whole_millis(started.elapsed());
                            self.record_applied(&*tx, migration, duration, EventKind::Applied)?;
                            DryRunOutcome::Ok(duration)
                        }
                        Err(error) => DryRunOutcome::Failed(error),
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
        })
    }

    /// The database's state against the set: current version, applied,
    /// pending, failed and dirty migrations, and every problem. Only reads
    /// (waiting up to the lock timeout for a writer's commit); a database
    /// without the tracking table has everything pending.
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`],
    /// [`Error::MalformedRow`], [`Error::Sqlite`].
    pub fn status<B: Backend>(&self, conn: &mut B) -> Result<Status> {
        self.session(conn, |conn| {
            let tx = conn.begin(false, self.lock_timeout)?;
            if !tx.table_exists(&self.table)? {
                return Ok(Status {
                    pending: self.pending(0..self.migrations.len()),
                    ..Status::default()
                });
            }
            // The row `run` trusts first must be readable: a status may not
            // call up to date what `run` refuses.
            tx.latest_applied(&self.table)?;
            let applied = tx.applied(&self.table)?;
            let plan = self.diagnose(&applied);
            Ok(Status {
                current_version: applied.last().map(|m| m.version),
                pending: self.pending(plan.pending),
                failed: tx.failed(&self.table)?,
                dirty: tx.dirty(&self.table)?,
                problems: plan.problems,
                applied,
            })
        })
    }

    /// Verifies the database in a read transaction, as `run` does first.
    pub(crate) fn verified<B: Backend>(&self, conn: &mut B) -> Result<()> {
        self.session(conn, |conn| {
            let tx = conn.begin(false, self.lock_timeout)?;
            self.verify(&*tx).map(drop)
        })
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

    pub(crate) fn check_connection<B: Backend>(&self, conn: &B) -> Result<()> {
        validate_table_name(&self.table)?;
        if conn.in_transaction() {
            return Err(Error::TransactionOpen);
        }
        Ok(())
    }

    /// Checks the connection, then runs `body` with the lock timeout as the
    /// connection's busy timeout; see [`Runner::migrating`] for what is
    /// restored afterwards. For actions that run no migration code.
    pub(crate) fn session<B: Backend, T>(
        &self,
        conn: &mut B,
        body: impl FnOnce(&B) -> Result<T>,
    ) -> Result<T> {
        self.with_connection(conn, None, body)
    }

    /// [`session`](Runner::session) for actions that run migration code:
    /// `body` gets the [`Guard`] whose rules (SQLite's authorizer) hold while
    /// that code runs, protecting this runner's tracking tables; `sandbox`
    /// also keeps it from touching any file (the build-time check).
    ///
    /// Whatever way `body` ends — an error, a lock timeout, a panic of a
    /// Rust migration — the connection is handed back as it was given: no
    /// transaction open (one left open is rolled back), its own busy timeout,
    /// no authorizer. What a migration changes of the connection (foreign
    /// keys, other settings, attached databases, temporary objects) is put
    /// back after each one (see `ForeignKeysOff` and the `guard` module).
    pub(crate) fn migrating<B: Backend, T>(
        &self,
        conn: &mut B,
        sandbox: bool,
        body: impl FnOnce(&B, &Guard) -> Result<T>,
    ) -> Result<T> {
        let guard = Guard::new(&tracking_tables(&self.table), sandbox);
        self.with_connection(conn, Some(&guard), |conn| body(conn, &guard))
    }

    fn with_connection<B: Backend, T>(
        &self,
        conn: &mut B,
        guard: Option<&Guard>,
        body: impl FnOnce(&B) -> Result<T>,
    ) -> Result<T> {
        self.check_connection(conn)?;
        // Waiting happens wherever SQLite needs a lock: at `BEGIN IMMEDIATE`,
        // at a read while another connection holds an exclusive lock (in
        // rollback-journal mode), at `COMMIT` while readers hold shared ones.
        let busy_timeout = conn.set_lock_timeout(self.lock_timeout)?;
        let mut restore = Restore {
            conn,
            busy_timeout,
            guarded: None,
        };
        if let Some(guard) = guard {
            restore.conn.guard(guard)?;
            restore.guarded = Some(guard);
        }
        let result = body(&*restore.conn).map_err(|error| error.busy_as_locked(self.lock_timeout));
        // What the action did is what it returns: a failure to put the
        // connection back after it (logged) does not turn a committed run into
        // an error, nor replace the action's own.
        drop(restore);
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

    /// One transaction per migration; re-verifies under the write lock before
    /// each one.
    fn run_each<B: Backend>(
        &self,
        conn: &B,
        guard: &Guard,
        foreign_keys: &mut ForeignKeyCheck,
    ) -> Result<Report> {
        let mut report = Report::default();
        // The first pass, under the write lock, checks every pending migration
        // before any is applied.
        let mut first = true;
        // When another process's no-transaction migration was first seen.
        let mut waiting_since: Option<Instant> = None;
        loop {
            let off = foreign_keys.off(conn)?;
            let tx = self.begin_migration(conn, guard)?;
            tx.create_tables(&self.table)?;
            let plan = match self.verify(&*tx) {
                // Marked dirty by a process that is still running it: wait
                // (up to the lock timeout) for it to finish and record it.
                Err(Error::InProgress { .. })
                    if waiting_since.get_or_insert_with(Instant::now).elapsed()
                        < self.lock_timeout =>
                {
                    drop(tx);
                    drop(off);
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                plan => plan?,
            };
            waiting_since = None;
            let Some(&next) = plan.pending.first() else {
                B::commit(tx)?;
                return Ok(report);
            };
            if first {
                self.refuse_before_applying(&plan.pending, false)?;
                first = false;
            }
            let migration = &self.migrations.as_slice()[next];
            if migration.up_no_transaction() {
                // Held from before the mark is visible until the outcome is
                // recorded, so that others wait instead of refusing.
                let running = Running::start(conn, &self.table, self.lock_timeout)?;
                tx.mark_dirty(&self.table, migration, Direction::Up)?;
                B::commit(tx)?;
                // Outside a transaction, foreign keys are enforced as the
                // connection has them.
                drop(off);
                report
                    .applied
                    .push(self.apply_outside(conn, migration, guard, running)?);
                continue;
            }
            let started = Instant::now();
            match self.execute::<B>(&tx, migration, Direction::Up, guard, foreign_keys) {
                Ok(()) => {
                    let applied = self.record_applied(
                        &*tx,
                        migration,
                        started.elapsed(),
                        EventKind::Applied,
                    )?;
                    commit_migration::<B>(tx, migration)?;
                    trace_applied(&applied);
                    report.applied.push(applied);
                }
                Err(error) => {
                    drop(tx);
                    self.record_failure(conn, migration, Direction::Up, started.elapsed(), &error);
                    return Err(error);
                }
            }
        }
    }

    /// All pending migrations in one transaction.
    fn run_grouped<B: Backend>(
        &self,
        conn: &B,
        guard: &Guard,
        foreign_keys: &mut ForeignKeyCheck,
    ) -> Result<Report> {
        let _off = foreign_keys.off(conn)?;
        let tx = self.begin_migration(conn, guard)?;
        tx.create_tables(&self.table)?;
        let plan = self.verify(&*tx)?;
        self.refuse_before_applying(&plan.pending, true)?;
        let mut report = Report::default();
        for migration in plan.pending.iter().map(|&i| &self.migrations.as_slice()[i]) {
            let started = Instant::now();
            if let Err(mut error) =
                self.execute::<B>(&tx, migration, Direction::Up, guard, foreign_keys)
            {
                drop(tx);
                if let Error::MigrationFailed { grouped, .. } = &mut error {
                    *grouped = true;
                }
                self.record_failure(conn, migration, Direction::Up, started.elapsed(), &error);
                return Err(error);
            }
            let applied =
                self.record_applied(&*tx, migration, started.elapsed(), EventKind::Applied)?;
            report.applied.push(applied);
        }
        B::commit(tx).map_err(|error| error.while_doing("committing the grouped run"))?;
        report.applied.iter().for_each(trace_applied);
        Ok(report)
    }

    /// Runs a migration marked dirty outside a transaction, then records it
    /// as applied (clearing the mark) or records its error (keeping it).
    /// `running` is held until the outcome is committed.
    fn apply_outside<B: Backend>(
        &self,
        conn: &B,
        migration: &Migration,
        guard: &Guard,
        running: Running,
    ) -> Result<AppliedMigration> {
        let started = Instant::now();
        match conn.execute_outside(migration, Direction::Up, guard) {
            Ok(()) => {
                let tx = conn.begin(true, self.lock_timeout)?;
                let applied =
                    self.record_applied(&*tx, migration, started.elapsed(), EventKind::Applied)?;
                commit_migration::<B>(tx, migration)?;
                drop(running);
                trace_applied(&applied);
                Ok(applied)
            }
            Err(error) => {
                self.record_failure(conn, migration, Direction::Up, started.elapsed(), &error);
                drop(running);
                Err(error)
            }
        }
    }

    /// Begins the write transaction of a migration (or a group of them), first
    /// detaching what an earlier migration attached inside its own: SQLite
    /// cannot detach inside a transaction, and the next migration may attach
    /// the same name.
    pub(crate) fn begin_migration<'c, B: Backend>(
        &self,
        conn: &'c B,
        guard: &Guard,
    ) -> Result<B::Tx<'c>> {
        conn.detach_leftovers(guard)?;
        conn.begin(true, self.lock_timeout)
    }

    /// Runs a migration's up or down inside `tx` under `guard`'s rules,
    /// then, when the connection enforces foreign keys, checks them before
    /// the caller commits.
    pub(crate) fn execute<B: Backend>(
        &self,
        tx: &B::Tx<'_>,
        migration: &Migration,
        direction: Direction,
        guard: &Guard,
        foreign_keys: &mut ForeignKeyCheck,
    ) -> Result<()> {
        B::execute(tx, migration, direction, guard)?;
        foreign_keys.check(&**tx, migration, direction)
    }

    /// Records `migration` as applied (or baselined) with its history event,
    /// and keeps every running checksum equal to the chain over the applied
    /// migrations in version order.
    pub(crate) fn record_applied<B: Backend>(
        &self,
        conn: &B,
        migration: &Migration,
        duration: Duration,
        kind: EventKind,
    ) -> Result<AppliedMigration> {
        let duration = whole_millis(duration);
        let table = &self.table;
        let latest = conn.latest_applied(table)?.map(|(version, _)| version);
        let below = conn.running_checksum_below(table, migration.version())?;
        let running = Checksum::chain(below.as_ref(), migration.version(), &migration.checksum());
        let applied_at = conn.record_applied(table, migration, running, duration)?;
        // Out of order (allowed): re-chain the applied migrations above it so
        // that the latest one's running checksum again covers all of them.
        if latest.is_some_and(|latest| latest > migration.version()) {
            let mut previous = running;
            for above in conn
                .applied(table)?
                .into_iter()
                .filter(|a| a.version > migration.version())
            {
                previous = Checksum::chain(Some(&previous), above.version, &above.checksum);
                conn.set_running_checksum(table, above.version, previous)?;
            }
        }
        conn.record_event(
            table,
            &NewEvent {
                kind,
                version: migration.version(),
                name: migration.name(),
                direction: Direction::Up,
                checksum: Some(migration.checksum()),
                duration: (kind == EventKind::Applied).then_some(duration),
                detail: None,
            },
        )?;
        Ok(AppliedMigration {
            version: migration.version(),
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            applied_at,
            duration,
        })
    }

    /// Records a failure after its transaction was rolled back, in a
    /// transaction of its own: a failed up's row (or a dirty one's error),
    /// and a `failed` event. A failure to record is logged, not returned:
    /// the caller returns the migration's own error.
    pub(crate) fn record_failure<B: Backend>(
        &self,
        conn: &B,
        migration: &Migration,
        direction: Direction,
        duration: Duration,
        error: &Error,
    ) {
        tracing::error!(
            version = migration.version(),
            name = migration.name(),
            ?direction,
            error = %error,
            "migration failed"
        );
        let message = error.to_string();
        let dirty = matches!(error, Error::MigrationFailed { dirty: true, .. });
        let recorded = conn.begin(true, self.lock_timeout).and_then(|tx| {
            tx.create_tables(&self.table)?;
            if dirty {
                // A migration outside a transaction was marked dirty before
                // it ran; one whose transaction ended under it is now.
                if !runs_outside(migration, direction) {
                    tx.mark_dirty(&self.table, migration, direction)?;
                }
                tx.set_dirty_error(&self.table, migration.version(), &message)?;
            } else if direction == Direction::Up {
                tx.record_failure(&self.table, migration, duration, &message)?;
            }
            tx.record_event(
                &self.table,
                &NewEvent {
                    kind: EventKind::Failed,
                    version: migration.version(),
                    name: migration.name(),
                    direction,
                    checksum: Some(migration.checksum()),
                    duration: Some(duration),
                    detail: Some(&message),
                },
            )?;
            B::commit(tx)
        });
        if let Err(record_error) = recorded {
            tracing::warn!(
                version = migration.version(),
                error = %record_error,
                "could not record the failed migration in the tracking table"
            );
        }
    }

    /// Verifies the applied migrations against the set and returns what is
    /// pending (up to the target), or the first blocking problem. Without a
    /// tracking table, everything is pending.
    fn verify<B: Backend>(&self, conn: &B) -> Result<Plan> {
        // Everything after the applied prefix ending at `index` is pending.
        let after = |index: Option<usize>| Plan {
            pending: (index.map_or(0, |i| i + 1)..self.migrations.len()).collect(),
            problems: Vec::new(),
        };
        if !conn.table_exists(&self.table)? {
            return Ok(self.within_target(after(None)));
        }
        refuse_dirty(conn, &self.table)?;
        let plan = match conn.latest_applied(&self.table)? {
            None => after(None),
            // The fast path: one row's running checksum covers all before it.
            Some((version, running)) => match self.migrations.position(version) {
                Some(index) if self.migrations.as_slice()[index].running_checksum() == running => {
                    after(Some(index))
                }
                _ => self.diagnose(&conn.applied(&self.table)?),
            },
        };
        let blocking = plan.problems.iter().find(|problem| {
            !(self.allow_out_of_order && matches!(problem, Problem::OutOfOrder { .. }))
        });
        match blocking {
            Some(problem) => Err(Error::Verification(problem.clone())),
            None => Ok(self.within_target(plan)),
        }
    }

    /// Refuses, before anything is applied, a pending Rust migration whose
    /// code is not compiled in and, in a grouped run, a migration that must
    /// run outside a transaction.
    fn refuse_before_applying(&self, pending: &[usize], grouped: bool) -> Result<()> {
        for migration in pending.iter().map(|&i| &self.migrations.as_slice()[i]) {
            if !migration.is_runnable() {
                return Err(not_compiled(migration));
            }
            if grouped && migration.up_no_transaction() {
                return Err(Error::NoTransactionInGroup {
                    version: migration.version(),
                    name: migration.name().to_owned(),
                    file: migration.file().to_owned(),
                });
            }
        }
        Ok(())
    }

    fn within_target(&self, mut plan: Plan) -> Plan {
        if let Some(target) = self.target {
            let set = self.migrations.as_slice();
            plan.pending.retain(|&i| set[i].version() <= target);
        }
        plan
    }

    /// Compares every applied migration with the set, row by row.
    fn diagnose(&self, applied: &[AppliedMigration]) -> Plan {
        let set = self.migrations.as_slice();
        let mut problems: Vec<Problem> = applied
            .iter()
            .filter_map(|row| self.compare(row, applied))
            .collect();
        let latest_applied = applied.last().map_or(0, |row| row.version);
        let pending: Vec<usize> = (0..set.len())
            .filter(|&i| {
                applied
                    .binary_search_by_key(&set[i].version(), |row| row.version)
                    .is_err()
            })
            .collect();
        for &i in &pending {
            if set[i].version() < latest_applied {
                problems.push(Problem::OutOfOrder {
                    version: set[i].version(),
                    name: set[i].name().to_owned(),
                    file: set[i].file().to_owned(),
                    latest_applied,
                });
            }
        }
        Plan { pending, problems }
    }

    /// How an applied row (one of `applied`, in version order) disagrees
    /// with this build's migration at its version, if it does: missing,
    /// divergent (same name, another checksum) or version reused (another
    /// name and another checksum). The same checksum under another name is a
    /// renamed file with the same content: what was applied is what the
    /// file says, and the up-to-date check, which compares running checksums
    /// only, agrees.
    pub(crate) fn compare(
        &self,
        row: &AppliedMigration,
        applied: &[AppliedMigration],
    ) -> Option<Problem> {
        let Some(migration) = self.migrations.get(row.version) else {
            return Some(Problem::Missing {
                version: row.version,
                name: row.name.clone(),
            });
        };
        if migration.checksum() == row.checksum {
            return None;
        }
        if migration.name() == row.name {
            return Some(Problem::Divergent {
                version: row.version,
                name: migration.name().to_owned(),
                file: migration.file().to_owned(),
                applied: row.checksum,
                embedded: migration.checksum(),
            });
        }
        // Renumbered: the applied name at another version (the migration at
        // this one has another name), unless that version is applied under
        // the same name (two migrations named alike).
        let renumbered = self
            .migrations
            .iter()
            .find(|m| {
                m.name() == row.name
                    && applied
                        .binary_search_by_key(&m.version(), |a| a.version)
                        .ok()
                        .is_none_or(|i| applied[i].name != row.name)
            })
            .map(|m| (m.version(), m.file().to_owned()));
        Some(Problem::VersionReused {
            version: row.version,
            applied_name: row.name.clone(),
            name: migration.name().to_owned(),
            file: migration.file().to_owned(),
            renumbered,
        })
    }
}

/// Refuses while a migration is marked dirty: [`Error::InProgress`] while
/// another process is still running it, [`Error::Dirty`] once none is.
pub(crate) fn refuse_dirty<B: Backend>(conn: &B, table: &str) -> Result<()> {
    match conn.dirty(table)?.into_iter().next() {
        Some(dirty) if another_is_running(conn, table) => Err(Error::InProgress {
            version: dirty.version,
            name: dirty.name,
        }),
        Some(dirty) => Err(Error::Dirty {
            version: dirty.version,
            name: dirty.name,
            direction: dirty.direction,
            error: dirty.error,
        }),
        None => Ok(()),
    }
}

/// What an action changed on the caller's connection, put back when dropped:
/// when the action returns, or when a panic goes by.
struct Restore<'c, 'g, B: Backend> {
    conn: &'c mut B,
    /// The connection's own busy timeout.
    busy_timeout: Duration,
    /// The guard whose authorizer is installed, if any.
    guarded: Option<&'g Guard>,
}

impl<B: Backend> Restore<'_, '_, B> {
    /// Every step is tried, whichever fails; the first error is returned.
    fn restore(&mut self) -> Result<()> {
        let rolled_back = self.conn.roll_back_open_transaction();
        let unguarded = match self.guarded {
            Some(guard) => self.conn.unguard(guard),
            None => Ok(()),
        };
        let timeout = self.conn.set_lock_timeout(self.busy_timeout).map(drop);
        rolled_back.and(unguarded).and(timeout)
    }
}

impl<B: Backend> Drop for Restore<'_, '_, B> {
    fn drop(&mut self) {
        if let Err(error) = self.restore() {
            tracing::error!(%error, "could not restore the connection's settings after an action");
        }
    }
}

/// The tracking table `table`, its history and its index: not part of the
/// application's schema.
pub(crate) fn tracking_tables(table: &str) -> [String; 3] {
    [
        table.to_owned(),
        format!("{table}_events"),
        format!("{table}_unfinished"),
    ]
}

/// Whether a migration's up or down runs outside a transaction.
pub(crate) fn runs_outside(migration: &Migration, direction: Direction) -> bool {
    match direction {
        Direction::Up => migration.up_no_transaction(),
        Direction::Down => migration.down_no_transaction(),
    }
}

/// Commits a migration's transaction; a failure names the migration.
pub(crate) fn commit_migration<B: Backend>(tx: B::Tx<'_>, migration: &Migration) -> Result<()> {
    B::commit(tx).map_err(|error| {
        error.while_doing(&format!(
            "committing migration {} ({})",
            migration.version(),
            migration.name()
        ))
    })
}

pub(crate) fn not_compiled(migration: &Migration) -> Error {
    Error::NotCompiled {
        version: migration.version(),
        name: migration.name().to_owned(),
        file: migration.file().to_owned(),
    }
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
