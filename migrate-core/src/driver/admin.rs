//! Baseline, repair and history: changing or reading the records without
//! running migrations.

use crate::backend::{
    Backend, Blocking, Database, LockMode, NewEvent, Purpose, Transaction, block_on,
};
#[cfg(doc)]
use crate::error::Problem;
use crate::error::{Error, Result};
use crate::plan;
use crate::report::{
    AppliedMigration, Direction, Event, EventKind, Repair, RepairAction, RepairReport,
};

use super::{Runner, refuse_dirty};

impl Runner<'_> {
    /// Marks every migration of the set up to and including `version` as
    /// applied without running it, for a database that existed before this
    /// tool (Flyway's `baseline`). Each gets a tracking row (duration 0) and
    /// a `baselined` history event, in one transaction. Later runs apply only
    /// what is above `version`.
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
    /// conn.execute_batch("CREATE TABLE users (id INTEGER);")?; // made before this tool
    /// migrations.runner().baseline(&mut conn, 1)?;
    /// let report = migrations.run(&mut conn)?;
    /// assert_eq!(report.applied.len(), 1, "only 2 runs");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::UnknownVersion`]: `version` is not in the set.
    /// - [`Error::BaselineRefused`]: a migration is already applied; nothing
    ///   was changed.
    /// - [`Error::Dirty`]: a migration is marked dirty; nothing was changed.
    /// - [`Error::Locked`], [`Error::TransactionOpen`],
    ///   [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Database`].
    pub fn baseline<D: Blocking>(
        &self,
        conn: &mut D,
        version: u64,
    ) -> Result<Vec<AppliedMigration>> {
        block_on(self.baseline_async(conn, version))
    }

    /// The async form of [`baseline`](Runner::baseline).
    ///
    /// # Errors
    ///
    /// As [`baseline`](Runner::baseline).
    pub async fn baseline_async<D: Database>(
        &self,
        conn: &mut D,
        version: u64,
    ) -> Result<Vec<AppliedMigration>> {
        if self.migrations().get(version).is_none() {
            return Err(Error::UnknownVersion(version));
        }
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let mut tx = backend.begin(LockMode::Write).await?;
                tx.create_tables().await?;
                // A dirty migration needs a repair, not the advice that a
                // baseline is only for a database with none applied.
                let dirty = tx.dirty().await?.into_iter().next();
                refuse_dirty(&mut tx, dirty).await?;
                if let Some(applied) = tx.applied().await?.first() {
                    return Err(Error::BaselineRefused {
                        version: applied.version,
                    });
                }
                let mut baselined = Vec::new();
                for migration in self.migrations().iter() {
                    if migration.version() > version {
                        break;
                    }
                    baselined.push(
                        self.record_applied(
                            &mut tx,
                            migration,
                            std::time::Duration::ZERO,
                            EventKind::Baselined,
                        )
                        .await?,
                    );
                }
                tx.commit().await?;
                tracing::info!(version, count = baselined.len(), "baselined");
                Ok(baselined)
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// Accepts the current state of things: records this build's checksum
    /// for every divergent migration (its file was edited after it was
    /// applied), and clears dirty marks and failed attempts, so the
    /// migrations they belong to count as not applied. Every change gets a
    /// `repaired` history event saying what changed. Missing migrations
    /// (applied but unknown to this build) are left as they are.
    ///
    /// An applied version that a different migration took
    /// ([`Problem::VersionReused`]) is not an edit to accept: the database
    /// has what the applied migration did, not what the new one does. Repair
    /// refuses it, changing nothing, unless
    /// [`accept_reused_versions`](Runner::accept_reused_versions) is on; it
    /// then records the new migration's name and checksum on that version.
    /// A renamed file with the same content is not a problem, but its new
    /// name is recorded too.
    ///
    /// Before clearing a dirty mark, bring the database by hand to the state
    /// "not applied": undo what a cut-short up did (a later run applies it
    /// again from its start), or complete a cut-short down.
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
    /// use migrate_core::RepairAction;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// migrations.run(&mut conn)?;
    /// // 0002 is edited after it was applied: runs refuse until a repair.
    /// std::fs::write(dir.path().join("0002_posts.up.sql"), "CREATE TABLE posts (id INTEGER); -- v2")?;
    /// let edited = Migrations::from_folder(dir.path())?;
    /// assert!(edited.run(&mut conn).is_err());
    /// let report = edited.runner().repair(&mut conn)?;
    /// assert!(matches!(report.repairs[0].action, RepairAction::AcceptedChecksum { .. }));
    /// assert!(edited.run(&mut conn)?.applied.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::RepairRefused`]: a different migration took an applied
    ///   version, and reused versions are not accepted; nothing was changed.
    /// - [`Error::InProgress`]: a dirty migration is still being run by
    ///   another process; nothing was changed.
    /// - [`Error::Locked`], [`Error::TransactionOpen`],
    ///   [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Database`].
    pub fn repair<D: Blocking>(&self, conn: &mut D) -> Result<RepairReport> {
        block_on(self.repair_async(conn))
    }

    /// The async form of [`repair`](Runner::repair).
    ///
    /// # Errors
    ///
    /// As [`repair`](Runner::repair).
    pub async fn repair_async<D: Database>(&self, conn: &mut D) -> Result<RepairReport> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                let mut tx = backend.begin(LockMode::Write).await?;
                if !tx.table_exists().await? {
                    return Ok(RepairReport::default());
                }
                tx.create_tables().await?;
                let applied = tx.applied().await?;
                // Refused before anything changes: no repair is made half way.
                let plan =
                    plan::repair_applied(self.migrations(), &applied, self.accept_reused_versions)?;
                let mut repairs = Vec::new();
                for row in plan.rows {
                    tx.set_name_and_checksum(row.version, &row.name, row.checksum)
                        .await?;
                    repairs.push(Repair {
                        version: row.version,
                        name: row.name,
                        direction: Direction::Up,
                        action: row.action,
                    });
                }
                // Every row re-chained: a changed checksum changes all the
                // running checksums above it.
                for (version, running) in plan.running {
                    tx.set_running_checksum(version, running).await?;
                }
                let dirty = tx.dirty().await?;
                // A mark another process still works under is not to clear.
                if let Some(running) = dirty.first()
                    && tx.another_is_running().await
                {
                    return Err(Error::InProgress {
                        version: running.version,
                        name: running.name.clone(),
                    });
                }
                for dirty in dirty {
                    tx.remove(dirty.version).await?;
                    repairs.push(Repair {
                        version: dirty.version,
                        name: dirty.name,
                        direction: dirty.direction,
                        action: RepairAction::ClearedDirty,
                    });
                }
                for failed in tx.failed().await? {
                    tx.remove(failed.version).await?;
                    repairs.push(Repair {
                        version: failed.version,
                        name: failed.name,
                        direction: Direction::Up,
                        action: RepairAction::ClearedFailed,
                    });
                }
                repairs.sort_by_key(|repair| repair.version);
                for repair in &repairs {
                    let detail = repair.action.to_string();
                    tx.record_event(&NewEvent {
                        kind: EventKind::Repaired,
                        version: repair.version,
                        name: &repair.name,
                        direction: repair.direction,
                        checksum: match repair.action {
                            RepairAction::AcceptedChecksum { current, .. }
                            | RepairAction::AcceptedReusedVersion { current, .. } => Some(current),
                            _ => None,
                        },
                        duration: None,
                        detail: Some(&detail),
                    })
                    .await?;
                    tracing::info!(version = repair.version, %detail, "repaired");
                }
                tx.commit().await?;
                Ok(RepairReport { repairs })
            }
            .await;
            self.close_backend(backend, result).await
        }
    }

    /// The append-only history, oldest first: every migration applied,
    /// rolled back, failed (with its error), baselined or repaired, with its
    /// time, version, name, checksum and duration. Only reads; empty on a
    /// database the runner never wrote to.
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
    /// use migrate_core::EventKind;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// migrations.run(&mut conn)?;
    /// migrations.rollback(&mut conn, 1)?;
    /// let kinds: Vec<(EventKind, u64)> =
    ///     migrations.history(&mut conn)?.iter().map(|e| (e.kind, e.version)).collect();
    /// assert_eq!(
    ///     kinds,
    ///     [(EventKind::Applied, 1), (EventKind::Applied, 2), (EventKind::RolledBack, 2)]
    /// );
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`],
    /// [`Error::MalformedRow`], [`Error::Database`].
    pub fn history<D: Blocking>(&self, conn: &mut D) -> Result<Vec<Event>> {
        block_on(self.history_async(conn))
    }

    /// The async form of [`history`](Runner::history).
    ///
    /// # Errors
    ///
    /// As [`history`](Runner::history).
    pub async fn history_async<D: Database>(&self, conn: &mut D) -> Result<Vec<Event>> {
        {
            let mut backend = self.open_backend(conn, Purpose::Records).await?;
            let result = async {
                let backend = &mut backend;
                backend.begin(LockMode::Read).await?.events().await
            }
            .await;
            self.close_backend(backend, result).await
        }
    }
}
