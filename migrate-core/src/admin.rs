//! Baseline, repair and history: changing or reading the records without
//! running migrations.

use crate::backend::{Backend, NewEvent};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::report::{
    AppliedMigration, Direction, Event, EventKind, Repair, RepairAction, RepairReport,
};
use crate::runner::{Runner, refuse_dirty};

impl Runner<'_> {
    /// Marks every migration of the set up to and including `version` as
    /// applied without running it, for a database that existed before this
    /// tool (Flyway's `baseline`). Each gets a tracking row (duration 0) and
    /// a `baselined` history event, in one transaction. Later runs apply only
    /// what is above `version`.
    ///
    /// # Errors
    ///
    /// - [`Error::UnknownVersion`]: `version` is not in the set.
    /// - [`Error::BaselineRefused`]: a migration is already applied; nothing
    ///   was changed.
    /// - [`Error::Dirty`]: a migration is marked dirty; nothing was changed.
    /// - [`Error::Locked`], [`Error::TransactionOpen`],
    ///   [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Sqlite`].
    pub fn baseline<B: Backend>(
        &self,
        conn: &mut B,
        version: u64,
    ) -> Result<Vec<AppliedMigration>> {
        if self.migrations().get(version).is_none() {
            return Err(Error::UnknownVersion(version));
        }
        self.session(conn, |conn| {
            let tx = conn.begin(true, self.lock_timeout)?;
            tx.create_tables(&self.table)?;
            // A dirty migration needs a repair, not the advice that a
            // baseline is only for a database with none applied.
            refuse_dirty(&*tx, &self.table)?;
            if let Some(applied) = tx.applied(&self.table)?.first() {
                return Err(Error::BaselineRefused {
                    version: applied.version,
                });
            }
            let mut baselined = Vec::new();
            for migration in self.migrations().iter() {
                if migration.version() > version {
                    break;
                }
                baselined.push(self.record_applied(
                    &*tx,
                    migration,
                    std::time::Duration::ZERO,
                    EventKind::Baselined,
                )?);
            }
            B::commit(tx)?;
            tracing::info!(version, count = baselined.len(), "baselined");
            Ok(baselined)
        })
    }

    /// Accepts the current state of things: records this build's checksum
    /// for every divergent migration (its file was edited after it was
    /// applied), and clears dirty marks and failed attempts, so the
    /// migrations they belong to count as not applied. Every change gets a
    /// `repaired` history event saying what changed. Missing migrations
    /// (applied but unknown to this build) are left as they are.
    ///
    /// Before clearing a dirty mark, bring the database by hand to the state
    /// "not applied": undo what a cut-short up did (a later run applies it
    /// again from its start), or complete a cut-short down.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::TransactionOpen`],
    /// [`Error::InvalidTableName`], [`Error::MalformedRow`],
    /// [`Error::Sqlite`].
    pub fn repair<B: Backend>(&self, conn: &mut B) -> Result<RepairReport> {
        self.session(conn, |conn| {
            let tx = conn.begin(true, self.lock_timeout)?;
            if !tx.table_exists(&self.table)? {
                return Ok(RepairReport::default());
            }
            tx.create_tables(&self.table)?;
            let mut repairs = Vec::new();
            let mut previous: Option<Checksum> = None;
            for row in tx.applied(&self.table)? {
                let mut checksum = row.checksum;
                if let Some(migration) = self.migrations().get(row.version)
                    && migration.checksum() != row.checksum
                {
                    checksum = migration.checksum();
                    tx.set_checksum(&self.table, row.version, checksum)?;
                    repairs.push(Repair {
                        version: row.version,
                        name: row.name.clone(),
                        direction: Direction::Up,
                        action: RepairAction::AcceptedChecksum {
                            previous: row.checksum,
                            current: checksum,
                        },
                    });
                }
                // Re-chain every row: a changed checksum changes all the
                // running checksums above it.
                let running = Checksum::chain(previous.as_ref(), row.version, &checksum);
                tx.set_running_checksum(&self.table, row.version, running)?;
                previous = Some(running);
            }
            for dirty in tx.dirty(&self.table)? {
                tx.remove(&self.table, dirty.version)?;
                repairs.push(Repair {
                    version: dirty.version,
                    name: dirty.name,
                    direction: dirty.direction,
                    action: RepairAction::ClearedDirty,
                });
            }
            for failed in tx.failed(&self.table)? {
                tx.remove(&self.table, failed.version)?;
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
                tx.record_event(
                    &self.table,
                    &NewEvent {
                        kind: EventKind::Repaired,
                        version: repair.version,
                        name: &repair.name,
                        direction: repair.direction,
                        checksum: match repair.action {
                            RepairAction::AcceptedChecksum { current, .. } => Some(current),
                            _ => None,
                        },
                        duration: None,
                        detail: Some(&detail),
                    },
                )?;
                tracing::info!(version = repair.version, %detail, "repaired");
            }
            B::commit(tx)?;
            Ok(RepairReport { repairs })
        })
    }

    /// The append-only history, oldest first: every migration applied,
    /// rolled back, failed (with its error), baselined or repaired, with its
    /// time, version, name, checksum and duration. Only reads; empty on a
    /// database the runner never wrote to.
    ///
    /// # Errors
    ///
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`],
    /// [`Error::MalformedRow`], [`Error::Sqlite`].
    pub fn history<B: Backend>(&self, conn: &mut B) -> Result<Vec<Event>> {
        self.session(conn, |conn| {
            let tx = conn.begin(false, self.lock_timeout)?;
            tx.events(&self.table)
        })
    }
}
