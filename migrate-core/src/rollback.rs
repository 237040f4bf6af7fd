//! Reverting applied migrations with their downs: rollback, rollback to a
//! version, redo.

use std::time::Instant;

use crate::backend::{Backend, NewEvent};
use crate::error::{Error, Irreversible, Problem, Result};
use crate::foreign_keys::ForeignKeyCheck;
use crate::in_progress::Running;
use crate::migration::{Migration, MigrationKind, Script};
use crate::report::{
    AppliedMigration, Direction, EventKind, RedoReport, RollbackReport, RolledBackMigration,
};
use crate::runner::{Runner, commit_migration, refuse_dirty, whole_millis};

/// How far a rollback goes.
#[derive(Clone, Copy)]
enum Until {
    /// The last `n` applied migrations.
    Count(usize),
    /// Everything above this version.
    Version(u64),
}

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
    ///   [`Error::Sqlite`], [`Error::Io`].
    ///
    /// # Panics
    ///
    /// As [`run`](Runner::run), when a Rust migration's `down` panics.
    pub fn rollback<B: Backend>(&self, conn: &mut B, count: usize) -> Result<RollbackReport> {
        self.revert(conn, Until::Count(count))
    }

    /// Reverts every applied migration above `version`, newest first;
    /// `rollback_to(0)` reverts them all. See [`rollback`](Runner::rollback)
    /// for the checks and transactions.
    ///
    /// # Errors
    ///
    /// As [`rollback`](Runner::rollback).
    pub fn rollback_to<B: Backend>(&self, conn: &mut B, version: u64) -> Result<RollbackReport> {
        self.revert(conn, Until::Version(version))
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
    pub fn redo<B: Backend>(&self, conn: &mut B) -> Result<Option<RedoReport>> {
        // The run after the rollback verifies the whole set; verify first, so
        // that a problem elsewhere refuses the redo before anything is
        // reverted.
        self.verified(conn)?;
        let Some(rolled_back) = self.rollback(conn, 1)?.rolled_back.pop() else {
            return Ok(None);
        };
        let version = rolled_back.version;
        let applied: Vec<AppliedMigration> = self.clone().target(version).run(conn)?.applied;
        Ok(Some(RedoReport {
            rolled_back,
            applied,
        }))
    }

    fn revert<B: Backend>(&self, conn: &mut B, until: Until) -> Result<RollbackReport> {
        self.migrating(conn, false, |conn, guard| {
            let mut foreign_keys = ForeignKeyCheck::new(conn)?;
            let mut report = RollbackReport::default();
            // The target version is fixed under the first write lock (`Count`
            // becomes the version below the last n applied then); each pass
            // reverts the latest applied above it, including one another
            // process applied meanwhile.
            let mut target = None;
            loop {
                let off = foreign_keys.off(conn)?;
                let tx = self.begin_migration(conn, guard)?;
                if !tx.table_exists(&self.table)? {
                    return Ok(report);
                }
                refuse_dirty(&*tx, &self.table)?;
                let applied = tx.applied(&self.table)?;
                let target = *target.get_or_insert_with(|| match until {
                    Until::Version(version) => version,
                    Until::Count(count) => applied
                        .len()
                        .checked_sub(count.saturating_add(1))
                        .map_or(0, |keep| applied[keep].version),
                });
                let range: Vec<&AppliedMigration> =
                    applied.iter().filter(|row| row.version > target).collect();
                // Refuse before changing anything, naming the newest culprit.
                for row in range.iter().rev() {
                    self.reversible(row)?;
                }
                let Some(row) = range.last() else {
                    return Ok(report);
                };
                let migration = self.reversible(row)?;
                let started = Instant::now();
                // A failed down: recorded in the history, then returned.
                let failed = |error: Error| {
                    self.record_failure(
                        conn,
                        migration,
                        Direction::Down,
                        started.elapsed(),
                        &error,
                    );
                    Err(error)
                };
                if migration.down_no_transaction() {
                    // As for a no-transaction up (see `Runner::run_each`).
                    let running = Running::start(conn, &self.table, self.lock_timeout)?;
                    tx.mark_dirty(&self.table, migration, Direction::Down)?;
                    B::commit(tx)?;
                    drop(off);
                    if let Err(error) = conn.execute_outside(migration, Direction::Down, guard) {
                        return failed(error);
                    }
                    let tx = conn.begin(true, self.lock_timeout)?;
                    let rolled_back = self.record_rolled_back(&*tx, migration, started)?;
                    commit_migration::<B>(tx, migration)?;
                    drop(running);
                    report.rolled_back.push(rolled_back);
                    continue;
                }
                if let Err(error) =
                    self.execute::<B>(&tx, migration, Direction::Down, guard, &mut foreign_keys)
                {
                    drop(tx);
                    return failed(error);
                }
                let rolled_back = self.record_rolled_back(&*tx, migration, started)?;
                commit_migration::<B>(tx, migration)?;
                report.rolled_back.push(rolled_back);
            }
        })
    }

    /// Removes a reverted migration's tracking row and records the event.
    fn record_rolled_back<B: Backend>(
        &self,
        conn: &B,
        migration: &Migration,
        started: Instant,
    ) -> Result<RolledBackMigration> {
        let duration = whole_millis(started.elapsed());
        conn.remove(&self.table, migration.version())?;
        conn.record_event(
            &self.table,
            &NewEvent {
                kind: EventKind::RolledBack,
                version: migration.version(),
                name: migration.name(),
                direction: Direction::Down,
                checksum: Some(migration.checksum()),
                duration: Some(duration),
                detail: None,
            },
        )?;
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

    /// The migration of an applied row, if this build can revert it.
    fn reversible(&self, row: &AppliedMigration) -> Result<&Migration> {
        let refuse = |name: &str, reason| Error::Irreversible {
            version: row.version,
            name: name.to_owned(),
            reason: Box::new(reason),
        };
        // Where the row and the set disagree, `run` would refuse too. Where
        // the renumbered migration went does not matter here.
        match self.compare(row, &[]) {
            Some(Problem::VersionReused { name, file, .. }) => {
                return Err(refuse(
                    &row.name,
                    Irreversible::VersionReused { name, file },
                ));
            }
            Some(Problem::Divergent {
                name,
                file,
                applied,
                embedded,
                ..
            }) => {
                let reason = Irreversible::Divergent {
                    file,
                    applied,
                    embedded,
                };
                return Err(refuse(&name, reason));
            }
            _ => {}
        }
        let Some(migration) = self.migrations().get(row.version) else {
            return Err(refuse(&row.name, Irreversible::Missing));
        };
        let name = migration.name();
        match migration.down() {
            None => Err(refuse(
                name,
                Irreversible::NoDown {
                    file: migration.file().to_owned(),
                    fix: how_to_add_a_down(migration),
                },
            )),
            Some(Script::Rust(None)) => Err(refuse(
                name,
                Irreversible::NotCompiled {
                    file: migration.file().to_owned(),
                },
            )),
            Some(_) => Ok(migration),
        }
    }
}

/// What to add to make a migration reversible, for error messages.
pub(crate) fn how_to_add_a_down(migration: &Migration) -> String {
    let file = migration.file();
    match migration.kind() {
        MigrationKind::Rust => format!("add `pub fn down` to `{file}`"),
        MigrationKind::Sql => match file.strip_suffix(".up.sql") {
            Some(stem) => format!("add `{stem}.down.sql`"),
            None => {
                let stem = file.strip_suffix(".sql").unwrap_or(file);
                // `V<version>__<name>.sql` has no reversible form: the pair
                // is `<version>_<name>.up.sql` and `.down.sql`.
                let stem = match stem
                    .strip_prefix('V')
                    .and_then(|rest| rest.split_once("__"))
                {
                    Some((digits, name)) => format!("{digits}_{name}"),
                    None => stem.to_owned(),
                };
                format!("rename it to `{stem}.up.sql` and add `{stem}.down.sql`")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::how_to_add_a_down;
    use crate::Migrations;

    #[test]
    fn the_advice_names_files_the_grammar_accepts() {
        let dir = tempfile::tempdir().unwrap();
        for (file, sql) in [
            ("V1__users.sql", "CREATE TABLE users (id INTEGER);"),
            ("0002_posts.sql", "CREATE TABLE posts (id INTEGER);"),
            ("0003_tags.up.sql", "CREATE TABLE tags (id INTEGER);"),
            (
                "0004_fill.rs",
                "pub fn up(tx: &rusqlite::Transaction<'_>) {}",
            ),
        ] {
            std::fs::write(dir.path().join(file), sql).unwrap();
        }
        let set = Migrations::from_folder(dir.path()).unwrap();
        let advice: Vec<String> = set.iter().map(how_to_add_a_down).collect();
        assert_eq!(
            advice,
            [
                "rename it to `1_users.up.sql` and add `1_users.down.sql`",
                "rename it to `0002_posts.up.sql` and add `0002_posts.down.sql`",
                "add `0003_tags.down.sql`",
                "add `pub fn down` to `0004_fill.rs`",
            ]
        );
    }
}
