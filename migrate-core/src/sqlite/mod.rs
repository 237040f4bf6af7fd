//! The SQLite backend (feature `sqlite`, on by default), over rusqlite 0.42
//! with SQLite bundled.
//!
//! The only module of this crate that names rusqlite. It implements
//! [`Database`] for [`Connection`] and [`Backend`] for [`Sqlite`], an action's
//! hold on the connection:
//!
//! - transactions: [`LockMode::Write`] is `BEGIN IMMEDIATE`, which takes
//!   SQLite's write lock at once, so that concurrent runners queue up
//!   behind it (the busy timeout is the lock timeout);
//! - migration code runs under SQLite's authorizer (the `guard` module):
//!   it cannot end the runner's transaction, write to the tracking tables,
//!   or change the connection for good;
//! - foreign keys, when the connection enforces them, are turned off once
//!   for an action that runs migrations (before its first transaction) and
//!   back on when it ends, and `PRAGMA foreign_key_check` runs before each
//!   migration's commit (SQLite ignores `PRAGMA foreign_keys` inside a
//!   transaction; see `foreign_keys`);
//! - work outside a transaction holds an advisory lock on the file
//!   `<database>-<table>-lock` beside the database (see `lock_file`);
//! - the schema is read from `sqlite_schema` ([`Schema::read`]), and the
//!   build-time check ([`verify()`]) runs a set on an in-memory database.
//!
//! # Tables
//!
//! The tracking table (one row per version; see the crate docs) and, beside
//! it, the append-only history `<table>_events` (one row per event), created
//! together on the first write.

mod foreign_keys;
mod guard;
mod lock_file;
mod other_tables;
mod schema;
mod script;
mod tracking;
pub mod verify;

use std::time::Duration;

pub use rusqlite::{Connection, Error as SqliteError, OpenFlags, Transaction};

/// The rusqlite crate this backend is built on (0.42, SQLite bundled), for
/// what the names above do not cover; the facade re-exports it as
/// `migrate::rusqlite`.
pub use rusqlite;

use rusqlite::TransactionBehavior;

use crate::backend::{
    Backend, Blocking, Capabilities, Database, Failure, Head, LockMode, MigrationFailure, NewEvent,
    Purpose, Records, Session,
};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::{BoxError, Migration, Migrations, RustCode, Script};
use crate::plan::{no_down, not_compiled};
use crate::report::{AppliedMigration, Direction, DirtyMigration, Event, FailedMigration};
use crate::schema::{Schema, SchemaDifference};

use foreign_keys::ForeignKeyCheck;
use guard::{Guard, MigrationScope, RUNNER_SAVEPOINT};
pub use lock_file::Running;
use script::execute_script;
use tracking::context;

pub use verify::{VerifyError, VerifyOptions, VerifyProblem, verify, verify_with};

/// The code of a Rust migration for SQLite: its `up` or `down`, called with
/// the migration's transaction. `embed_migrations!` wraps the user's
/// `pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>` into one.
pub type RustStep = fn(&Transaction<'_>) -> std::result::Result<(), BoxError>;

/// A statement's error in a migration, as SQLite reports it: its message is
/// SQLite's own, without rusqlite's decoration (the SQL text and offset),
/// since the failure already names the file, line and statement.
#[derive(Debug)]
pub struct StatementError(rusqlite::Error);

impl StatementError {
    /// The error as rusqlite returned it.
    pub fn sqlite_error(&self) -> &rusqlite::Error {
        &self.0
    }
}

impl std::fmt::Display for StatementError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&sqlite_message(&self.0))
    }
}

impl std::error::Error for StatementError {
    /// What the rusqlite error returns as its own source (SQLite's result
    /// code, `Error code 1: SQL logic error`), not the rusqlite error itself,
    /// whose message this error's already is; [`sqlite_error`](Self::sqlite_error)
    /// gives it.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// SQLite's own message for an error, without rusqlite's decoration.
pub(crate) fn sqlite_message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
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

impl Database for Connection {
    type Backend<'c> = Sqlite<'c>;

    async fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<Sqlite<'c>> {
        Sqlite::open(self, session)
    }
}

/// Every operation on a SQLite connection is done inside the call.
impl Blocking for Connection {}

/// One action's hold on a SQLite [`Connection`]: the [`Backend`] that
/// [`Connection`]'s [`Database::open`] returns.
///
/// Dropped or [closed](Backend::close), it hands the connection back as it
/// was given: no transaction open (one left open is rolled back), its own
/// busy timeout, no authorizer of the runner's, and nothing a migration
/// attached.
pub struct Sqlite<'c> {
    conn: &'c mut Connection,
    table: String,
    lock_timeout: Duration,
    /// The rules for migration code, installed when the action runs any.
    guard: Option<Guard>,
    /// Whether the connection enforces foreign keys, and what it breaks.
    /// When it does, an action that runs migrations turns them off once
    /// when it opens and back on when the connection is put back: SQLite
    /// ignores the pragma inside a transaction, and each pragma costs as
    /// much as a small statement, so not around every migration.
    foreign_keys: ForeignKeyCheck,
    /// The connection's own busy timeout, put back at the end.
    busy_timeout: Option<Duration>,
    /// Whether the connection has been put back.
    restored: bool,
    /// `PRAGMA data_version` as the last transaction read it: see
    /// [`Transaction::unchanged_since_last`](crate::backend::Transaction::unchanged_since_last).
    data_version: Option<i64>,
    /// How the runner's own inserts into the tracking tables are compiled.
    own_inserts: OwnInserts,
}

/// When a migration has changed the schema, SQLite compiles the cached
/// statements that record it again, and compiling the tracking tables'
/// `CHECK` constraints (the list of four states builds a temporary index
/// each time) costs about as much as the rest of both inserts. The runner's
/// inserts write only values those constraints allow, so after a schema
/// change they are compiled with `PRAGMA ignore_check_constraints` on
/// (<https://www.sqlite.org/pragma.html#pragma_ignore_check_constraints>,
/// read when the statement is compiled), turned off again before anything
/// else runs. Setting the pragma expires every prepared statement, so it is
/// not used when the schema did not change: the statements compiled before
/// are then used as they are.
#[derive(Debug, Default)]
struct OwnInserts {
    /// `PRAGMA schema_version` at the last recording.
    schema_version: Option<i64>,
    /// Whether the caller's connection ignores `CHECK` constraints itself
    /// (then left alone), read when first needed.
    caller_ignores: Option<bool>,
    /// Whether the pragma is on, turned on by the runner.
    on: bool,
}

impl OwnInserts {
    /// Turns the pragma on when the schema changed since the last
    /// recording and the connection has it off.
    fn start(&mut self, conn: &Connection) -> Result<()> {
        let now: i64 = conn
            .prepare_cached("PRAGMA main.schema_version")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(context("reading the schema version"))?;
        if self.schema_version.replace(now) == Some(now) {
            return Ok(());
        }
        let ignores = match self.caller_ignores {
            Some(ignores) => ignores,
            None => {
                let ignores = conn
                    .prepare_cached("PRAGMA ignore_check_constraints")
                    .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
                    .map_err(context("reading PRAGMA ignore_check_constraints"))?;
                *self.caller_ignores.insert(ignores)
            }
        };
        if !ignores {
            run_cached(conn, "PRAGMA ignore_check_constraints = ON")
                .map_err(context("setting PRAGMA ignore_check_constraints"))?;
            self.on = true;
        }
        Ok(())
    }

    /// Runs `write` (the runner's inserts) between [`start`](Self::start)
    /// and [`end`](Self::end); the pragma is turned off again whatever
    /// `write` returned, and `write`'s error comes first.
    fn around<T>(&mut self, conn: &Connection, write: impl FnOnce() -> Result<T>) -> Result<T> {
        self.start(conn)?;
        let written = write();
        let ended = self.end(conn);
        let value = written?;
        ended?;
        Ok(value)
    }

    /// Turns the pragma off again if [`start`](Self::start) turned it on.
    fn end(&mut self, conn: &Connection) -> Result<()> {
        if self.on {
            run_cached(conn, "PRAGMA ignore_check_constraints = OFF")
                .map_err(context("setting PRAGMA ignore_check_constraints"))?;
            self.on = false;
        }
        Ok(())
    }
}

impl<'c> Sqlite<'c> {
    /// Prepares `conn` for `session`; see [`Database::open`].
    fn open(conn: &'c mut Connection, session: &Session<'_>) -> Result<Sqlite<'c>> {
        if !conn.is_autocommit() {
            return Err(Error::TransactionOpen);
        }
        // Waiting happens wherever SQLite needs a lock: at `BEGIN IMMEDIATE`,
        // at a read while another connection holds an exclusive lock (in
        // rollback-journal mode), at `COMMIT` while readers hold shared ones.
        let previous: i64 = conn
            .prepare_cached("PRAGMA busy_timeout")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(context("reading the busy timeout"))?;
        conn.busy_timeout(session.lock_timeout)
            .map_err(context("setting the busy timeout"))?;
        let mut backend = Sqlite {
            conn,
            table: session.table.to_owned(),
            lock_timeout: session.lock_timeout,
            guard: None,
            foreign_keys: ForeignKeyCheck::disabled(),
            busy_timeout: Some(Duration::from_millis(previous.max(0).unsigned_abs())),
            restored: false,
            data_version: None,
            own_inserts: OwnInserts::default(),
        };
        if session.purpose != Purpose::Records {
            let guard = Guard::new(
                &tracking_tables(session.table),
                session.purpose == Purpose::Sandbox,
            );
            guard
                .install(backend.conn)
                .map_err(context("setting the authorizer"))?;
            backend.guard = Some(guard);
            backend.foreign_keys = ForeignKeyCheck::new(backend.conn)?;
            if backend.foreign_keys.enabled() {
                foreign_keys::set(backend.conn, false)?;
            }
        }
        Ok(backend)
    }

    /// Puts the connection back; every step is tried, whichever fails, and
    /// the first error is returned.
    fn restore(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.restored, true) {
            return Ok(());
        }
        let conn = &mut *self.conn;
        let rolled_back = roll_back_open_transaction(conn);
        let unguarded = match &self.guard {
            Some(guard) => {
                let detached = guard
                    .detach_leftovers(conn)
                    .map_err(context("detaching a database a migration attached"));
                let removed = Guard::remove(conn).map_err(context("removing the authorizer"));
                detached.and(removed)
            }
            None => Ok(()),
        };
        // Back on, as the connection had them (outside a transaction: the
        // rollback above ended any).
        let kept_off = if self.foreign_keys.enabled() {
            foreign_keys::set(conn, true)
        } else {
            Ok(())
        };
        let timeout = match self.busy_timeout {
            Some(timeout) => conn
                .busy_timeout(timeout)
                .map_err(context("setting the busy timeout")),
            None => Ok(()),
        };
        let checks = self.own_inserts.end(conn);
        rolled_back
            .and(unguarded)
            .and(kept_off)
            .and(timeout)
            .and(checks)
    }
}

impl Drop for Sqlite<'_> {
    fn drop(&mut self) {
        if let Err(error) = self.restore() {
            tracing::error!(%error, "could not restore the connection's settings after an action");
        }
    }
}

/// Rolls back a transaction left open on the connection, if any.
fn roll_back_open_transaction(conn: &Connection) -> Result<()> {
    if conn.is_autocommit() {
        return Ok(());
    }
    conn.execute_batch("ROLLBACK")
        .map_err(context("rolling back a transaction left open"))
}

impl<'c> Backend for Sqlite<'c> {
    type Tx<'t>
        = SqliteTx<'t>
    where
        Self: 't;
    type OutsideLock = Running;

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_transactional_ddl(true)
            .with_foreign_keys_toggled(true)
            .with_detects_running_outside(lock_file::path(self.conn, &self.table).is_some())
    }

    async fn begin(&mut self, mode: LockMode) -> Result<SqliteTx<'_>> {
        let conn: &Connection = self.conn;
        // SQLite cannot detach inside a transaction, and the next migration
        // may attach the same name.
        if let (Some(guard), LockMode::Write) = (&self.guard, mode) {
            guard
                .detach_leftovers(conn)
                .map_err(context("detaching a database a migration attached"))?;
        }
        let mut tx = SqliteTx {
            tx: None,
            read: false,
            conn,
            table: &self.table,
            lock_timeout: self.lock_timeout,
            guard: self.guard.as_ref(),
            foreign_keys: &mut self.foreign_keys,
            data_version: &mut self.data_version,
            own_inserts: &mut self.own_inserts,
        };
        match mode {
            // Only the tracking table's reads run in it (no migration code
            // needs a rusqlite `Transaction`): `BEGIN` and its end as cached
            // statements, since the up-to-date check is little more.
            LockMode::Read => {
                run_cached(conn, "BEGIN DEFERRED").map_err(context("starting a transaction"))?;
                tx.read = true;
            }
            LockMode::Write => {
                tx.tx = Some(
                    Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
                        .map_err(context("starting a transaction"))?,
                );
            }
        }
        Ok(tx)
    }

    async fn execute_outside(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure> {
        let sql = match migration.script(direction) {
            Some(Script::Sql { sql, .. }) => sql,
            Some(Script::Rust(_)) => return Err(not_compiled(migration).into()),
            None => return Err(no_down(migration).into()),
        };
        let Some(guard) = &self.guard else {
            return Err(unguarded().into());
        };
        let conn: &Connection = self.conn;
        guard
            .detach_leftovers(conn)
            .map_err(context("detaching a database a migration attached"))?;
        // Outside a transaction, foreign keys are enforced as the connection
        // has them.
        let kept_off = self.foreign_keys.enabled();
        if kept_off {
            foreign_keys::set(conn, true)?;
        }
        let scope = guard.migration(conn);
        let mut result = run_sql(conn, sql, &scope);
        scope.runner();
        // A `SAVEPOINT` outside a transaction begins one; one the migration
        // did not release would take the caller's next writes with it.
        if !conn.is_autocommit() {
            let open = scope.open_savepoint();
            // The migration's own error, if it has one, is the one to tell.
            match roll_back_open_transaction(conn) {
                Err(error) if result.is_ok() => result = Err(error.into()),
                _ => {}
            }
            if result.is_ok() {
                let message = format!(
                    "it left a transaction open (`SAVEPOINT {}` was never released), which the runner rolled back, undoing what ran inside it",
                    open.as_deref().unwrap_or("…")
                );
                result = Err(Failure::of_migration(message));
            }
        }
        let put_back = scope.finish().map_err(putting_back);
        let off_again = if kept_off {
            foreign_keys::set(conn, false).map_err(Failure::from)
        } else {
            Ok(())
        };
        result.and(put_back).and(off_again)
    }

    fn can_run(code: &RustCode) -> bool {
        code.step::<RustStep>().is_some()
    }

    async fn release(&mut self, lock: Running) {
        drop(lock);
    }

    async fn expected_schema(&mut self, migrations: &Migrations) -> Result<Schema> {
        verify::expected_schema(migrations).map(std::borrow::Cow::into_owned)
    }

    fn differences(&self, expected: &Schema, actual: &Schema) -> Vec<SchemaDifference> {
        expected.differences(actual)
    }

    async fn close(mut self) -> Result<()> {
        self.restore()
    }
}

/// A transaction of [`Sqlite`]: a rusqlite [`Transaction`] with the tracking
/// table's operations; dropping it rolls back.
pub struct SqliteTx<'t> {
    /// A write transaction; `None` only once committed (or before it
    /// began), and for a read transaction.
    tx: Option<Transaction<'t>>,
    /// A read transaction is open (begun without a rusqlite `Transaction`).
    read: bool,
    conn: &'t Connection,
    table: &'t str,
    lock_timeout: Duration,
    guard: Option<&'t Guard>,
    foreign_keys: &'t mut ForeignKeyCheck,
    data_version: &'t mut Option<i64>,
    own_inserts: &'t mut OwnInserts,
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        // A write transaction's rusqlite `Transaction` rolls back by itself.
        if self.read
            && !self.conn.is_autocommit()
            && let Err(error) = run_cached(self.conn, "ROLLBACK")
        {
            tracing::error!(%error, "could not end a read transaction");
        }
    }
}

/// Runs `sql`, a statement without parameters or rows (`BEGIN`, `COMMIT`),
/// through the connection's cache of prepared statements.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

impl crate::backend::Transaction for SqliteTx<'_> {
    type OutsideLock = Running;

    async fn table_exists(&mut self) -> Result<bool> {
        tracking::table_exists(self.conn, self.table)
    }

    async fn create_tables(&mut self) -> Result<()> {
        tracking::create_tables(self.conn, self.table)
    }

    async fn latest_applied(&mut self) -> Result<Option<(u64, Checksum)>> {
        tracking::latest_applied(self.conn, self.table)
    }

    async fn running_checksum_below(&mut self, version: u64) -> Result<Option<Checksum>> {
        tracking::running_checksum_below(self.conn, self.table, version)
    }

    async fn applied(&mut self) -> Result<Vec<AppliedMigration>> {
        tracking::applied(self.conn, self.table)
    }

    async fn failed(&mut self) -> Result<Vec<FailedMigration>> {
        tracking::failed(self.conn, self.table)
    }

    async fn dirty(&mut self) -> Result<Vec<DirtyMigration>> {
        tracking::dirty(self.conn, self.table)
    }

    async fn head(&mut self) -> Result<Option<Head>> {
        tracking::head(self.conn, self.table)
    }

    async fn records(&mut self) -> Result<Option<Records>> {
        tracking::records(self.conn, self.table)
    }

    async fn another_is_running(&mut self) -> bool {
        lock_file::another_is_running(self.conn, self.table)
    }

    async fn unchanged_since_last(&mut self) -> Result<bool> {
        // Changes only when another connection commits to the database
        // (https://www.sqlite.org/pragma.html#pragma_data_version): this
        // connection's own commits leave it as it was.
        let now: i64 = self
            .conn
            .prepare_cached("PRAGMA main.data_version")
            .and_then(|mut statement| statement.query_row([], |row| row.get(0)))
            .map_err(context("reading the data version"))?;
        Ok(self.data_version.replace(now) == Some(now))
    }

    async fn lock_outside(&mut self) -> Result<Running> {
        Running::start(self.conn, self.table, self.lock_timeout)
    }

    async fn execute(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure> {
        let (Some(tx), Some(guard)) = (&self.tx, self.guard) else {
            return Err(unguarded().into());
        };
        execute(tx, migration, direction, guard)?;
        self.foreign_keys.check_migration(tx, &guard.footprint())
    }

    async fn record_applied(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String> {
        let at = tracking::now();
        tracking::record_applied(
            self.conn,
            self.table,
            migration,
            running_checksum,
            duration,
            &at,
        )?;
        Ok(at)
    }

    /// The row and its event at one time, each a plain `INSERT` prepared
    /// once per connection, and again after a schema change, then without
    /// the tables' `CHECK` constraints (see [`OwnInserts`]).
    async fn record_applied_with_event(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
        event: &NewEvent<'_>,
    ) -> Result<String> {
        let (conn, table) = (self.conn, self.table);
        self.own_inserts.around(conn, || {
            let at = tracking::now();
            tracking::record_applied(conn, table, migration, running_checksum, duration, &at)?;
            tracking::record_event(conn, table, event, &at)?;
            Ok(at)
        })
    }

    /// The rows one by one, then their events in one statement that copies
    /// them from the rows: after a group's last schema change, one statement
    /// compiled instead of one executed per migration.
    async fn record_all_applied(
        &mut self,
        applied: &[(&Migration, Checksum, Duration)],
    ) -> Result<Vec<String>> {
        if applied.is_empty() {
            return Ok(Vec::new());
        }
        let (conn, table) = (self.conn, self.table);
        self.own_inserts.around(conn, || {
            let mut times = Vec::with_capacity(applied.len());
            for &(migration, running, duration) in applied {
                let at = tracking::now();
                tracking::record_applied(conn, table, migration, running, duration, &at)?;
                times.push(at);
            }
            let versions: Vec<u64> = applied.iter().map(|(m, _, _)| m.version()).collect();
            tracking::record_applied_events(conn, table, &versions)?;
            Ok(times)
        })
    }

    async fn set_running_checksum(&mut self, version: u64, running: Checksum) -> Result<()> {
        tracking::set_running_checksum(self.conn, self.table, version, running)
    }

    async fn set_name_and_checksum(
        &mut self,
        version: u64,
        name: &str,
        checksum: Checksum,
    ) -> Result<()> {
        tracking::set_name_and_checksum(self.conn, self.table, version, name, checksum)
    }

    async fn record_failure(
        &mut self,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()> {
        tracking::record_failure(self.conn, self.table, migration, duration, error)
    }

    async fn mark_dirty(&mut self, migration: &Migration, direction: Direction) -> Result<()> {
        tracking::mark_dirty(self.conn, self.table, migration, direction)
    }

    async fn set_dirty_error(&mut self, version: u64, error: &str) -> Result<()> {
        tracking::set_dirty_error(self.conn, self.table, version, error)
    }

    async fn remove(&mut self, version: u64) -> Result<()> {
        tracking::remove(self.conn, self.table, version)
    }

    async fn record_event(&mut self, event: &NewEvent<'_>) -> Result<()> {
        tracking::record_event(self.conn, self.table, event, &tracking::now())
    }

    async fn events(&mut self) -> Result<Vec<Event>> {
        tracking::events(self.conn, self.table)
    }

    async fn other_table(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Option<crate::backend::OtherTable>> {
        other_tables::other_table(self.conn, table, columns)
    }

    async fn schema(&mut self) -> Result<Schema> {
        Schema::read_excluding(self.conn, &tracking_tables(self.table))
            .map_err(context("reading the schema"))
    }

    async fn commit(mut self) -> Result<()> {
        let open = self.tx.is_some() || std::mem::take(&mut self.read);
        if open && !self.conn.is_autocommit() {
            // A cached `COMMIT`; the rusqlite `Transaction` then finds no
            // transaction to end. If it fails (busy), dropping `self` rolls
            // back, as rusqlite's own `commit` would.
            run_cached(self.conn, "COMMIT").map_err(context("committing the transaction"))?;
        }
        drop(self.tx.take());
        Ok(())
    }
}

/// A migration run where no rules for migration code are installed: the
/// driver's bug, reported rather than run unguarded.
fn unguarded() -> Error {
    Error::database(
        "running a migration",
        "the action did not install the rules for migration code",
    )
}

/// Runs a migration's up or down inside `tx` under `guard`'s rules, putting
/// back what it changed of the connection.
fn execute(
    tx: &Transaction<'_>,
    migration: &Migration,
    direction: Direction,
    guard: &Guard,
) -> Result<(), Failure> {
    let Some(script) = migration.script(direction) else {
        return Err(no_down(migration).into());
    };
    let scope = guard.migration(tx);
    let result = match script {
        Script::Sql { sql, .. } => run_sql(tx, sql, &scope),
        Script::Rust(Some(code)) => match code.step::<RustStep>() {
            Some(step) => run_rust(tx, migration, *step, &scope),
            None => Err(Failure::of_migration(
                "its Rust code was written for another database engine, not SQLite",
            )),
        },
        Script::Rust(None) => Err(not_compiled(migration).into()),
    };
    let put_back = scope.finish().map_err(putting_back);
    if tx.is_autocommit() {
        return match (script, result) {
            // SQLite rolls the whole transaction back by itself on some
            // errors (`INSERT OR ROLLBACK`, `RAISE(ROLLBACK)`, a full disk:
            // https://www.sqlite.org/lang_transaction.html, "Response To
            // Errors Within A Transaction"); the script stopped at that
            // statement, so nothing ran outside it.
            (Script::Sql { .. }, Err(failure)) => Err(failure),
            _ => Err(transaction_ended()),
        };
    }
    result.and(put_back)
}

/// Runs a Rust step inside `tx`, in a savepoint of the runner's that tells
/// afterwards whether the transaction it was given is still the one open.
fn run_rust(
    tx: &Transaction<'_>,
    migration: &Migration,
    step: RustStep,
    scope: &MigrationScope<'_, '_>,
) -> Result<(), Failure> {
    // The authorizer refuses a statement of the step's that would end the
    // transaction, or use the name of this savepoint.
    tx.execute_batch(&format!("SAVEPOINT {RUNNER_SAVEPOINT}"))
        .map_err(context("starting the savepoint around a Rust migration"))?;
    scope.rust().map_err(context(format!(
        "reading the connection's settings before migration {} ({})",
        migration.version(),
        migration.name()
    )))?;
    let result = step(tx);
    scope.runner();
    // A refused statement fails the migration even when the code went on
    // regardless of the error.
    let result = match scope.take_refusal() {
        Some(reason) => Err(reason.into()),
        None => result,
    };
    // A trigger it created may not write to the tracking tables when it
    // fires.
    let result = result.and_then(|()| match scope.check_new_triggers() {
        Ok(None) => Ok(()),
        Ok(Some(reason)) => Err(reason.into()),
        Err(error) => Err(Box::new(StatementError(error)) as BoxError),
    });
    match tx.execute_batch(&format!("RELEASE {RUNNER_SAVEPOINT}")) {
        Ok(()) => result.map_err(|error| {
            // SQLite's own message for the step's SQLite errors.
            let error = match error.downcast::<rusqlite::Error>() {
                Ok(error) => Box::new(StatementError(*error)),
                Err(other) => other,
            };
            Failure::of_migration(error)
        }),
        Err(_) => Err(transaction_ended()),
    }
}

/// Runs a migration's SQL on `conn`, naming the failing statement.
fn run_sql(conn: &Connection, sql: &str, scope: &MigrationScope<'_, '_>) -> Result<(), Failure> {
    execute_script(conn, sql, scope).map_err(|failure| {
        Failure::Migration(MigrationFailure {
            line: failure.line.and_then(|line| u32::try_from(line).ok()),
            statement: failure.statement.map(String::into_boxed_str),
            error: Box::new(StatementError(failure.source)),
            transaction_ended: false,
        })
    })
}

/// A failure to put the connection back as it was before a migration, as
/// the migration's failure.
fn putting_back(error: rusqlite::Error) -> Failure {
    Failure::of_migration(format!(
        "putting the connection back as it was before the migration (its settings, attached databases and temporary objects): {}",
        sqlite_message(&error)
    ))
}

/// The runner's transaction ended while a migration ran in it (beyond what
/// the authorizer refuses: unsafe code, say): what ran before may have been
/// committed without its tracking row, so the migration counts as dirty.
fn transaction_ended() -> Failure {
    Failure::Migration(MigrationFailure {
        line: None,
        statement: None,
        error: "the runner's transaction ended while it ran, so what it did before may have been committed without its tracking row".into(),
        transaction_ended: true,
    })
}
