//! Adopting another tool's tracking table, and refusing to run beside one.

use std::time::Duration;

use crate::backend::{
    Backend, Blocking, Database, LockMode, NewEvent, Purpose, Transaction, block_on,
};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::other_tables::{self, AdoptProblem, Candidate, Tool};
use crate::report::{AppliedMigration, Direction, EventKind};

use super::{Runner, refuse_dirty};

impl Runner<'_> {
    /// Records as applied, without running them, the migrations of the set
    /// that `tool`'s tracking table records as applied, for a database that
    /// tool has been migrating: each row is matched to the migration of its
    /// version (as the set's [format](crate::formats) maps the tool's
    /// versions), its checksum verified where the tool kept one, and the
    /// matched migrations get a tracking row (duration 0) and a `baselined`
    /// history event whose detail says `adopted from <tool>'s version
    /// ...` and what was verified, all in one transaction. The tool's table
    /// is only read, so the tool still works on the database if the team
    /// goes back. Later runs apply only what the tool had not applied.
    ///
    /// What each tool's table means and which checksum is compared is in
    /// [`other_tables`]: sqlx's SHA-384 of the up file, refinery's
    /// SipHash-1-3 of name, version and SQL, Flyway's CRC32 of the file's
    /// lines; diesel, goose, dbmate and golang-migrate keep none.
    ///
    /// # Examples
    ///
    /// ```
    /// # use migrate_core::{Migrations, other_tables::Tool};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::create_dir(dir.path().join("2024-01-01-000000_users"))?;
    /// # std::fs::write(dir.path().join("2024-01-01-000000_users/up.sql"), "CREATE TABLE users (id INTEGER);")?;
    /// # std::fs::create_dir(dir.path().join("2024-02-01-000000_posts"))?;
    /// # std::fs::write(dir.path().join("2024-02-01-000000_posts/up.sql"), "CREATE TABLE posts (id INTEGER);")?;
    /// # let migrations = Migrations::read_folder_as(dir.path(), dir.path(), &migrate_core::formats::ReadOptions::new(migrate_core::formats::Format::Diesel))?;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// // What diesel left: the first migration applied.
    /// conn.execute_batch(
    ///     "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
    ///      INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');
    ///      CREATE TABLE users (id INTEGER);",
    /// )?;
    /// let adopted = migrations.runner().adopt(&mut conn, Tool::Diesel)?;
    /// assert_eq!(adopted.len(), 1);
    /// assert_eq!(migrations.run(&mut conn)?.applied.len(), 1, "only posts runs");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::AdoptRefused`], nothing changed, with every problem: no
    ///   such table, or not the tool's (a `schema_migrations` of dbmate's
    ///   adopted as golang-migrate's, say); a row recording a version no
    ///   migration of the set has; a failed or dirty row (sqlx's and
    ///   Flyway's `success` false, golang-migrate's `dirty`); a checksum
    ///   that is not the file's; `migrate`'s table already recording
    ///   applied migrations.
    /// - [`Error::Dirty`]: a migration of `migrate`'s table is dirty.
    /// - [`Error::Locked`], [`Error::TransactionOpen`],
    ///   [`Error::InvalidTableName`], [`Error::MalformedRow`],
    ///   [`Error::Database`].
    pub fn adopt<D: Blocking>(&self, conn: &mut D, tool: Tool) -> Result<Vec<AppliedMigration>> {
        block_on(self.adopt_async(conn, tool))
    }

    /// The async form of [`adopt`](Runner::adopt).
    ///
    /// # Errors
    ///
    /// As [`adopt`](Runner::adopt).
    pub async fn adopt_async<D: Database>(
        &self,
        conn: &mut D,
        tool: Tool,
    ) -> Result<Vec<AppliedMigration>> {
        let mut backend = self.open_backend(conn, Purpose::Records).await?;
        let result = async {
            let backend = &mut backend;
            let mut tx = backend.begin(LockMode::Write).await?;
            let refused = |problems: Vec<AdoptProblem>| Error::AdoptRefused {
                tool,
                table: tool.table().to_owned(),
                problems,
            };
            let Some(table) = tx.other_table(tool.table(), tool.columns()).await? else {
                return Err(refused(vec![AdoptProblem::NoTable {
                    table: tool.table().to_owned(),
                }]));
            };
            if tx.table_exists().await? {
                let dirty = tx.dirty().await?.into_iter().next();
                refuse_dirty(&mut tx, dirty).await?;
                if let Some(applied) = tx.applied().await?.first() {
                    return Err(refused(vec![AdoptProblem::AlreadyTracked {
                        version: applied.version,
                    }]));
                }
            }
            let candidates: Vec<Candidate<'_>> = self
                .migrations()
                .iter()
                .map(|migration| Candidate {
                    version: migration.version(),
                    name: migration.name(),
                    file: migration.file(),
                    up_text: migration.up_file_text(),
                })
                .collect();
            let adopted = other_tables::adopt(tool, &table, &candidates).map_err(refused)?;
            tx.create_tables().await?;
            let mut running: Option<Checksum> = None;
            let mut recorded = Vec::new();
            for row in adopted {
                let Some(migration) = self.migrations().get(row.version) else {
                    continue; // matched against this set: always found
                };
                let chained =
                    Checksum::chain(running.as_ref(), migration.version(), &migration.checksum());
                let applied_at = tx
                    .record_applied(migration, chained, Duration::ZERO)
                    .await?;
                running = Some(chained);
                tx.record_event(&NewEvent {
                    kind: EventKind::Baselined,
                    version: migration.version(),
                    name: migration.name(),
                    direction: Direction::Up,
                    checksum: Some(migration.checksum()),
                    duration: None,
                    detail: Some(&row.detail),
                })
                .await?;
                recorded.push(AppliedMigration {
                    version: migration.version(),
                    name: migration.name().to_owned(),
                    checksum: migration.checksum(),
                    applied_at,
                    duration: Duration::ZERO,
                });
            }
            tx.commit().await?;
            tracing::info!(%tool, count = recorded.len(), "adopted another tool's tracking table");
            Ok(recorded)
        }
        .await;
        self.close_backend(backend, result).await
    }

    /// Before a run on a database without `migrate`'s tracking table: refuses
    /// with [`Error::OtherToolsTable`] when another tool's table records
    /// applied migrations (unless
    /// [`ignore_other_tools_tables`](Runner::ignore_other_tools_tables)).
    pub(crate) async fn refuse_other_tools<T: Transaction>(&self, tx: &mut T) -> Result<()> {
        if self.ignore_other_tools_tables {
            return Ok(());
        }
        for (tool, _) in Tool::NAMES {
            if tool.table().eq_ignore_ascii_case(&self.table) {
                continue;
            }
            if let Some(table) = tx.other_table(tool.table(), tool.columns()).await?
                && other_tables::records_applied(tool, &table)
            {
                return Err(Error::OtherToolsTable {
                    tool,
                    other: tool.table().to_owned(),
                    table: self.table.clone(),
                });
            }
        }
        Ok(())
    }
}
