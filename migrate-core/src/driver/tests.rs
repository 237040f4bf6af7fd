//! The driver over a backend of an engine whose schema changes commit
//! implicitly (as MySQL's and MariaDB's do): an in-memory fake whose
//! tracking table is transactional and whose "schema" is not. The driver
//! must then keep only the guarantees the engine can: every migration runs
//! under the no-transaction protocol, a failure part way is dirty rather
//! than rolled back, and a dry run or a grouped run is refused.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::backend::{
    Backend, Capabilities, Database, Failure, LockMode, NewEvent, Session, Transaction,
};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::{Migration, Migrations, RustCode, Script};
use crate::report::{
    AppliedMigration, Direction, DirtyMigration, Event, EventKind, FailedMigration,
};
use crate::schema::{Schema, SchemaDifference};

/// A tracking row.
#[derive(Clone, Debug)]
struct Row {
    name: String,
    checksum: Checksum,
    running: Option<Checksum>,
    /// `applied`, `failed`, or `dirty` with its direction.
    state: State,
    error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Applied,
    Failed,
    Dirty(Direction),
}

/// The fake database: a transactional tracking table and history, and a log
/// of the statements that ran, which no rollback undoes.
#[derive(Default)]
struct Fake {
    rows: Option<BTreeMap<u64, Row>>,
    events: Vec<(EventKind, u64)>,
    statements: Vec<String>,
}

impl crate::backend::Blocking for Fake {}

impl Database for Fake {
    type Backend<'c> = &'c mut Fake;

    async fn open<'c>(&'c mut self, _: &Session<'_>) -> Result<&'c mut Fake> {
        Ok(self)
    }
}

/// Runs a migration's SQL: each `;`-separated statement is logged for good;
/// one that says `FAIL` fails, after the statements before it.
fn run(
    statements: &mut Vec<String>,
    migration: &Migration,
    direction: Direction,
) -> Result<(), Failure> {
    let Some(Script::Sql { sql, .. }) = migration.script(direction) else {
        return Err(Failure::of_migration("not SQL"));
    };
    for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        if statement.contains("FAIL") {
            return Err(Failure::of_migration(format!("`{statement}` failed")));
        }
        statements.push(statement.to_owned());
    }
    Ok(())
}

impl Backend for &mut Fake {
    type Tx<'t>
        = FakeTx<'t>
    where
        Self: 't;
    type OutsideLock = ();

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
    }

    async fn begin(&mut self, _: LockMode) -> Result<FakeTx<'_>> {
        Ok(FakeTx {
            rows: self.rows.clone(),
            events: self.events.clone(),
            fake: self,
        })
    }

    async fn execute_outside(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure> {
        run(&mut self.statements, migration, direction)
    }

    fn can_run(_: &RustCode) -> bool {
        false
    }

    async fn release(&mut self, (): ()) {}

    async fn expected_schema(&mut self, _: &Migrations) -> Result<Schema> {
        Ok(Schema::default())
    }

    fn differences(&self, _: &Schema, _: &Schema) -> Vec<SchemaDifference> {
        Vec::new()
    }

    async fn close(self) -> Result<()> {
        Ok(())
    }
}

/// A transaction: a copy of the tracking state, written back on commit.
struct FakeTx<'t> {
    fake: &'t mut Fake,
    rows: Option<BTreeMap<u64, Row>>,
    events: Vec<(EventKind, u64)>,
}

impl FakeTx<'_> {
    fn rows(&mut self) -> &mut BTreeMap<u64, Row> {
        self.rows.get_or_insert_with(BTreeMap::new)
    }

    fn applied_rows(&self) -> impl Iterator<Item = (&u64, &Row)> {
        self.rows
            .iter()
            .flatten()
            .filter(|(_, row)| row.state == State::Applied)
    }
}

impl Transaction for FakeTx<'_> {
    type OutsideLock = ();

    async fn table_exists(&mut self) -> Result<bool> {
        Ok(self.rows.is_some())
    }
    async fn create_tables(&mut self) -> Result<()> {
        self.rows();
        Ok(())
    }
    async fn latest_applied(&mut self) -> Result<Option<(u64, Checksum)>> {
        Ok(self
            .applied_rows()
            .last()
            .map(|(version, row)| (*version, row.running.unwrap())))
    }
    async fn running_checksum_below(&mut self, version: u64) -> Result<Option<Checksum>> {
        Ok(self
            .applied_rows()
            .filter(|(v, _)| **v < version)
            .last()
            .and_then(|(_, row)| row.running))
    }
    async fn applied(&mut self) -> Result<Vec<AppliedMigration>> {
        Ok(self
            .applied_rows()
            .map(|(version, row)| AppliedMigration {
                version: *version,
                name: row.name.clone(),
                checksum: row.checksum,
                applied_at: String::new(),
                duration: Duration::ZERO,
            })
            .collect())
    }
    async fn failed(&mut self) -> Result<Vec<FailedMigration>> {
        Ok(Vec::new())
    }
    async fn dirty(&mut self) -> Result<Vec<DirtyMigration>> {
        Ok(self
            .rows
            .iter()
            .flatten()
            .filter_map(|(version, row)| match row.state {
                State::Dirty(direction) => Some(DirtyMigration {
                    version: *version,
                    name: row.name.clone(),
                    direction,
                    started_at: String::new(),
                    error: row.error.clone(),
                }),
                _ => None,
            })
            .collect())
    }
    async fn another_is_running(&mut self) -> bool {
        false
    }
    async fn lock_outside(&mut self) -> Result<()> {
        Ok(())
    }
    async fn execute(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure> {
        run(&mut self.fake.statements, migration, direction)
    }
    async fn record_applied(
        &mut self,
        migration: &Migration,
        running: Checksum,
        _: Duration,
    ) -> Result<String> {
        let row = Row {
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            running: Some(running),
            state: State::Applied,
            error: None,
        };
        self.rows().insert(migration.version(), row);
        Ok(String::new())
    }
    async fn set_running_checksum(&mut self, version: u64, running: Checksum) -> Result<()> {
        self.rows().get_mut(&version).unwrap().running = Some(running);
        Ok(())
    }
    async fn set_name_and_checksum(
        &mut self,
        version: u64,
        name: &str,
        checksum: Checksum,
    ) -> Result<()> {
        let row = self.rows().get_mut(&version).unwrap();
        row.name = name.to_owned();
        row.checksum = checksum;
        Ok(())
    }
    async fn record_failure(
        &mut self,
        migration: &Migration,
        _: Duration,
        error: &str,
    ) -> Result<()> {
        let row = Row {
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            running: None,
            state: State::Failed,
            error: Some(error.to_owned()),
        };
        self.rows().insert(migration.version(), row);
        Ok(())
    }
    async fn mark_dirty(&mut self, migration: &Migration, direction: Direction) -> Result<()> {
        let row = Row {
            name: migration.name().to_owned(),
            checksum: migration.checksum(),
            running: None,
            state: State::Dirty(direction),
            error: None,
        };
        self.rows().insert(migration.version(), row);
        Ok(())
    }
    async fn set_dirty_error(&mut self, version: u64, error: &str) -> Result<()> {
        self.rows().get_mut(&version).unwrap().error = Some(error.to_owned());
        Ok(())
    }
    async fn remove(&mut self, version: u64) -> Result<()> {
        self.rows().remove(&version);
        Ok(())
    }
    async fn record_event(&mut self, event: &NewEvent<'_>) -> Result<()> {
        self.events.push((event.kind, event.version));
        Ok(())
    }
    async fn events(&mut self) -> Result<Vec<Event>> {
        Ok(Vec::new())
    }
    async fn schema(&mut self) -> Result<Schema> {
        Ok(Schema::default())
    }
    async fn other_table(
        &mut self,
        _table: &str,
        _columns: &[&str],
    ) -> Result<Option<crate::backend::OtherTable>> {
        Ok(None)
    }
    async fn commit(self) -> Result<()> {
        self.fake.rows = self.rows;
        self.fake.events = self.events;
        Ok(())
    }
}

/// `0001_a` creates a table; `0002_b` creates one, then fails.
fn set(dir: &tempfile::TempDir, second: &str) -> Migrations {
    std::fs::write(
        dir.path().join("0001_a.sql"),
        "CREATE TABLE a (id INTEGER);",
    )
    .unwrap();
    std::fs::write(dir.path().join("0002_b.sql"), second).unwrap();
    Migrations::from_folder(dir.path()).unwrap()
}

#[test]
fn without_transactional_ddl_a_failure_part_way_is_dirty_not_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = set(&dir, "CREATE TABLE b (id INTEGER); FAIL;");
    let mut fake = Fake::default();
    let error = migrations.run(&mut fake).unwrap_err();
    assert!(
        matches!(
            error,
            Error::MigrationFailed {
                version: 2,
                dirty: true,
                ..
            }
        ),
        "{error:?}"
    );
    // What ran before the failure stays, and the driver says so.
    assert_eq!(
        fake.statements,
        ["CREATE TABLE a (id INTEGER)", "CREATE TABLE b (id INTEGER)"]
    );
    let rows = fake.rows.as_ref().unwrap();
    assert_eq!(rows[&1].state, State::Applied);
    assert_eq!(rows[&2].state, State::Dirty(Direction::Up));
    assert!(rows[&2].error.as_deref().unwrap().contains("`FAIL` failed"));
    assert_eq!(
        fake.events,
        [(EventKind::Applied, 1), (EventKind::Failed, 2)]
    );
    // Every later action refuses until the mark is repaired.
    let refused = migrations.run(&mut fake).unwrap_err();
    assert!(
        matches!(refused, Error::Dirty { version: 2, .. }),
        "{refused:?}"
    );
    let repaired = migrations.runner().repair(&mut fake).unwrap();
    assert_eq!(repaired.repairs.len(), 1);
    assert!(!fake.rows.as_ref().unwrap().contains_key(&2));
}

#[test]
fn without_transactional_ddl_a_dry_run_and_a_grouped_run_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let migrations = set(&dir, "CREATE TABLE b (id INTEGER);");
    let mut fake = Fake::default();
    let dry = migrations.runner().dry_run(&mut fake).unwrap_err();
    assert!(
        matches!(
            dry,
            Error::Unsupported {
                action: "a dry run",
                ..
            }
        ),
        "{dry:?}"
    );
    let grouped = migrations
        .runner()
        .grouped(true)
        .run(&mut fake)
        .unwrap_err();
    assert!(
        matches!(
            grouped,
            Error::Unsupported {
                action: "a grouped run",
                ..
            }
        ),
        "{grouped:?}"
    );
    assert!(fake.statements.is_empty(), "nothing ran");
    // One by one, marked dirty around each, it applies and clears the marks.
    let report = migrations.run(&mut fake).unwrap();
    assert_eq!(report.applied.len(), 2);
    let rows = fake.rows.as_ref().unwrap();
    assert!(rows.values().all(|row| row.state == State::Applied));
    assert!(
        migrations.run(&mut fake).unwrap().applied.is_empty(),
        "up to date"
    );
}
