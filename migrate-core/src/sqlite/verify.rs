//! Verifying a set by running it: every migration applied in order to an
//! empty in-memory SQLite database, and every down checked to restore the
//! schema from before its up. `embed_migrations!` does this while the crate
//! builds, and turns each problem into a compile error.
//!
//! # What runs
//!
//! Each up and down runs as the runner runs it — in its own transaction
//! with foreign keys off and `PRAGMA foreign_key_check` before the commit,
//! or outside one for `-- migrate:no-transaction` — on a connection with
//! SQLite's defaults as this crate builds it (foreign keys on), so
//! directives, `PRAGMA` statements and the foreign key check behave as they
//! will in production. Only the tracking table is left out. For each
//! migration:
//!
//! 1. its up is applied; a failing statement is a problem naming its file,
//!    line, statement and SQLite's message, and nothing after it is tried;
//! 2. when it is reversible, its down runs and the schema (see
//!    [`Schema`]) must equal the schema before its up; then
//!    the up is applied again, and must succeed.
//!
//! # Rust migrations
//!
//! A Rust migration whose code is compiled in (an embedded set, at run time)
//! runs like any other. One whose code is not — at build time it is not
//! compiled yet, and a set read from a folder has none — is taken as
//! changing no schema (most are data migrations), and verification goes on.
//! Because a later migration may depend on a table such code creates, from
//! the first of them on a failing statement ends verification quietly
//! instead of being a problem: no false error, but nothing after that point
//! is verified. A down that runs but leaves a different schema is still a
//! problem. Either way the schema the set produces is not known, since the
//! Rust code may change it.
//!
//! So `embed_migrations!` embeds the schema only for a set without Rust
//! migrations; for one with them, [`Migrations::check_schema`] works the
//! schema out when called, with the Rust code, and refuses
//! ([`Error::SchemaUnknown`]) for a set read from a folder, which has none.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;

use rusqlite::Connection;

use super::guard::SANDBOX_REFUSAL;
use super::{RustStep, Sqlite, tracking::context, tracking_tables};
use crate::backend::{Backend, LockMode, Purpose, Session, block_on};
use crate::driver::{DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE, commit_migration, execute, failed};
use crate::error::{Error, Result as RunResult, failure_message, location};
use crate::migration::{BoxError, Migration, Migrations, RustCode};
use crate::report::Direction;
use crate::schema::{Schema, SchemaDifference};

/// The outcome of a verification that found no problem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The schema the whole set produces on an empty database; `None` when
    /// a Rust migration's code could not run (see the module docs).
    pub schema: Option<Schema>,
    /// When verification ended early: the migration whose failure ended it,
    /// and the Rust migration before it that may explain the failure.
    pub stopped: Option<Stopped>,
}

/// Where verification ended quietly after a Rust migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The version that failed.
    pub version: u64,
    /// The first Rust migration before it whose code could not run.
    pub after_rust: u64,
    /// The failure, as [`VerifyProblem::Failed`] would give it.
    pub message: String,
}

/// Every problem verification found; see [`verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    problems: Vec<VerifyProblem>,
}

impl VerifyError {
    /// The problems, in version order (at least one).
    pub fn problems(&self) -> &[VerifyProblem] {
        &self.problems
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{count} problem{} verifying the migrations on an empty in-memory SQLite database",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyError {}

/// One problem found by [`verify`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyProblem {
    /// A migration's up or down failed. Verification of later migrations
    /// stopped there (after a failing up) or went on from a fresh database
    /// (after a failing down).
    Failed {
        /// The migration's version.
        version: u64,
        /// The migration's name.
        name: String,
        /// The file that failed.
        file: String,
        /// Up or down.
        direction: Direction,
        /// Whether the up failed when applied again after its down ran.
        again: bool,
        /// 1-based line of the failing statement in `file`, when known.
        line: Option<u32>,
        /// The failing statement, shortened to one line, when known.
        statement: Option<String>,
        /// SQLite's message (or the foreign key check's).
        message: String,
    },
    /// A down ran but the schema differs from the schema before the up.
    NotRestored {
        /// The migration's version.
        version: u64,
        /// The migration's name.
        name: String,
        /// The down's file.
        file: String,
        /// How the schema after the down differs from the schema before the
        /// up (the expected one).
        differences: Vec<SchemaDifference>,
    },
    /// Verification itself could not run (a database error outside any
    /// migration).
    Internal {
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyProblem::Failed {
                version,
                name,
                file,
                direction,
                again,
                line,
                statement,
                message,
            } => {
                let what = match (direction, again) {
                    (Direction::Down, _) => "the down of migration",
                    (Direction::Up, true) => "applied again after its down, migration",
                    (Direction::Up, false) => "migration",
                };
                write!(
                    f,
                    "{what} {version} ({name}) fails{}: {message}",
                    location(file, *line, statement.as_deref())
                )
            }
            VerifyProblem::NotRestored {
                version,
                name,
                file,
                differences,
            } => {
                write!(
                    f,
                    "the down of migration {version} ({name}) in `{file}` does not restore the schema from before its up: "
                )?;
                let described: Vec<String> = differences
                    .iter()
                    .map(|difference| difference.describe("still exists"))
                    .collect();
                f.write_str(&described.join("; "))
            }
            VerifyProblem::Internal { message } => {
                write!(f, "verification could not run: {message}")
            }
        }
    }
}

impl VerifyProblem {
    /// The problem as `embed_migrations!` reports it in a compile error and
    /// `migrate validate` prints it: naming the folder (as the user wrote
    /// it), and when it [needs the application's setup](Self::needs_application_setup),
    /// how to turn the check off.
    pub fn in_folder(&self, folder: &Path) -> String {
        let folder = folder.display();
        let mut message =
            format!("checking `{folder}` on an empty in-memory SQLite database: {self}");
        let turn_off = format!(
            "turn it off with `embed_migrations!(\"{folder}\", verify = false)` (`migrate validate --no-verify`)"
        );
        if self.needs_application_setup() {
            message.push_str(&format!(
                "; if the application registers it on its connection (or loads an extension), the check cannot: {turn_off}"
            ));
        } else if self.opens_a_file() {
            message.push_str(&format!(
                "; a migration that must open a file cannot be checked while the crate builds: {turn_off}"
            ));
        }
        message
    }

    /// Whether the failure is a statement the check refused because it
    /// would open a file on the build machine (`ATTACH`, `VACUUM INTO`,
    /// `load_extension()`; see the module docs).
    pub fn opens_a_file(&self) -> bool {
        matches!(self, VerifyProblem::Failed { message, .. } if message.ends_with(SANDBOX_REFUSAL))
    }

    /// Whether the failure names something only the application's connection
    /// can have: a function, collation or virtual table module it registers,
    /// or one an extension it loads provides (SQLite's "no such function",
    /// "no such collation sequence", "no such module").
    pub fn needs_application_setup(&self) -> bool {
        match self {
            VerifyProblem::Failed { message, .. } => {
                ["no such function", "no such module", "no such collation"]
                    .iter()
                    .any(|needle| message.contains(needle))
            }
            _ => false,
        }
    }
}

/// The schema `migrations` produce on an empty SQLite database: the one
/// `embed_migrations!` embedded when it verified the set, or else worked
/// out now by [`verify`] (applying the set, with the code of its Rust
/// migrations, to an in-memory database: a cost that grows with the
/// set).
///
/// # Errors
///
/// [`Error::SchemaUnknown`] when verification finds a problem, or the set
/// has a Rust migration without its code (read from a folder; see the
/// [module docs](mod@crate::sqlite::verify)).
pub fn expected_schema(migrations: &Migrations) -> RunResult<Cow<'_, Schema>> {
    if let Some(schema) = migrations.embedded_schema() {
        return Ok(Cow::Borrowed(schema));
    }
    match verify(migrations) {
        Ok(Verified {
            schema: Some(schema),
            ..
        }) => Ok(Cow::Owned(schema)),
        Ok(Verified { stopped, .. }) => {
            let rust = migrations.iter().find(|m| !m.is_runnable());
            let mut reason = match rust {
                Some(rust) => format!(
                    "Rust migration {} (`{}`) may change the schema, and its code is not compiled into this program: check the schema from the application that embeds the set",
                    rust.version(),
                    rust.file()
                ),
                None => String::new(),
            };
            if let Some(stopped) = stopped {
                reason.push_str(&format!(
                    "; applying the set without it stopped at migration {}: {}",
                    stopped.version, stopped.message
                ));
            }
            Err(Error::SchemaUnknown {
                reason: reason.into(),
            })
        }
        Err(error) => Err(Error::SchemaUnknown {
            reason: error.to_string().into(),
        }),
    }
}

/// Applies `migrations` in order to an empty in-memory SQLite database,
/// checking that every down restores the schema; see the module docs.
///
/// Rust migrations run when their code is compiled in, and are taken as
/// changing nothing otherwise.
///
/// # Examples
///
/// ```
/// # use migrate_core::Migrations;
/// # use migrate_core::sqlite::verify;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("0001_users.up.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY);\nCREATE TABLE sessions (user_id INTEGER);")?;
/// # std::fs::write(dir.path().join("0001_users.down.sql"), "DROP TABLE users;")?;
/// let migrations = Migrations::from_folder(dir.path())?;
/// let error = verify(&migrations).unwrap_err();
/// assert_eq!(
///     error.problems()[0].to_string(),
///     "the down of migration 1 (users) in `0001_users.down.sql` does not restore the schema \
///      from before its up: table `sessions` still exists"
/// );
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// [`VerifyError`] with every problem found: up to the first failing up,
/// every down that fails or does not restore the schema.
pub fn verify(migrations: &Migrations) -> Result<Verified, VerifyError> {
    /// Stands in for Rust code that is not compiled in.
    fn nothing(_: &rusqlite::Transaction<'_>) -> Result<(), BoxError> {
        Ok(())
    }
    const NOTHING: RustStep = nothing;
    let set = Migrations::__validated(
        migrations
            .iter()
            .map(|m| m.with_stand_ins(RustCode::new(&NOTHING)))
            .collect(),
    );
    let mut verification = Verification {
        set: &set,
        originals: migrations,
        problems: Vec::new(),
        stopped: None,
    };
    match verification.run() {
        Ok(schema) if verification.problems.is_empty() => Ok(Verified {
            schema,
            stopped: verification.stopped,
        }),
        Ok(_) => Err(VerifyError {
            problems: verification.problems,
        }),
        Err(error) => Err(VerifyError {
            problems: vec![internal(error)],
        }),
    }
}

/// The state of one verification.
struct Verification<'a> {
    /// The set with stand-ins for Rust code that is not compiled in.
    set: &'a Migrations,
    /// The set as given, to tell which Rust migrations really run.
    originals: &'a Migrations,
    problems: Vec<VerifyProblem>,
    stopped: Option<Stopped>,
}

/// Where one pass over a database ended.
enum Pass {
    /// At the end of the set, or where verification ends: the schema, when
    /// it is known.
    Done(Option<Schema>),
    /// A down's problem at this index: go on from a fresh database with the
    /// ups up to it applied.
    Fresh(usize),
}

/// The session verification runs in: the runner's rules for migration code,
/// and none may touch a file.
const SESSION: Session<'static> = Session {
    table: DEFAULT_TABLE,
    lock_timeout: DEFAULT_LOCK_TIMEOUT,
    purpose: Purpose::Sandbox,
};

impl Verification<'_> {
    /// Applies every migration in turn, checking the downs, on as many
    /// in-memory databases as down problems need; returns the final schema
    /// unless verification ended early. An `Err` is a database error
    /// outside any migration.
    fn run(&mut self) -> RunResult<Option<Schema>> {
        let mut start = 0;
        loop {
            // Foreign keys stay off between migrations: the runner turns them
            // off around each migration's transaction and back on after it;
            // on a connection that runs nothing else, off between migrations
            // is the same, without two `PRAGMA`s per migration that each cost
            // a pass over the schema.
            let opened = open_in_memory().map_err(context("opening an in-memory database"));
            let mut conn = match opened {
                Ok(conn) => conn,
                // A later database: keep what the earlier ones found.
                Err(error) if start > 0 => {
                    self.problems.push(internal(error));
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            let mut backend = match Sqlite::open(&mut conn, &SESSION, true) {
                Ok(backend) => backend,
                Err(error) if start > 0 => {
                    self.problems.push(internal(error));
                    return Ok(None);
                }
                Err(error) => return Err(error),
            };
            // A new database gets the ups before `start` again; they were
            // applied once already, so a failure is unexpected.
            for migration in &self.set.as_slice()[..start] {
                if let Some(problem) = self.step(&mut backend, migration, Direction::Up, false) {
                    self.problems.push(problem);
                    return Ok(None);
                }
            }
            match self.pass(&mut backend, start)? {
                Pass::Done(schema) => return Ok(schema),
                Pass::Fresh(index) => start = index + 1,
            }
        }
    }

    /// Applies the migrations from `start` on, checking the downs.
    fn pass(&mut self, backend: &mut Sqlite<'_>, start: usize) -> RunResult<Pass> {
        let set = self.set.as_slice();
        // A Rust migration whose code did not run, once one has been passed.
        let mut after_rust: Option<u64> = self.set.as_slice()[..start]
            .iter()
            .map(Migration::version)
            .find(|&version| !self.runs(version));
        for (index, migration) in set.iter().enumerate().skip(start) {
            let version = migration.version();
            let runs = self.runs(version);
            // The schema before the up, read only when a down will be
            // compared with it.
            let before = if runs && migration.is_reversible() {
                Some(schema_of(backend)?)
            } else {
                None
            };
            let mut found = self.step(backend, migration, Direction::Up, false);
            let ended = found.is_some();
            if let (None, Some(before)) = (&found, &before) {
                found = self.check_down(backend, migration, before)?;
            }
            match (found, after_rust) {
                (None, _) => {}
                // What the Rust code would have done may be what the
                // statement needed.
                (Some(problem @ VerifyProblem::Failed { .. }), Some(rust)) => {
                    self.stopped = Some(Stopped {
                        version,
                        after_rust: rust,
                        message: problem.to_string(),
                    });
                    return Ok(Pass::Done(None));
                }
                (Some(problem), _) => {
                    self.problems.push(problem);
                    if ended {
                        return Ok(Pass::Done(None));
                    }
                    // Go on from what the ups alone leave.
                    return Ok(Pass::Fresh(index));
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
    /// tracking table: in a transaction with foreign keys checked before the
    /// commit, or outside one for `-- migrate:no-transaction`.
    fn step(
        &mut self,
        backend: &mut Sqlite<'_>,
        migration: &Migration,
        direction: Direction,
        again: bool,
    ) -> Option<VerifyProblem> {
        // The SQLite backend's futures are ready at once.
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
            .map(|error| problem(error, migration, direction, again))
    }

    /// Runs the down of `migration`, just applied, compares the schema with
    /// `before` (the schema before its up), and applies the up again. On a
    /// problem, the database is left wherever it got to.
    fn check_down(
        &mut self,
        backend: &mut Sqlite<'_>,
        migration: &Migration,
        before: &Schema,
    ) -> RunResult<Option<VerifyProblem>> {
        if let Some(problem) = self.step(backend, migration, Direction::Down, false) {
            return Ok(Some(problem));
        }
        if before
            .is_exactly(backend.conn, &tracking_tables(DEFAULT_TABLE))
            .map_err(context("reading the schema"))?
        {
            return Ok(self.step(backend, migration, Direction::Up, true));
        }
        let differences = before.differences(&schema_of(backend)?);
        if !differences.is_empty() {
            return Ok(Some(VerifyProblem::NotRestored {
                version: migration.version(),
                name: migration.name().to_owned(),
                file: migration.down_file().unwrap_or_default().to_owned(),
                differences,
            }));
        }
        Ok(self.step(backend, migration, Direction::Up, true))
    }
}

/// The schema of the database verification runs on, without the tracking
/// tables.
fn schema_of(backend: &Sqlite<'_>) -> RunResult<Schema> {
    Schema::read_excluding(backend.conn, &tracking_tables(DEFAULT_TABLE))
        .map_err(context("reading the schema"))
}

/// An empty in-memory database to verify on, whose temporary tables and
/// indexes (and `VACUUM`'s copy) stay in memory too
/// (<https://www.sqlite.org/pragma.html#pragma_temp_store>): no file is
/// written during a build, not even a temporary one.
fn open_in_memory() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// A database error outside any migration as a problem.
fn internal(error: impl fmt::Display) -> VerifyProblem {
    VerifyProblem::Internal {
        message: error.to_string(),
    }
}

/// A runner's error while applying (or reverting) `migration` as a problem.
fn problem(
    error: Error,
    migration: &Migration,
    direction: Direction,
    again: bool,
) -> VerifyProblem {
    match error {
        Error::MigrationFailed {
            version,
            name,
            file,
            direction,
            line,
            statement,
            error,
            ..
        } => VerifyProblem::Failed {
            version,
            name,
            file,
            direction,
            again,
            line,
            statement: statement.map(String::from),
            message: failure_message(error.as_ref()),
        },
        // Not at a statement of the migration, but because of it: the
        // foreign key check fails on a foreign key that names no key, say.
        other => VerifyProblem::Failed {
            version: migration.version(),
            name: migration.name().to_owned(),
            file: match direction {
                Direction::Up => migration.file(),
                Direction::Down => migration.down_file().unwrap_or_default(),
            }
            .to_owned(),
            direction,
            again,
            line: None,
            statement: None,
            message: other.to_string(),
        },
    }
}
