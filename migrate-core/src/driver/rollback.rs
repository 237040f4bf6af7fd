//! Reverting applied migrations with their downs: rollback, rollback to a
//! version, redo.

use std::time::{Duration, Instant};

use crate::backend::{
    Backend, Blocking, Database, LockMode, NewEvent, Purpose, Transaction, block_on,
};
#[cfg(doc)]
use crate::error::Error;
use crate::error::Result;
use crate::migration::Migration;
use crate::plan::{self, Until};
use crate::report::{
    AppliedMigration, Direction, EventKind, RedoReport, RollbackReport, RolledBackMigration,
};

use super::{
    Outcome, Runner, commit_migration, execute, failed, mark_outside, refuse_dirty, whole_millis,
};

impl Runner<'_> {
    /// Reverts the last `count` applied migrations, newest first (all of
    /// them when fewer are applied).
    ///
    /// Before changing anything, every migration in the range is checked: it
    /// must be known to this build, unchanged since it was applied (the same
    /// checksum, which covers the up file or the `.rs` file, not a
    /// `.down.sql`) and have a down (a `.down.sql` file, or `pub fn down` in its
    /// `.rs` file); otherwise [`Error::Irreversible`] names it and nothing is
    /// rolled back. Each down then runs in its own transaction together with
    /// the removal of its tracking row and a `rolled_back` history event; a
    /// down that starts with `-- migrate:no-transaction` runs outside one,
    /// marked dirty until it finishes. Foreign keys are handled as in
    /// [`run`](Runner::run).
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
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// migrations.run(&mut conn)?;
    /// let report = migrations.runner().rollback(&mut conn, 1)?;
    /// assert_eq!(report.rolled_back[0].version, 2);
    /// assert_eq!(migrations.status(&mut conn)?.current_version, Some(1));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::Irreversible`] before anything is rolled back.
    /// - [`Error::MigrationFailed`] (direction down): a down failed; it was
    ///   rolled back and its migration stays applied, the downs before it
    ///   stay committed, and the failure is in the history.
    /// - [`Error::Dirty`], [`Error::Locked`], [`Error::TransactionOpen`],
    ///   [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Database`], [`Error::Io`].
    ///
    /// # Panics
    ///
    /// As [`run`](Runner::run), when a Rust migration's `down` panics.
    pub fn rollback<D: Blocking>(&self, conn: &mut D, count: usize) -> Result<RollbackReport> {
        block_on(self.rollback_async(conn, count))
    }

    /// The async form of [`rollback`](Runner::rollback).
    ///
    /// # Errors
    ///
    /// As [`rollback`](Runner::rollback).
    pub async fn rollback_async<D: Database>(
        &self,
        conn: &mut D,
        count: usize,
    ) -> Result<RollbackReport> {
        self.revert(conn, Until::Count(count)).await
    }

    /// Reverts every applied migration above `version`, newest first;
    /// `rollback_to(0)` reverts them all. See [`rollback`](Runner::rollback)
    /// for the checks and transactions.
    ///
    /// # Errors
    ///
    /// As [`rollback`](Runner::rollback).
    pub fn rollback_to<D: Blocking>(&self, conn: &mut D, version: u64) -> Result<RollbackReport> {
        block_on(self.rollback_to_async(conn, version))
    }

    /// The async form of [`rollback_to`](Runner::rollback_to).
    ///
    /// # Errors
    ///
    /// As [`rollback`](Runner::rollback).
    pub async fn rollback_to_async<D: Database>(
        &self,
        conn: &mut D,
        version: u64,
    ) -> Result<RollbackReport> {
        self.revert(conn, Until::Version(version)).await
    }

    /// Reverts the latest applied migration, then applies it again: a
    /// [`rollback`](Runner::rollback) of one, then a [`run`](Runner::run) up
    /// to its version, each with its own transaction. Returns `None` when
    /// nothing is applied.
    ///
    /// # Errors
    ///
    /// [`Error::Verification`] or [`Error::Dirty`] before anything changes,
    /// as [`run`](Runner::run) would refuse; then as
    /// [`rollback`](Runner::rollback), then as [`run`](Runner::run). If the
    /// up fails, the migration stays rolled back and pending. Another process
    /// may apply it between the two steps; `applied` is then empty.
    pub fn redo<D: Blocking>(&self, conn: &mut D) -> Result<Option<RedoReport>> {
        block_on(self.redo_async(conn))
    }

    /// The async form of [`redo`](Runner::redo).
    ///
    /// # Errors
    ///
    /// As [`redo`](Runner::redo).
    pub async fn redo_async<D: Database>(&self, conn: &mut D) -> Result<Option<RedoReport>> {
        // The run after the rollback verifies the whole set; verify first, so
        // that a problem elsewhere refuses the redo before anything is
        // reverted.
        self.verified(conn).await?;
        let Some(rolled_back) = self.rollback_async(conn, 1).await?.rolled_back.pop() else {
            return Ok(None);
        };
        let version = rolled_back.version;
        let applied: Vec<AppliedMigration> =
            self.clone().target(version).run_async(conn).await?.applied;
        Ok(Some(RedoReport {
            rolled_back,
            applied,
        }))
    }

    async fn revert<D: Database>(&self, conn: &mut D, until: Until) -> Result<RollbackReport> {
        {
            let mut backend = self.open_backend(conn, Purpose::Migrate).await?;
            let result = async {
                let backend = &mut backend;
                self.revert_on(backend, until).await
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// One transaction per down; re-reads the tracking table under the
    /// migration lock before each one.
    async fn revert_on<B: Backend>(&self, backend: &mut B, until: Until) -> Result<RollbackReport> {
        {
            let transactional = backend.capabilities().transactional_ddl;
            let mut report = RollbackReport::default();
            // The target version is fixed under the first lock (`Count`
            // becomes the version below the last n applied then); each pass
            // reverts the latest applied above it, including one another
            // process applied meanwhile.
            let mut target = None;
            loop {
                let mut tx = backend.begin(LockMode::Write).await?;
                if !tx.table_exists().await? {
                    return Ok(report);
                }
                let dirty = tx.dirty().await?.into_iter().next();
                refuse_dirty(&mut tx, dirty).await?;
                let applied = tx.applied().await?;
                let target = *target.get_or_insert_with(|| plan::rollback_target(&applied, until));
                let Some(migration) =
                    plan::next_to_revert(self.migrations(), &applied, target, B::can_run)?
                else {
                    return Ok(report);
                };
                if migration.down_no_transaction() || !transactional {
                    if let Err(failure) = B::check(migration, Direction::Down) {
                        drop(tx);
                        let error = failed(migration, Direction::Down, failure, false);
                        return Err(self
                            .record_failure(
                                backend,
                                migration,
                                Direction::Down,
                                Duration::ZERO,
                                error,
                            )
                            .await);
                    }
                    let lock = mark_outside(tx, migration, Direction::Down).await?;
                    if let Outcome::RolledBack(rolled_back) = self
                        .run_outside(backend, lock, migration, Direction::Down)
                        .await?
                    {
                        report.rolled_back.push(rolled_back);
                    }
                    continue;
                }
                let started = Instant::now();
                if let Err(error) = execute(&mut tx, migration, Direction::Down).await {
                    drop(tx);
                    let duration = started.elapsed();
                    return Err(self
                        .record_failure(backend, migration, Direction::Down, duration, error)
                        .await);
                }
                let rolled_back = self.record_rolled_back(&mut tx, migration, started).await?;
                commit_migration(tx, migration).await?;
                report.rolled_back.push(rolled_back);
            }
        }
    }

    /// Removes a reverted migration's tracking row and records the event.
    pub(crate) async fn record_rolled_back<T: Transaction>(
        &self,
        tx: &mut T,
        migration: &Migration,
        started: Instant,
    ) -> Result<RolledBackMigration> {
        let duration = whole_millis(started.elapsed());
        tx.remove(migration.version()).await?;
        tx.record_event(&NewEvent {
            kind: EventKind::RolledBack,
            version: migration.version(),
            name: migration.name(),
            direction: Direction::Down,
            checksum: Some(migration.checksum()),
            duration: Some(duration),
            detail: None,
        })
        .await?;
        tracing::info!(
            version = migration.version(),
            name = migration.name(),
            duration_ms = duration.as_millis() as u64,
            "rolled back migration"
        );
        Ok(RolledBackMigration {
            version: migration.version(),
            name: migration.name().to_owned(),
            duration,
        })
    }
}
