//! Applying a set of migrations to a database, and reading its status.

use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::checksum::Checksum;
use crate::error::{Error, Problem, Result};
use crate::migration::{Migration, Migrations};

/// The tracking table's default name (Flyway's is `flyway_schema_history`).
pub const DEFAULT_TABLE: &str = "migrate_schema_history";

/// How long [`Runner::run`] waits for another connection's write lock by
/// default: 60 seconds.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// A migration recorded as applied in the tracking table.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The version.
    pub version: u64,
    /// The name when it was applied.
    pub name: String,
    /// The checksum of its up file when it was applied.
    pub checksum: Checksum,
    /// When it was applied: UTC, RFC 3339 with milliseconds
    /// (`2024-01-31T12:00:00.123Z`).
    pub applied_at: String,
    /// How long its SQL took, in whole milliseconds.
    pub duration: Duration,
}

/// A migration whose last attempt failed and was rolled back.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// The checksum of the up file that failed.
    pub checksum: Checksum,
    /// When it failed: UTC, RFC 3339 with milliseconds.
    pub failed_at: String,
    /// SQLite's message, with the file, line and statement.
    pub error: String,
}

/// A migration of the set that the database has not applied.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// The up file.
    pub file: String,
}

/// What [`Runner::run`] applied, in the order it applied them.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The migrations applied by this run; empty when the database was up to
    /// date.
    pub applied: Vec<AppliedMigration>,
}

/// The state of a database against a set of migrations.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The highest applied version; `None` on a database with none applied.
    pub current_version: Option<u64>,
    /// Applied migrations, in version order.
    pub applied: Vec<AppliedMigration>,
    /// Migrations of the set not applied yet, in version order.
    pub pending: Vec<PendingMigration>,
    /// Migrations whose last attempt failed (and was rolled back).
    pub failed: Vec<FailedMigration>,
    /// Every disagreement between the database and the set: divergent,
    /// missing and out-of-order migrations.
    pub problems: Vec<Problem>,
}

impl Status {
    /// Whether nothing is pending and nothing disagrees.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty() && self.problems.is_empty()
    }
}

/// Options for applying a set of migrations: the builder behind
/// [`Migrations::run`] and [`Migrations::status`].
///
/// # Examples
///
/// ```
/// # use migrate_core::Migrations;
/// # use std::time::Duration;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir().unwrap();
/// # std::fs::write(dir.path().join("0001_init.sql"), "CREATE TABLE t (id INTEGER);").unwrap();
/// # let migrations = Migrations::from_folder(dir.path())?;
/// let mut conn = rusqlite::Connection::open_in_memory()?;
/// let report = migrations
///     .runner()
///     .table("schema_migrations")
///     .lock_timeout(Duration::from_secs(5))
///     .run(&mut conn)?;
/// assert_eq!(report.applied.len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a runner does nothing until `run` or `status` is called"]
pub struct Runner<'a> {
    migrations: &'a Migrations,
    table: String,
    allow_out_of_order: bool,
    lock_timeout: Duration,
}

impl Migrations {
    /// A [`Runner`] with the default options, to change some before running.
    pub fn runner(&self) -> Runner<'_> {
        Runner {
            migrations: self,
            table: DEFAULT_TABLE.to_owned(),
            allow_out_of_order: false,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }

    /// Verifies what was applied, then applies every pending migration, each
    /// in its own transaction; see [`Runner::run`].
    ///
    /// # Errors
    ///
    /// As [`Runner::run`].
    pub fn run<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Report> {
        self.runner().run(conn)
    }

    /// The database's state against this set; see [`Runner::status`].
    ///
    /// # Errors
    ///
    /// As [`Runner::status`].
    pub fn status<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Status> {
        self.runner().status(conn)
    }
}

/// The outcome of one locked step of a run.
enum Step<'a> {
    /// Nothing is pending.
    UpToDate,
    /// A migration was applied; commit.
    Applied(AppliedMigration),
    /// A migration's SQL failed; roll back, then record the failure.
    Failed {
        error: Error,
        migration: &'a Migration,
        duration: Duration,
    },
}

/// What verification found: the pending migrations (indices into the set)
/// and the problems.
struct Plan {
    pending: Vec<usize>,
    problems: Vec<Problem>,
}

impl<'a> Runner<'a> {
    /// Names the tracking table (default [`DEFAULT_TABLE`]). The name must be
    /// ASCII letters, digits and `_`, not starting with a digit; otherwise
    /// `run` and `status` return [`Error::InvalidTableName`].
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

    /// How long to wait for another connection's write lock before failing
    /// with [`Error::Locked`] (default [`DEFAULT_LOCK_TIMEOUT`]). Applies
    /// while `run` runs; the connection's own busy timeout is restored after.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Verifies what was applied, then applies every pending migration in
    /// version order.
    ///
    /// Each migration runs in its own transaction, which holds the write lock
    /// from its start (`BEGIN IMMEDIATE`) and re-reads the tracking table
    /// under it, so concurrent runs on one database apply each migration
    /// exactly once and all succeed. The migration's SQL and its tracking row
    /// commit together. On an up-to-date database this is one read
    /// transaction with a fixed number of queries, whatever the number of
    /// migrations: the latest applied migration's running checksum (see
    /// [`Checksum::chain`]) covers every applied checksum.
    ///
    /// Emits a `tracing` event per applied migration (version, name,
    /// duration in ms) and per failure.
    ///
    /// # Errors
    ///
    /// - [`Error::Verification`] before anything is applied: a divergent or
    ///   missing migration, or an out-of-order one unless allowed.
    /// - [`Error::MigrationFailed`]: a migration's SQL failed; it was rolled
    ///   back, the failure recorded in the tracking table (see
    ///   [`Status::failed`]), and the migrations before it stay applied.
    /// - [`Error::Locked`]: another connection held the lock too long.
    /// - [`Error::TransactionOpen`]: `conn` is inside a transaction.
    /// - [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Sqlite`].
    pub fn run<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Report> {
        self.check_connection(conn)?;
        let previous = conn.set_lock_timeout(self.lock_timeout)?;
        let result = self.run_locked(conn);
        let restored = conn.set_lock_timeout(previous);
        let report = result?;
        restored?;
        Ok(report)
    }

    /// The database's state against the set: current version, applied,
    /// pending and failed migrations, and every problem. Only reads; a
    /// database without the tracking table has everything pending.
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`],
    /// [`Error::MalformedRow`], [`Error::Sqlite`].
    pub fn status<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Status> {
        self.check_connection(conn)?;
        conn.begin(false, self.lock_timeout)?;
        let status = self.read_status(conn);
        conn.rollback();
        status
    }

    fn check_connection<B: Backend + ?Sized>(&self, conn: &B) -> Result<()> {
        validate_table_name(&self.table)?;
        if conn.in_transaction() {
            return Err(Error::TransactionOpen);
        }
        Ok(())
    }

    fn read_status<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Status> {
        if !conn.table_exists(&self.table)? {
            return Ok(Status {
                pending: self.pending(0..self.migrations.len()),
                ..Status::default()
            });
        }
        let applied = conn.applied(&self.table)?;
        let plan = self.diagnose(&applied);
        Ok(Status {
            current_version: applied.last().map(|m| m.version),
            pending: self.pending(plan.pending),
            failed: conn.failed(&self.table)?,
            problems: plan.problems,
            applied,
        })
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

    fn run_locked<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Report> {
        let mut report = Report::default();
        // Read first, without the write lock: an up-to-date database (the
        // usual start of an application) never waits for or takes it.
        conn.begin(false, self.lock_timeout)?;
        let up_to_date = self.verify(conn).map(|plan| plan.pending.is_empty());
        conn.rollback();
        if up_to_date? {
            return Ok(report);
        }
        loop {
            conn.begin(true, self.lock_timeout)?;
            match self.apply_next(conn) {
                Ok(Step::Applied(applied)) => {
                    conn.commit()?;
                    tracing::info!(
                        version = applied.version,
                        name = %applied.name,
                        duration_ms = applied.duration.as_millis() as u64,
                        "applied migration"
                    );
                    report.applied.push(applied);
                }
                Ok(Step::UpToDate) => {
                    conn.commit()?;
                    return Ok(report);
                }
                Ok(Step::Failed {
                    error,
                    migration,
                    duration,
                }) => {
                    conn.rollback();
                    self.record_failure(conn, migration, duration, &error);
                    return Err(error);
                }
                Err(error) => {
                    conn.rollback();
                    return Err(error);
                }
            }
        }
    }

    /// Under the write lock: creates the tracking table if needed, verifies,
    /// and applies the first pending migration.
    fn apply_next<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Step<'a>> {
        conn.create_table(&self.table)?;
        let plan = self.verify(conn)?;
        let Some(&next) = plan.pending.first() else {
            return Ok(Step::UpToDate);
        };
        let migration = &self.migrations.as_slice()[next];
        let started = Instant::now();
        if let Err(error) = conn.execute_up(migration) {
            return Ok(Step::Failed {
                error,
                migration,
                duration: started.elapsed(),
            });
        }
        let duration = started.elapsed();
        self.record_applied(conn, migration, duration)
            .map(Step::Applied)
    }

    /// Records `migration` as applied and keeps every running checksum equal
    /// to the chain over the applied migrations in version order.
    fn record_applied<B: Backend + ?Sized>(
        &self,
        conn: &mut B,
        migration: &Migration,
        duration: Duration,
    ) -> Result<AppliedMigration> {
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
        Ok(AppliedMigration {
            version: migration.version(),
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            applied_at,
            duration,
        })
    }

    fn record_failure<B: Backend + ?Sized>(
        &self,
        conn: &mut B,
        migration: &Migration,
        duration: Duration,
        error: &Error,
    ) {
        tracing::error!(
            version = migration.version(),
            name = migration.name(),
            error = %error,
            "migration failed"
        );
        // The failed migration was rolled back; its record commits on its own.
        let recorded = conn.begin(true, self.lock_timeout).and_then(|()| {
            conn.create_table(&self.table)?;
            conn.record_failure(&self.table, migration, duration, &error.to_string())?;
            conn.commit()
        });
        if let Err(record_error) = recorded {
            conn.rollback();
            tracing::warn!(
                version = migration.version(),
                error = %record_error,
                "could not record the failed migration in the tracking table"
            );
        }
    }

    /// Verifies the applied migrations against the set and returns what is
    /// pending, or the first blocking problem. Without a tracking table,
    /// everything is pending.
    fn verify<B: Backend + ?Sized>(&self, conn: &mut B) -> Result<Plan> {
        if !conn.table_exists(&self.table)? {
            return Ok(Plan {
                pending: (0..self.migrations.len()).collect(),
                problems: Vec::new(),
            });
        }
        let plan = match conn.latest_applied(&self.table)? {
            None => Plan {
                pending: (0..self.migrations.len()).collect(),
                problems: Vec::new(),
            },
            // The fast path: one row's running checksum covers all before it.
            Some((version, running)) => match self.migrations.position(version) {
                Some(index) if self.migrations.as_slice()[index].running_checksum() == running => {
                    Plan {
                        pending: (index + 1..self.migrations.len()).collect(),
                        problems: Vec::new(),
                    }
                }
                _ => self.diagnose(&conn.applied(&self.table)?),
            },
        };
        let blocking = plan.problems.iter().find(|problem| {
            !(self.allow_out_of_order && matches!(problem, Problem::OutOfOrder { .. }))
        });
        match blocking {
            Some(problem) => Err(Error::Verification(problem.clone())),
            None => Ok(plan),
        }
    }

    /// Compares every applied migration with the set, row by row.
    fn diagnose(&self, applied: &[AppliedMigration]) -> Plan {
        let set = self.migrations.as_slice();
        let mut problems = Vec::new();
        for row in applied {
            match self.migrations.get(row.version) {
                None => problems.push(Problem::Missing {
                    version: row.version,
                    name: row.name.clone(),
                }),
                Some(migration) if migration.checksum() != row.checksum => {
                    problems.push(Problem::Divergent {
                        version: row.version,
                        name: migration.name().to_owned(),
                        file: migration.file().to_owned(),
                        applied: row.checksum,
                        embedded: migration.checksum(),
                    })
                }
                Some(_) => {}
            }
        }
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
