//! The PostgreSQL backend over either client: see the module docs of
//! [`crate::postgres`].
use std::borrow::Cow;
use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error as PgError, Row};

use super::client::{self, PgClient, PgTransaction, StepError};
use super::schema::{self as catalog, Scope};
use super::{script, tracking};

use crate::backend::{
    Backend, Capabilities, Database, Failure, Head, LockMode, MigrationFailure, NewEvent, Purpose,
    Session, shorten,
};
use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::migration::{Migration, Migrations, RustCode, Script};
use crate::plan::{no_down, not_compiled};
use crate::report::{AppliedMigration, Direction, DirtyMigration, Event, FailedMigration};
use crate::schema::{Schema, SchemaDifference};

/// The schema the tracking tables live in by default.
pub const DEFAULT_SCHEMA: &str = "public";

/// How the runner keeps other runners out on PostgreSQL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LockScope {
    /// A session advisory lock for the whole run (`pg_advisory_lock`), as
    /// sqlx, refinery and Flyway take: other runners wait until this one is
    /// done, then find nothing to apply. The default.
    #[default]
    Session,
    /// Only transaction advisory locks (`pg_advisory_xact_lock`), one per
    /// transaction, for a connection through PgBouncer's transaction
    /// pooling, where session state does not stay with the client. Each
    /// migration is still applied exactly once (each transaction re-reads
    /// the tracking table under the lock), but runners may take turns
    /// between migrations, and a no-transaction migration's run cannot be
    /// told from one cut short, so another runner that sees its dirty mark
    /// refuses with [`Error::Dirty`] instead of waiting.
    Transaction,
}

/// A PostgreSQL client with the backend's settings: the tracking tables'
/// schema and the lock scope. A bare `postgres::Client` or
/// `tokio_postgres::Client` is a [`Database`] too, with the defaults.
///
/// ```no_run
/// # #[cfg(feature = "postgres")]
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use migrate_core::postgres::{LockScope, Postgres, postgres};
/// # let migrations = migrate_core::Migrations::from_folder("migrations")?;
/// let mut client = postgres::Client::connect("postgres://app@db/app", postgres::NoTls)?;
/// let mut db = Postgres::new(&mut client)
///     .schema("migrations")
///     .lock_scope(LockScope::Transaction);
/// migrations.run(&mut db)?;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "postgres"))]
/// # fn main() {}
/// ```
pub struct Postgres<'a, C> {
    client: &'a mut C,
    settings: Settings,
}

/// The settings of [`Postgres`].
#[derive(Clone, Debug)]
struct Settings {
    schema: Cow<'static, str>,
    lock_scope: LockScope,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            schema: Cow::Borrowed(DEFAULT_SCHEMA),
            lock_scope: LockScope::Session,
        }
    }
}

impl<'a, C: PgClient> Postgres<'a, C> {
    /// `client` with the default settings: schema [`DEFAULT_SCHEMA`],
    /// [`LockScope::Session`].
    pub fn new(client: &'a mut C) -> Postgres<'a, C> {
        Postgres {
            client,
            settings: Settings::default(),
        }
    }

    /// The schema of the tracking tables (default `public`), created if it
    /// does not exist. A plain identifier: ASCII letters, digits and `_`, not
    /// starting with a digit, used as written (quoted, so case counts);
    /// otherwise every action fails with [`Error::InvalidTableName`].
    pub fn schema(mut self, schema: impl Into<Cow<'static, str>>) -> Self {
        self.settings.schema = schema.into();
        self
    }

    /// How other runners are kept out; see [`LockScope`].
    pub fn lock_scope(mut self, scope: LockScope) -> Self {
        self.settings.lock_scope = scope;
        self
    }
}

impl<C: PgClient> Database for Postgres<'_, C> {
    type Backend<'c>
        = PgBackend<'c, C>
    where
        Self: 'c;

    async fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<PgBackend<'c, C>> {
        PgBackend::open(self.client, session, self.settings.clone()).await
    }
}

#[cfg(feature = "postgres")]
impl Database for postgres::Client {
    type Backend<'c> = PgBackend<'c, postgres::Client>;

    async fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<Self::Backend<'c>> {
        PgBackend::open(self, session, Settings::default()).await
    }
}

/// Every call of the blocking client waits inside it.
#[cfg(feature = "postgres")]
impl crate::backend::Blocking for postgres::Client {}

/// Every call of the blocking client waits inside it.
#[cfg(feature = "postgres")]
impl crate::backend::Blocking for Postgres<'_, postgres::Client> {}

#[cfg(feature = "tokio-postgres")]
impl Database for tokio_postgres::Client {
    type Backend<'c> = PgBackend<'c, tokio_postgres::Client>;

    async fn open<'c>(&'c mut self, session: &Session<'_>) -> Result<Self::Backend<'c>> {
        PgBackend::open(self, session, Settings::default()).await
    }
}

/// One action's hold on a PostgreSQL client: the [`Backend`] that its
/// [`Database::open`] returns. [Closed](Backend::close), it releases the
/// run's lock; dropped without closing (a panic, or an async action
/// cancelled), a session lock stays held until the client's connection
/// closes — close the connection then.
pub struct PgBackend<'c, C: PgClient> {
    client: &'c mut C,
    /// `"schema"."table"`, quoted.
    table: tracking::Names,
    lock_timeout: Duration,
    settings: Settings,
    /// Whether the client was found outside a transaction (checked before
    /// the first transaction or lock of the action).
    checked: bool,
    /// Whether the tracking tables are known to exist for good: seen in a
    /// transaction that did not create them, or created in one that
    /// committed. Then `create_tables` and `table_exists` send nothing.
    tables_ready: bool,
    /// Whether this action holds the run's session lock.
    session_locked: bool,
}

/// Fails with [`Error::TransactionOpen`] when the client is inside a
/// transaction of its own.
///
/// "statement_timestamp() and transaction_timestamp() return the same value
/// during the first command of a transaction"
/// (<https://www.postgresql.org/docs/15/functions-datetime.html>): they
/// differ only inside a transaction the caller began. Sent as one command
/// message (the simple-query protocol): the extended protocol's Bind and
/// Execute would each move the statement's time.
async fn check_outside_transaction<C: PgClient>(client: &mut C) -> Result<()> {
    let rows = client
        .simple("SELECT statement_timestamp() <> transaction_timestamp()")
        .await
        .map_err(outside_check_error(
            "checking that the connection is not inside a transaction",
        ))?;
    match rows.first().and_then(|row| row.get(0)) {
        Some("f") => Ok(()),
        Some(_) => Err(Error::TransactionOpen),
        None => Err(Error::database(
            "checking that the connection is not inside a transaction",
            "the server returned no row",
        )),
    }
}

impl<'c, C: PgClient> PgBackend<'c, C> {
    /// Opens an action on `client`: nothing is sent for an action that only
    /// reads or writes records (the up-to-date check is then one statement);
    /// one that runs migrations checks the client and, with
    /// [`LockScope::Session`], takes the run's lock.
    async fn open(
        client: &'c mut C,
        session: &Session<'_>,
        settings: Settings,
    ) -> Result<PgBackend<'c, C>> {
        if !is_identifier(&settings.schema) {
            return Err(Error::InvalidTableName(settings.schema.into_owned()));
        }
        let mut backend = PgBackend {
            table: tracking::Names::new(&settings.schema, session.table),
            lock_timeout: session.lock_timeout,
            checked: false,
            tables_ready: false,
            session_locked: false,
            settings,
            client,
        };
        if session.purpose != Purpose::Records {
            backend.check().await?;
            if backend.settings.lock_scope == LockScope::Session {
                let sql = tracking::lock(
                    &backend.table,
                    tracking::Lock::Session,
                    backend.lock_timeout,
                );
                backend
                    .client
                    .batch(&sql)
                    .await
                    .map_err(context("taking the migration lock"))?;
                backend.session_locked = true;
            }
        }
        Ok(backend)
    }

    async fn check(&mut self) -> Result<()> {
        if !self.checked {
            check_outside_transaction(&mut *self.client).await?;
            self.checked = true;
        }
        Ok(())
    }

    async fn unlock(&mut self) -> Result<()> {
        if !std::mem::replace(&mut self.session_locked, false) {
            return Ok(());
        }
        self.client
            .batch(&tracking::unlock(&self.table, tracking::Key::Run))
            .await
            .map_err(context("releasing the migration lock"))
    }
}

impl<'c, C: PgClient> Backend for PgBackend<'c, C> {
    type Tx<'t>
        = PgTx<'t, C>
    where
        Self: 't;
    type OutsideLock = OutsideLock;

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_transactional_ddl(true)
            .with_detects_running_outside(self.settings.lock_scope == LockScope::Session)
    }

    async fn begin(&mut self, mode: LockMode) -> Result<PgTx<'_, C>> {
        if mode == LockMode::Write {
            self.check().await?;
        }
        let mut tx = PgTx {
            state: State::Idle(&mut *self.client),
            table: &self.table,
            lock_scope: self.settings.lock_scope,
            checked: &mut self.checked,
            tables_ready: &mut self.tables_ready,
            created_here: false,
            session_locked: self.session_locked,
        };
        if mode == LockMode::Write {
            tx.open(false).await?;
            if !self.session_locked {
                let sql = tracking::lock(tx.table, tracking::Lock::Transaction, self.lock_timeout);
                tx.tx()
                    .await?
                    .batch(&sql)
                    .await
                    .map_err(context("taking the migration lock"))?;
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
        let statements = checked(sql)?;
        for statement in &statements {
            self.client
                .batch(statement.text)
                .await
                .map_err(|error| statement_failure(statement, error))?;
        }
        Ok(())
    }

    fn can_run(code: &RustCode) -> bool {
        C::can_run(code)
    }

    /// Refuses a statement that would end the runner's transaction (see
    /// [`script::refused`]) before anything of the migration runs.
    fn check(migration: &Migration, direction: Direction) -> Result<(), Failure> {
        match migration.script(direction) {
            Some(Script::Sql { sql, .. }) => checked(sql).map(drop),
            _ => Ok(()),
        }
    }

    async fn release(&mut self, lock: OutsideLock) {
        if lock.held {
            let sql = tracking::unlock(&self.table, tracking::Key::Outside);
            if let Err(error) = self.client.batch(&sql).await {
                tracing::error!(%error, "could not release the lock of a no-transaction migration");
            }
        }
    }

    /// Applies every up in one transaction, in a scratch schema of its own
    /// (`migrate_expected_<random>`, first and only in `search_path`),
    /// reads that schema and rolls everything back: PostgreSQL's DDL is
    /// transactional, so the database is left as it was.
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] for what cannot be worked out that way: a
    /// no-transaction migration (`CREATE INDEX CONCURRENTLY` cannot run in
    /// a transaction), a Rust migration whose code is not compiled in or is
    /// written for the other client, a statement that fails, and a set that
    /// creates or alters objects outside the schema it runs in
    /// (schema-qualified names, `CREATE SCHEMA`: told from the catalog rows
    /// the transaction wrote). For all of these, embed the schema at build
    /// time (`MIGRATE_VERIFY_DATABASE_URL`, see `postgres::verify`).
    /// [`Error::TransactionOpen`], a database error.
    async fn expected_schema(&mut self, migrations: &Migrations) -> Result<Schema> {
        self.check().await?;
        expected_in_scratch(&mut *self.client, migrations, &self.table).await
    }

    /// See [`postgres::schema`](super::schema) for what counts as the same.
    fn differences(&self, expected: &Schema, actual: &Schema) -> Vec<SchemaDifference> {
        catalog::differences(expected, actual)
    }

    async fn close(mut self) -> Result<()> {
        self.unlock().await
    }
}

/// The lock held while a migration runs outside a transaction: a session
/// advisory lock, or nothing with [`LockScope::Transaction`].
#[derive(Debug)]
pub struct OutsideLock {
    held: bool,
}

/// A transaction of [`PgBackend`]. A read transaction begins on the server
/// only when it needs a second statement, so that the up-to-date check
/// ([`head`](crate::backend::Transaction::head)) is one statement in
/// autocommit. Dropping it rolls back.
pub struct PgTx<'t, C: PgClient + 't> {
    state: State<'t, C>,
    table: &'t tracking::Names,
    lock_scope: LockScope,
    /// The backend's: whether the client was found outside a transaction.
    checked: &'t mut bool,
    /// The backend's: whether the tracking tables exist for good.
    tables_ready: &'t mut bool,
    /// Whether this transaction ran `create_tables` (they exist for good
    /// only once it commits).
    created_here: bool,
    /// Whether the backend holds the run's session lock.
    session_locked: bool,
}

enum State<'t, C: PgClient + 't> {
    /// No transaction on the server yet.
    Idle(&'t mut C),
    /// The transaction.
    Open(C::Tx<'t>),
    /// Between the two, or committed.
    Gone,
}

impl<'t, C: PgClient + 't> PgTx<'t, C> {
    /// Begins the transaction on the server if it has not begun.
    async fn open(&mut self, read_only: bool) -> Result<()> {
        if let State::Idle(_) = self.state {
            let State::Idle(client) = std::mem::replace(&mut self.state, State::Gone) else {
                unreachable!("matched above");
            };
            if !*self.checked {
                check_outside_transaction(&mut *client).await?;
                *self.checked = true;
            }
            let tx = C::begin_on(client, read_only)
                .await
                .map_err(context("starting a transaction"))?;
            self.state = State::Open(tx);
        }
        Ok(())
    }

    /// The open transaction, begun (read-only) if it was not.
    async fn tx(&mut self) -> Result<&mut C::Tx<'t>> {
        self.open(true).await?;
        match &mut self.state {
            State::Open(tx) => Ok(tx),
            _ => Err(Error::database(
                "using a transaction",
                "the transaction has ended",
            )),
        }
    }

    /// Runs a query in the transaction.
    async fn query(&mut self, sql: &str, params: client::Params<'_>) -> Result<Vec<Row>> {
        let table = self.table.display();
        self.tx()
            .await?
            .query(sql, params)
            .await
            .map_err(|error| engine_error(format!("reading the tracking table {table}"), error))
    }

    /// Runs `sql`, which records `migration` as applied (its parameters
    /// `$1`–`$5`, then `extra`) and returns `applied_at`.
    async fn record_applied_by(
        &mut self,
        sql: &str,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
        extra: client::Params<'_>,
    ) -> Result<String> {
        let version = tracking::sql_version(migration.version());
        let checksum = migration.checksum().to_string();
        let running = running_checksum.to_string();
        let millis = tracking::millis(duration);
        let name = migration.name();
        let mut params: Vec<(&(dyn ToSql + Sync), Type)> = vec![
            (&version, Type::INT8),
            (&name, Type::TEXT),
            (&checksum, Type::TEXT),
            (&running, Type::TEXT),
            (&millis, Type::INT8),
        ];
        params.extend_from_slice(extra);
        let rows = self.write(sql, &params).await?;
        match rows.first() {
            Some(row) => Ok(row.get(0)),
            // The upsert skips a row that is already applied: another
            // process recorded it while this one ran it outside a
            // transaction.
            None => Err(Error::database(
                format!(
                    "recording migration {} ({}) as applied in {}",
                    migration.version(),
                    migration.name(),
                    self.table.display()
                ),
                "it is already recorded as applied, by another process",
            )),
        }
    }

    /// Runs a write in the transaction; the rows it returns.
    async fn write(&mut self, sql: &str, params: client::Params<'_>) -> Result<Vec<Row>> {
        let table = self.table.display();
        self.tx()
            .await?
            .query(sql, params)
            .await
            .map_err(|error| engine_error(format!("writing to the tracking table {table}"), error))
    }
}

impl<'t, C: PgClient + 't> crate::backend::Transaction for PgTx<'t, C> {
    type OutsideLock = OutsideLock;

    async fn table_exists(&mut self) -> Result<bool> {
        if *self.tables_ready {
            return Ok(true);
        }
        let name = self.table.regclass();
        let rows = self
            .query("SELECT to_regclass($1) IS NOT NULL", &[(&name, Type::TEXT)])
            .await?;
        let exists = rows.first().is_some_and(|row| row.get::<_, bool>(0));
        if exists && !self.created_here {
            *self.tables_ready = true;
        }
        Ok(exists)
    }

    /// While the run holds its session lock nobody else can have written
    /// the tracking table: every writer (a run, baseline, repair, under
    /// either lock scope) takes the same advisory key first.
    async fn unchanged_since_last(&mut self) -> Result<bool> {
        Ok(self.session_locked)
    }

    async fn create_tables(&mut self) -> Result<()> {
        if *self.tables_ready {
            return Ok(());
        }
        self.created_here = true;
        let sql = tracking::create_tables(self.table);
        let table = self.table.display();
        self.tx()
            .await?
            .batch(&sql)
            .await
            .map_err(|error| engine_error(format!("creating the tracking table {table}"), error))
    }

    async fn head(&mut self) -> Result<Option<Head>> {
        let sql = tracking::head(self.table);
        let table = self.table.display();
        let rows = match &mut self.state {
            // Outside a transaction: one statement checks the client, whether
            // the table exists and what it holds (see `head_summary`); a
            // second reads the details only of a dirty row. No lock, no
            // transaction.
            State::Idle(client) => {
                let found = client
                    .simple(&tracking::head_summary(self.table))
                    .await
                    .map_err(outside_check_error(format!(
                        "reading the tracking table {table}"
                    )))?;
                let Some(inside) = found.first().and_then(|row| row.get(0)) else {
                    return Err(Error::database(
                        format!("reading the tracking table {table}"),
                        "the server returned no row",
                    ));
                };
                if inside != "f" {
                    return Err(Error::TransactionOpen);
                }
                *self.checked = true;
                let Some(summary) = found.first().and_then(|row| row.get(1)) else {
                    return Ok(None);
                };
                *self.tables_ready = true;
                let (latest, dirty) = tracking::summary_of(self.table, summary)?;
                if !dirty {
                    return Ok(Some(Head {
                        latest,
                        dirty: None,
                    }));
                }
                client
                    .query(&sql, &[])
                    .await
                    .map_err(context(format!("reading the tracking table {table}")))?
            }
            _ => {
                if !self.table_exists().await? {
                    return Ok(None);
                }
                self.query(&sql, &[]).await?
            }
        };
        let row = rows.first().ok_or_else(|| {
            Error::database("reading the tracking table", "the check returned no row")
        })?;
        tracking::head_of(self.table, row).map(Some)
    }

    async fn latest_applied(&mut self) -> Result<Option<(u64, Checksum)>> {
        let rows = self
            .query(&tracking::latest_applied(self.table), &[])
            .await?;
        rows.first()
            .map(|row| tracking::latest_of(self.table, row, 0))
            .transpose()
            .map(Option::flatten)
    }

    async fn running_checksum_below(&mut self, version: u64) -> Result<Option<Checksum>> {
        let version = tracking::sql_version(version);
        let rows = self
            .query(
                &tracking::running_checksum_below(self.table),
                &[(&version, Type::INT8)],
            )
            .await?;
        rows.first()
            .map(|row| tracking::latest_of(self.table, row, 0))
            .transpose()
            .map(|found| found.flatten().map(|(_, running)| running))
    }

    async fn applied(&mut self) -> Result<Vec<AppliedMigration>> {
        let rows = self.query(&tracking::applied(self.table), &[]).await?;
        rows.iter()
            .map(|row| tracking::applied_of(self.table, row))
            .collect()
    }

    async fn failed(&mut self) -> Result<Vec<FailedMigration>> {
        let rows = self.query(&tracking::failed(self.table), &[]).await?;
        rows.iter()
            .map(|row| tracking::failed_of(self.table, row))
            .collect()
    }

    async fn dirty(&mut self) -> Result<Vec<DirtyMigration>> {
        let rows = self.query(&tracking::dirty(self.table), &[]).await?;
        rows.iter()
            .map(|row| tracking::dirty_of(self.table, row, 0))
            .filter_map(Result::transpose)
            .collect()
    }

    async fn another_is_running(&mut self) -> bool {
        if self.lock_scope == LockScope::Transaction {
            return false;
        }
        let sql = tracking::another_is_running(self.table);
        match self.query(&sql, &[]).await {
            Ok(rows) => rows.first().is_some_and(|row| row.get::<_, bool>(0)),
            Err(error) => {
                tracing::warn!(%error, "could not tell whether another process runs a no-transaction migration");
                false
            }
        }
    }

    async fn lock_outside(&mut self) -> Result<OutsideLock> {
        if self.lock_scope == LockScope::Transaction {
            return Ok(OutsideLock { held: false });
        }
        // Only a process that holds the run's lock takes it, and this one
        // does: it is free, or held by a `repair` asking for a moment.
        let sql = tracking::lock_outside(self.table);
        self.tx()
            .await?
            .batch(&sql)
            .await
            .map_err(context("taking the lock of a no-transaction migration"))?;
        Ok(OutsideLock { held: true })
    }

    async fn execute(
        &mut self,
        migration: &Migration,
        direction: Direction,
    ) -> Result<(), Failure> {
        let Some(script) = migration.script(direction) else {
            return Err(no_down(migration).into());
        };
        let tx = self.tx().await?;
        match script {
            Script::Sql { sql, .. } => {
                let statements = checked(sql)?;
                for statement in &statements {
                    tx.batch(statement.text)
                        .await
                        .map_err(|error| statement_failure(statement, error))?;
                }
                Ok(())
            }
            Script::Rust(Some(code)) => match tx.run_step(code).await {
                None => Err(Failure::of_migration(
                    "its Rust code was written for another database engine or client, not this PostgreSQL client",
                )),
                Some(Ok(())) => Ok(()),
                Some(Err(StepError::Failed(error))) => Err(Failure::of_migration(
                    match error.downcast::<PgError>() {
                        Ok(error) => Box::new(ServerError(*error)),
                        Err(other) => other,
                    },
                )),
                Some(Err(StepError::Database(error))) => {
                    Err(engine_error("starting the savepoint around a Rust migration", error).into())
                }
                Some(Err(StepError::TransactionEnded)) => Err(Failure::Migration(MigrationFailure {
                    line: None,
                    statement: None,
                    error: "the runner's transaction ended while it ran, so what it did before may have been committed without its tracking row".into(),
                    transaction_ended: true,
                })),
            },
            Script::Rust(None) => Err(not_compiled(migration).into()),
        }
    }

    async fn record_applied(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
    ) -> Result<String> {
        let sql = tracking::record_applied(self.table);
        self.record_applied_by(&sql, migration, running_checksum, duration, &[])
            .await
    }

    async fn record_applied_with_event(
        &mut self,
        migration: &Migration,
        running_checksum: Checksum,
        duration: Duration,
        event: &NewEvent<'_>,
    ) -> Result<String> {
        let sql = tracking::record_applied_with_event(self.table);
        let fields = EventFields::of(event);
        self.record_applied_by(
            &sql,
            migration,
            running_checksum,
            duration,
            &fields.params(),
        )
        .await
    }

    async fn set_running_checksum(&mut self, version: u64, running: Checksum) -> Result<()> {
        let version = tracking::sql_version(version);
        let running = running.to_string();
        self.write(
            &tracking::set_running_checksum(self.table),
            &[(&version, Type::INT8), (&running, Type::TEXT)],
        )
        .await
        .map(drop)
    }

    async fn set_name_and_checksum(
        &mut self,
        version: u64,
        name: &str,
        checksum: Checksum,
    ) -> Result<()> {
        let version = tracking::sql_version(version);
        let checksum = checksum.to_string();
        self.write(
            &tracking::set_name_and_checksum(self.table),
            &[
                (&version, Type::INT8),
                (&name, Type::TEXT),
                (&checksum, Type::TEXT),
            ],
        )
        .await
        .map(drop)
    }

    async fn record_failure(
        &mut self,
        migration: &Migration,
        duration: Duration,
        error: &str,
    ) -> Result<()> {
        let version = tracking::sql_version(migration.version());
        let checksum = migration.checksum().to_string();
        let millis = tracking::millis(duration);
        self.write(
            &tracking::record_failure(self.table),
            &[
                (&version, Type::INT8),
                (&migration.name(), Type::TEXT),
                (&checksum, Type::TEXT),
                (&millis, Type::INT8),
                (&error, Type::TEXT),
            ],
        )
        .await
        .map(drop)
    }

    async fn mark_dirty(&mut self, migration: &Migration, direction: Direction) -> Result<()> {
        let version = tracking::sql_version(migration.version());
        let state = tracking::dirty_state(direction);
        let checksum = migration.checksum().to_string();
        let rows = match direction {
            Direction::Up => {
                self.write(
                    &tracking::mark_dirty_up(self.table),
                    &[
                        (&version, Type::INT8),
                        (&migration.name(), Type::TEXT),
                        (&checksum, Type::TEXT),
                        (&state, Type::TEXT),
                    ],
                )
                .await?
            }
            Direction::Down => {
                self.write(
                    &tracking::mark_dirty_down(self.table),
                    &[(&version, Type::INT8), (&state, Type::TEXT)],
                )
                .await?
            }
        };
        if rows.len() == 1 {
            Ok(())
        } else {
            Err(Error::MalformedRow {
                table: self.table.display(),
                version: Some(version),
                detail: format!(
                    "expected one row to mark `{state}`, found {}: the row changed under the migration lock",
                    rows.len()
                ),
            })
        }
    }

    async fn set_dirty_error(&mut self, version: u64, error: &str) -> Result<()> {
        let version = tracking::sql_version(version);
        self.write(
            &tracking::set_dirty_error(self.table),
            &[(&version, Type::INT8), (&error, Type::TEXT)],
        )
        .await
        .map(drop)
    }

    async fn remove(&mut self, version: u64) -> Result<()> {
        let version = tracking::sql_version(version);
        self.write(&tracking::remove(self.table), &[(&version, Type::INT8)])
            .await
            .map(drop)
    }

    async fn record_event(&mut self, event: &NewEvent<'_>) -> Result<()> {
        let fields = EventFields::of(event);
        self.write(&tracking::record_event(self.table), &fields.params())
            .await
            .map(drop)
    }

    async fn events(&mut self) -> Result<Vec<Event>> {
        let name = self.table.events_regclass();
        let exists = self
            .query("SELECT to_regclass($1) IS NOT NULL", &[(&name, Type::TEXT)])
            .await?;
        if !exists.first().is_some_and(|row| row.get::<_, bool>(0)) {
            return Ok(Vec::new());
        }
        let rows = self.query(&tracking::events(self.table), &[]).await?;
        rows.iter()
            .map(|row| tracking::event_of(self.table, row))
            .collect()
    }

    async fn other_table(
        &mut self,
        table: &str,
        columns: &[&str],
    ) -> Result<Option<crate::backend::OtherTable>> {
        // The catalog's answer to "which columns" of the table an
        // unqualified name finds on the search_path; none without it.
        let name = table.to_owned();
        let rows = self
            .query(
                "SELECT a.attname::text, a.atttypid = 'bytea'::regtype \
                 FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped \
                 ORDER BY a.attnum",
                &[(&name, Type::TEXT)],
            )
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let present: Vec<(String, bool)> =
            rows.iter().map(|row| (row.get(0), row.get(1))).collect();
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let select: Vec<String> = columns
            .iter()
            .map(|column| {
                match present
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(column))
                {
                    Some((name, true)) => format!("encode({}, 'hex')", quote(name)),
                    Some((name, false)) => format!("{}::text", quote(name)),
                    None => "NULL::text".to_owned(),
                }
            })
            .collect();
        let sql = format!("SELECT {} FROM {}", select.join(", "), quote(table));
        let rows = self.query(&sql, &[]).await?;
        Ok(Some(crate::backend::OtherTable {
            columns: present.into_iter().map(|(name, _)| name).collect(),
            rows: rows
                .iter()
                .map(|row| {
                    (0..columns.len())
                        .map(|i| row.get::<_, Option<String>>(i))
                        .collect()
                })
                .collect(),
        }))
    }

    async fn schema(&mut self) -> Result<Schema> {
        let table = self.table;
        let tx = self.tx().await?;
        catalog::read(tx, Scope::Database, table)
            .await
            .map_err(context("reading the schema from the catalog"))
    }

    async fn commit(mut self) -> Result<()> {
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Open(tx) => {
                tx.commit()
                    .await
                    .map_err(context("committing the transaction"))?;
                if self.created_here {
                    *self.tables_ready = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A history event's fields as [`tracking::record_event`]'s parameters.
struct EventFields<'e> {
    kind: &'static str,
    version: i64,
    name: &'e str,
    direction: &'static str,
    checksum: Option<String>,
    millis: Option<i64>,
    detail: Option<&'e str>,
}

impl<'e> EventFields<'e> {
    fn of(event: &NewEvent<'e>) -> EventFields<'e> {
        EventFields {
            kind: event.kind.as_str(),
            version: tracking::sql_version(event.version),
            name: event.name,
            direction: event.direction.as_str(),
            checksum: event.checksum.map(|c| c.to_string()),
            millis: event.duration.map(tracking::millis),
            detail: event.detail,
        }
    }

    /// `$1`–`$7` of [`tracking::record_event`].
    fn params(&self) -> [(&(dyn ToSql + Sync), Type); 7] {
        [
            (&self.kind, Type::TEXT),
            (&self.version, Type::INT8),
            (&self.name, Type::TEXT),
            (&self.direction, Type::TEXT),
            (&self.checksum, Type::TEXT),
            (&self.millis, Type::INT8),
            (&self.detail, Type::TEXT),
        ]
    }
}

/// The statements of `sql`, or the failure of the first one that would end
/// the runner's transaction (before any runs).
fn checked(sql: &str) -> Result<Vec<script::Statement<'_>>, Failure> {
    let statements = script::split(sql);
    for statement in &statements {
        if let Some(reason) = script::refused(statement) {
            return Err(Failure::Migration(MigrationFailure {
                line: Some(statement.line),
                statement: Some(shorten(statement.text).into_boxed_str()),
                error: format!("the runner refused it: {reason}").into(),
                transaction_ended: false,
            }));
        }
    }
    Ok(statements)
}

/// A statement's failure, at the line of the server's error position when
/// it gives one.
fn statement_failure(statement: &script::Statement<'_>, error: PgError) -> Failure {
    let line = match error.as_db_error().and_then(|db| db.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(position)) => {
            statement.line_at(usize::try_from(*position).unwrap_or(usize::MAX))
        }
        _ => statement.line,
    };
    Failure::Migration(MigrationFailure {
        line: Some(line),
        statement: Some(shorten(statement.text).into_boxed_str()),
        error: Box::new(ServerError(error)),
        transaction_ended: false,
    })
}

/// An error of the server's, shown as PostgreSQL reports it: its message,
/// SQLSTATE, and detail and hint when it has them (`duplicate key value
/// violates unique constraint "users_email_key" (SQLSTATE 23505); detail:
/// Key (email)=(a@example.com) already exists.`).
#[derive(Debug)]
pub struct ServerError(pub(crate) PgError);

impl ServerError {
    /// The error as the client returned it.
    pub fn postgres_error(&self) -> &PgError {
        &self.0
    }
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                write!(f, "{} (SQLSTATE {})", db.message(), db.code().code())?;
                if let Some(detail) = db.detail() {
                    write!(f, "; detail: {detail}")?;
                }
                if let Some(hint) = db.hint() {
                    write!(f, "; hint: {hint}")?;
                }
                if db.code() == &SqlState::ACTIVE_SQL_TRANSACTION {
                    // The set may be in another tool's layout, whose own
                    // flag is the fix there (`-- migrate:no-transaction`
                    // is a plain comment to its reader).
                    f.write_str("; a statement that cannot run in a transaction needs its migration run outside one: `-- migrate:no-transaction` as the file's first line, or in another tool's layout that tool's flag (diesel: `run_in_transaction = false` in `metadata.toml`; sqlx: `-- no-transaction` first; goose: `-- +goose NO TRANSACTION`; dbmate: `transaction:false` after `-- migrate:up` or `-- migrate:down`; Flyway: `executeInTransaction=false` in `V<n>__….sql.conf`)")?;
                }
                Ok(())
            }
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::error::Error for ServerError {}

/// A client error with what was being done: [`Error::Locked`] when a lock
/// wait ran out (`lock_not_available`, 55P03), [`Error::Database`]
/// otherwise.
fn engine_error(context: impl Into<String>, error: PgError) -> Error {
    if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
        Error::Locked {
            waited: Duration::ZERO,
            error: Box::new(ServerError(error)),
        }
    } else {
        Error::database(context, ServerError(error))
    }
}

/// [`context`] for the first statement of an action, which tells whether
/// the client is inside a transaction: one of the caller's that a failed
/// statement aborted refuses every query (`in_failed_sql_transaction`,
/// 25P02) until it ends, so it is [`Error::TransactionOpen`] too.
fn outside_check_error(context: impl Into<String>) -> impl FnOnce(PgError) -> Error {
    let context = context.into();
    move |error| {
        if error.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) {
            Error::TransactionOpen
        } else {
            engine_error(context, error)
        }
    }
}

/// [`engine_error`] as a closure for `map_err`.
fn context(context: impl Into<String>) -> impl FnOnce(PgError) -> Error {
    let context = context.into();
    move |error| engine_error(context, error)
}

/// Whether `name` is a plain identifier (as the driver requires of table
/// names).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Why the schema a set produces cannot be worked out in a scratch schema.
fn unknown(reason: impl std::fmt::Display) -> Error {
    Error::SchemaUnknown {
        reason: format!(
            "{reason}; embed the schema at build time instead: build with MIGRATE_VERIFY_DATABASE_URL set (see `migrate_core::postgres::verify`)"
        )
        .into(),
    }
}

/// The catalog rows outside the schema `$1` that the transaction whose
/// first xid is `$2` (32 bits) wrote, or a subtransaction of it (a later
/// xid; the transaction is `REPEATABLE READ`, so no other transaction's
/// later rows are visible): what a set created or altered elsewhere.
const WRITTEN_ELSEWHERE: &str = r"
SELECT what FROM (
    SELECT 'schema ' || quote_ident(nspname) AS what, xmin FROM pg_namespace WHERE nspname <> $1::text
    UNION ALL
    SELECT 'relation ' || c.oid::regclass::text, c.xmin FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname <> $1::text AND n.nspname NOT LIKE 'pg\_toast%'
    UNION ALL
    SELECT 'type ' || format_type(t.oid, NULL), t.xmin FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    -- not a relation's row type nor an array type: their relation or
    -- element type is named already
    WHERE n.nspname <> $1::text AND t.typrelid = 0
      AND NOT EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure::text, p.xmin FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname <> $1::text
    UNION ALL
    SELECT 'trigger ' || quote_ident(t.tgname) || ' on ' || t.tgrelid::regclass::text, t.xmin
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> $1::text
) written
WHERE xmin::text::bigint >= $2::bigint
ORDER BY what LIMIT 5";

/// [`Backend::expected_schema`] on PostgreSQL: see there.
async fn expected_in_scratch<C: PgClient>(
    client: &mut C,
    migrations: &Migrations,
    table: &tracking::Names,
) -> Result<Schema> {
    for migration in migrations.iter() {
        let (version, name, file) = (migration.version(), migration.name(), migration.file());
        if migration.runs_outside(Direction::Up) {
            return Err(unknown(format!(
                "migration {version} ({name}) in `{file}` runs outside a transaction (`-- migrate:no-transaction`), and the schema a set produces is worked out by applying it in one transaction that is then rolled back"
            )));
        }
        if let Some(Script::Rust(code)) = migration.script(Direction::Up) {
            match code {
                Some(code) if C::can_run(code) => {}
                Some(_) => {
                    return Err(unknown(format!(
                        "Rust migration {version} ({name}) in `{file}` is written for another client than this one, so it cannot run here"
                    )));
                }
                None => {
                    return Err(unknown(format!(
                        "Rust migration {version} ({name}) in `{file}` may change the schema, and its code is not compiled into this program"
                    )));
                }
            }
        }
    }
    let mut tx = C::begin_on(client, false).await.map_err(context(
        "starting the transaction that works out the expected schema",
    ))?;
    let result = apply_in_scratch(&mut tx, migrations, table).await;
    // Everything the set did goes with the transaction, whatever happened.
    let rolled_back = tx
        .rollback()
        .await
        .map_err(context("rolling back the expected schema's transaction"));
    let schema = result?;
    rolled_back?;
    Ok(schema)
}

/// Applies the ups of `migrations` in a new scratch schema of `tx` and
/// reads it; see [`Backend::expected_schema`].
async fn apply_in_scratch<T: PgTransaction>(
    tx: &mut T,
    migrations: &Migrations,
    table: &tracking::Names,
) -> Result<Schema> {
    let doing = "working out the expected schema in a scratch schema";
    // A name no other check uses at the same time (its transaction's
    // schema is invisible to others until commit, which never comes, but
    // `CREATE SCHEMA` waits on a concurrent one of the same name).
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let scratch = format!("migrate_expected_{:x}_{nanos:x}", std::process::id());
    tx.batch(&format!(
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; CREATE SCHEMA {scratch}"
    ))
    .await
    .map_err(context(doing))?;
    tx.query(
        "SELECT set_config('search_path', $1, true)",
        &[(&scratch, Type::TEXT)],
    )
    .await
    .map_err(context(doing))?;
    let rows = tx
        .query("SELECT pg_current_xact_id()::xid::text::bigint", &[])
        .await
        .map_err(context(doing))?;
    let first_xid: i64 = rows
        .first()
        .and_then(|row| row.try_get(0).ok())
        .ok_or_else(|| Error::database(doing, "the server returned no transaction id"))?;
    for migration in migrations.iter() {
        let (version, name, file) = (migration.version(), migration.name(), migration.file());
        let failed = |failure: Failure| {
            let (line, statement, error) = match failure {
                Failure::Migration(failure) => (
                    failure.line,
                    failure.statement.map(String::from),
                    failure.error.to_string(),
                ),
                Failure::Error(error) => (None, None, error.to_string()),
            };
            unknown(format!(
                "applying the set in a scratch schema, migration {version} ({name}) failed{}: {error}",
                crate::error::location(file, line, statement.as_deref())
            ))
        };
        match migration.script(Direction::Up) {
            Some(Script::Sql { sql, .. }) => {
                for statement in &checked(sql).map_err(failed)? {
                    tx.batch(statement.text)
                        .await
                        .map_err(|error| failed(statement_failure(statement, error)))?;
                }
            }
            Some(Script::Rust(Some(code))) => match tx.run_step(code).await {
                Some(Ok(())) => {}
                Some(Err(StepError::Failed(error))) => {
                    return Err(failed(Failure::of_migration(error)));
                }
                Some(Err(StepError::Database(error))) => {
                    return Err(failed(Failure::of_migration(Box::new(ServerError(error)))));
                }
                Some(Err(StepError::TransactionEnded)) | None => {
                    return Err(failed(Failure::of_migration(
                        "its Rust code ended the transaction, or is not this client's",
                    )));
                }
            },
            // Refused before the transaction began.
            Some(Script::Rust(None)) | None => {}
        }
    }
    let rows = tx
        .query(
            WRITTEN_ELSEWHERE,
            &[(&scratch, Type::TEXT), (&first_xid, Type::INT8)],
        )
        .await
        .map_err(context(doing))?;
    if !rows.is_empty() {
        let found: Vec<String> = rows
            .iter()
            .filter_map(|row| row.try_get::<_, String>(0).ok())
            .collect();
        return Err(unknown(format!(
            "the set creates or alters objects outside the schema it is applied in (schema-qualified names, or `CREATE SCHEMA`): {}",
            found.join(", ")
        )));
    }
    catalog::read(tx, Scope::Only(&scratch), table)
        .await
        .map_err(context("reading the expected schema from the catalog"))
}
