//! Verifying a PostgreSQL set by running it on a real server: every
//! migration applied in order in a throwaway database, and every down
//! checked to restore the schema from before its up. `embed_migrations!(…,
//! engine = "postgres")` does this while the crate builds when
//! `MIGRATE_VERIFY_DATABASE_URL` names a server, and turns each problem into
//! a compile error; the SQLite check ([`crate::sqlite::verify()`]) does the
//! same in memory.
//!
//! # What runs
//!
//! A database of its own is created on the server (`migrate_verify_<pid>_<time>`,
//! so the role needs `CREATEDB`) and dropped afterwards, also after a
//! problem or an error (`DROP DATABASE … WITH (FORCE)`, PostgreSQL 13 or
//! later). Each up and down runs as the runner runs it: in its own
//! transaction, statement by statement, or outside one for `--
//! migrate:no-transaction`; no tracking rows are written. For each
//! migration:
//!
//! 1. its up is applied; a failing statement is a problem naming its file,
//!    line, statement and the server's message, and nothing after it is
//!    tried;
//! 2. when it is reversible, its down runs and the schema (see
//!    [`postgres::schema`](super::schema)) must equal the schema before its
//!    up (a `'now'::timestamp` or `'today'::date` in a view or default,
//!    which PostgreSQL folds to the time it ran, compares as `'now'`); then
//!    the up is applied again, and must succeed. The down, the comparison
//!    and the up again run in one transaction that is then rolled back
//!    (PostgreSQL's DDL is transactional), so the database is as the up
//!    left it whatever was found, and verification goes on in it. Only
//!    where the up or the down runs outside a transaction are they
//!    committed, and after such a down's problem verification goes on in a
//!    new database with the ups so far.
//!
//! # Rust migrations
//!
//! As on SQLite: a Rust migration whose code is not compiled in (at build
//! time it is not compiled yet) is taken as changing no schema; from the
//! first of them on, a failing statement ends verification quietly, and the
//! schema the set produces is not known (nothing is embedded).

use std::str::FromStr;

use postgres::{Client, Config, NoTls};

use crate::backend::{Backend, Database, LockMode, Purpose, Session, Transaction, block_on};
use crate::driver::{DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE, commit_migration, execute, failed};
use crate::migration::{BoxError, Migration, Migrations, RustCode};
use crate::report::Direction;
use crate::schema::Schema;
use crate::verification::CheckedOn;
pub use crate::verification::{VerifyError, VerifyProblem};

use super::PostgresStep;
use super::backend::PgBackend;
use super::schema::{differences, without_clock_constants};

/// The outcome of a verification that found no problem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The schema the whole set produces on an empty database; `None` when
    /// a Rust migration's code could not run (see the module docs).
    pub schema: Option<Schema>,
    /// When verification ended early after a Rust migration: the version
    /// whose failure ended it, the Rust migration before it, and the
    /// failure.
    pub stopped: Option<(u64, u64, String)>,
}

impl VerifyProblem {
    /// The problem as `embed_migrations!` reports it in a compile error:
    /// naming the folder (as the user wrote it); when verification could
    /// not run, the server (`server`, as [`shown_url`] gives it) and how to
    /// do without it.
    pub fn in_folder_on_server(&self, folder: &std::path::Path, server: &str) -> String {
        let folder = folder.display();
        match self {
            VerifyProblem::Internal { .. } => format!(
                "checking `{folder}` in a throwaway database on the PostgreSQL server of MIGRATE_VERIFY_DATABASE_URL ({server}): {self}; unset MIGRATE_VERIFY_DATABASE_URL to check only the syntax (feature `postgres-parse`)"
            ),
            _ => format!(
                "checking `{folder}` in a throwaway database on the PostgreSQL server of MIGRATE_VERIFY_DATABASE_URL: {self}"
            ),
        }
    }
}

/// `url` without its password, for messages.
pub fn shown_url(url: &str) -> String {
    match Config::from_str(url) {
        Ok(config) => {
            let user = config.get_user().unwrap_or("");
            let host = config
                .get_hosts()
                .first()
                .map(|host| match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .unwrap_or_default();
            let port = config.get_ports().first().copied().unwrap_or(5432);
            format!("postgres://{user}@{host}:{port}")
        }
        Err(_) => "an unreadable URL".to_owned(),
    }
}

/// Applies `migrations` in order in a throwaway database on the server at
/// `url` (a `postgres://` URL or a `key=value` string, as the `postgres`
/// client takes it), checking that every down restores the schema; see the
/// module docs.
///
/// # Errors
///
/// [`VerifyError`] with every problem found: up to the first failing up,
/// every down that fails or does not restore the schema;
/// [`VerifyProblem::Internal`] when the server cannot be reached or the
/// database cannot be created.
pub fn verify(url: &str, migrations: &Migrations) -> Result<Verified, VerifyError> {
    /// Stands in for Rust code that is not compiled in.
    fn nothing(_: &mut postgres::Transaction<'_>) -> Result<(), BoxError> {
        Ok(())
    }
    const NOTHING: PostgresStep = nothing;
    let internal = |message: String| {
        VerifyError::new(
            CheckedOn::Postgres,
            vec![VerifyProblem::Internal { message }],
        )
    };
    let config = Config::from_str(url)
        .map_err(|error| internal(format!("reading the server's URL: {error}")))?;
    let set = Migrations::__validated(
        migrations
            .iter()
            .map(|m| m.with_stand_ins(RustCode::new(&NOTHING)))
            .collect(),
    );
    let mut verification = Verification {
        config,
        set: &set,
        originals: migrations,
        problems: Vec::new(),
        stopped: None,
        since: None,
    };
    match verification.run() {
        Ok(schema) if verification.problems.is_empty() => Ok(Verified {
            schema,
            stopped: verification.stopped,
        }),
        Ok(_) => Err(VerifyError::new(CheckedOn::Postgres, verification.problems)),
        Err(error) => {
            let mut problems = verification.problems;
            problems.push(VerifyProblem::Internal { message: error });
            Err(VerifyError::new(CheckedOn::Postgres, problems))
        }
    }
}

/// A database of its own on the server, dropped with the value.
struct Throwaway {
    admin: Client,
    name: String,
}

impl Throwaway {
    fn create(config: &Config) -> Result<(Throwaway, Client), String> {
        let mut admin = config
            .connect(NoTls)
            .map_err(|error| format!("connecting to the server: {error}"))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let name = format!("migrate_verify_{}_{nanos:x}", std::process::id());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|error| {
                format!(
                    "creating the throwaway database `{name}` (the role needs CREATEDB): {}",
                    super::ServerError(error)
                )
            })?;
        // From here on, the value drops the database.
        let throwaway = Throwaway { admin, name };
        let mut own = config.clone();
        own.dbname(&throwaway.name);
        let client = own.connect(NoTls).map_err(|error| {
            format!(
                "connecting to the throwaway database `{}`: {error}",
                throwaway.name
            )
        })?;
        Ok((throwaway, client))
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = self.admin.batch_execute(&sql) {
            tracing::error!(%error, database = %self.name, "could not drop the throwaway database");
        }
    }
}

/// The state of one verification.
struct Verification<'a> {
    config: Config,
    /// The set with stand-ins for Rust code that is not compiled in.
    set: &'a Migrations,
    /// The set as given, to tell which Rust migrations really run.
    originals: &'a Migrations,
    problems: Vec<VerifyProblem>,
    stopped: Option<(u64, u64, String)>,
    /// The server's `localtimestamp` when verification began
    /// (`YYYY-MM-DD HH:MM:SS`): clock constants folded from then on are
    /// `'now'` when a down's schema is compared (see
    /// [`without_clock_constants`]).
    since: Option<String>,
}

/// Where one pass over a database ended.
enum Pass {
    /// At the end of the set, or where verification ends: the schema, when
    /// it is known.
    Done(Option<Schema>),
    /// A down's problem at this index: go on in a new database with the ups
    /// up to it applied.
    Fresh(usize),
}

/// The session verification runs in.
const SESSION: Session<'static> = Session {
    table: DEFAULT_TABLE,
    lock_timeout: DEFAULT_LOCK_TIMEOUT,
    purpose: Purpose::Migrate,
};

type Pg<'c> = PgBackend<'c, Client>;

impl Verification<'_> {
    /// Applies every migration in turn, checking the downs, in as many
    /// throwaway databases as down problems need; the final schema unless
    /// verification ended early. An `Err` is an error outside any
    /// migration.
    fn run(&mut self) -> Result<Option<Schema>, String> {
        let mut start = 0;
        loop {
            let (throwaway, mut client) = Throwaway::create(&self.config)?;
            if self.since.is_none() {
                let row = client
                    .query_one(
                        "SELECT to_char(localtimestamp, 'YYYY-MM-DD HH24:MI:SS')",
                        &[],
                    )
                    .map_err(|error| format!("reading the server's clock: {error}"))?;
                self.since = Some(row.get(0));
            }
            let result = (|| -> Result<Pass, String> {
                let mut backend = block_on(client.open(&SESSION))
                    .map_err(|error| format!("opening the throwaway database: {error}"))?;
                // The ups before `start` were applied once already.
                for migration in &self.set.as_slice()[..start] {
                    if let Some(problem) = self.step(&mut backend, migration, Direction::Up, false)
                    {
                        self.problems.push(problem);
                        return Ok(Pass::Done(None));
                    }
                }
                let pass = self.pass(&mut backend, start);
                let closed = block_on(backend.close());
                let pass = pass?;
                closed.map_err(|error| error.to_string())?;
                Ok(pass)
            })();
            drop(client);
            drop(throwaway);
            match result? {
                Pass::Done(schema) => return Ok(schema),
                Pass::Fresh(index) => start = index + 1,
            }
        }
    }

    /// Applies the migrations from `start` on, checking the downs.
    fn pass(&mut self, backend: &mut Pg<'_>, start: usize) -> Result<Pass, String> {
        let set = self.set.as_slice();
        let mut after_rust: Option<u64> = set[..start]
            .iter()
            .map(Migration::version)
            .find(|&version| !self.runs(version));
        for (index, migration) in set.iter().enumerate().skip(start) {
            let version = migration.version();
            let runs = self.runs(version);
            let before = if runs && migration.is_reversible() {
                Some(schema_of(backend)?)
            } else {
                None
            };
            let mut found = self.step(backend, migration, Direction::Up, false);
            let ended = found.is_some();
            // Whether the database is as the up left it after the down's check.
            let mut in_place = true;
            if let (None, Some(before)) = (&found, &before) {
                if migration.runs_outside(Direction::Up) || migration.runs_outside(Direction::Down)
                {
                    found = self.check_down(backend, migration, before)?;
                    in_place = false;
                } else {
                    found = self.check_down_rolled_back(backend, migration, before)?;
                }
            }
            match (found, after_rust) {
                (None, _) => {}
                (Some(problem @ VerifyProblem::Failed { .. }), Some(rust)) => {
                    self.stopped = Some((version, rust, problem.to_string()));
                    return Ok(Pass::Done(None));
                }
                (Some(problem), _) => {
                    self.problems.push(problem);
                    if ended {
                        return Ok(Pass::Done(None));
                    }
                    if !in_place {
                        return Ok(Pass::Fresh(index));
                    }
                }
            }
            if !runs {
                after_rust.get_or_insert(version);
            }
        }
        if after_rust.is_some() {
            return Ok(Pass::Done(None));
        }
        Ok(Pass::Done(Some(schema_of(backend)?)))
    }

    /// Whether the migration of `version` really runs: SQL, or Rust whose
    /// code is compiled in.
    fn runs(&self, version: u64) -> bool {
        self.originals
            .get(version)
            .is_some_and(Migration::is_runnable)
    }

    /// Runs the up or down of `migration` as the runner does, without the
    /// tracking table.
    fn step(
        &mut self,
        backend: &mut Pg<'_>,
        migration: &Migration,
        direction: Direction,
        again: bool,
    ) -> Option<VerifyProblem> {
        let result = block_on(async {
            if migration.runs_outside(direction) {
                backend
                    .execute_outside(migration, direction)
                    .await
                    .map_err(|failure| failed(migration, direction, failure, true))
            } else {
                let mut tx = backend.begin(LockMode::Write).await?;
                execute(&mut tx, migration, direction).await?;
                commit_migration(tx, migration).await
            }
        });
        result
            .err()
            .map(|error| VerifyProblem::of_error(error, migration, direction, again))
    }

    /// [`check_down`](Self::check_down) in one transaction, rolled back
    /// afterwards whatever was found: the database is then as the up of
    /// `migration` left it. An `Err` is an error outside the migration.
    fn check_down_rolled_back(
        &mut self,
        backend: &mut Pg<'_>,
        migration: &Migration,
        before: &Schema,
    ) -> Result<Option<VerifyProblem>, String> {
        block_on(async {
            // Dropped at the end without a commit: rolled back.
            let mut tx = backend
                .begin(LockMode::Write)
                .await
                .map_err(|error| error.to_string())?;
            if let Err(error) = execute(&mut tx, migration, Direction::Down).await {
                return Ok(Some(VerifyProblem::of_error(
                    error,
                    migration,
                    Direction::Down,
                    false,
                )));
            }
            let after = tx.schema().await.map_err(|error| error.to_string())?;
            if let Some(problem) = self.not_restored(migration, before, &after) {
                return Ok(Some(problem));
            }
            Ok(execute(&mut tx, migration, Direction::Up)
                .await
                .err()
                .map(|error| VerifyProblem::of_error(error, migration, Direction::Up, true)))
        })
    }

    /// [`VerifyProblem::NotRestored`] when `after` the down of `migration`
    /// differs from `before` its up.
    fn not_restored(
        &self,
        migration: &Migration,
        before: &Schema,
        after: &Schema,
    ) -> Option<VerifyProblem> {
        let found = match &self.since {
            Some(since) => differences(
                &without_clock_constants(before, since),
                &without_clock_constants(after, since),
            ),
            None => differences(before, after),
        };
        (!found.is_empty()).then(|| VerifyProblem::NotRestored {
            version: migration.version(),
            name: migration.name().to_owned(),
            file: migration.down_file().unwrap_or_default().to_owned(),
            differences: found,
        })
    }

    /// Runs the down of `migration`, just applied, compares the schema with
    /// `before`, and applies the up again, each committed.
    fn check_down(
        &mut self,
        backend: &mut Pg<'_>,
        migration: &Migration,
        before: &Schema,
    ) -> Result<Option<VerifyProblem>, String> {
        if let Some(problem) = self.step(backend, migration, Direction::Down, false) {
            return Ok(Some(problem));
        }
        let after = schema_of(backend)?;
        if let Some(problem) = self.not_restored(migration, before, &after) {
            return Ok(Some(problem));
        }
        Ok(self.step(backend, migration, Direction::Up, true))
    }
}

/// The schema of the throwaway database, without the tracking tables.
fn schema_of(backend: &mut Pg<'_>) -> Result<Schema, String> {
    block_on(async { backend.begin(LockMode::Read).await?.schema().await })
        .map_err(|error| error.to_string())
}
