//! Verifying a set by running it: every migration applied in order to an
//! empty in-memory SQLite database, and every down checked to restore the
//! schema from before its up. `embed_migrations!` does this while the crate
//! builds, and turns each problem into a compile error.
//!
//! # What runs
//!
//! The set runs through the same runner as at run time, on a connection with
//! SQLite's defaults as this crate builds it (foreign keys on), so
//! `-- migrate:no-transaction`, `PRAGMA` statements and the foreign key
//! check behave as they will in production. For each migration:
//!
//! 1. its up is applied; a failing statement is a problem naming its file,
//!    line, statement and SQLite's message, and nothing after it is tried;
//! 2. when it is reversible, its down runs and the schema (see
//!    [`schema`](crate::schema)) must equal the schema before its up; then
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
//! is verified, and no expected schema is known. A down that runs but leaves
//! a different schema is still a problem.
//!
//! So `embed_migrations!` embeds the schema only for a set without Rust
//! migrations; for one with them, [`Migrations::check_schema`] works the
//! schema out when called, with the Rust code.

use std::borrow::Cow;
use std::fmt;

use rusqlite::Connection;

use crate::backend::Backend;
use crate::error::{Error, Result as RunResult, failure_message, location};
use crate::migration::{Migration, Migrations};
use crate::report::Direction;
use crate::runner::DEFAULT_TABLE;
use crate::runner::Runner;
use crate::schema::{Schema, SchemaDifference};

/// The outcome of a verification that found no problem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// The schema the whole set produces on an empty database; `None` when
    /// verification ended early after a Rust migration (see the module docs).
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

impl Migrations {
    /// The schema these migrations produce on an empty database: the one
    /// `embed_migrations!` embedded when it verified the set, or else worked
    /// out now by [`verify`] (applying the set, with the code of its Rust
    /// migrations, to an in-memory database: a cost that grows with the
    /// set).
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] when verification finds a problem or stops
    /// after a Rust migration (see the [module docs](crate::verify)).
    pub fn expected_schema(&self) -> RunResult<Cow<'_, Schema>> {
        if let Some(schema) = self.embedded_schema() {
            return Ok(Cow::Borrowed(schema));
        }
        match verify(self) {
            Ok(Verified {
                schema: Some(schema),
                ..
            }) => Ok(Cow::Owned(schema)),
            Ok(Verified { stopped, .. }) => Err(Error::SchemaUnknown {
                reason: stopped
                    .map(|stopped| {
                        format!(
                            "verification stopped at migration {} after Rust migration {}: {}",
                            stopped.version, stopped.after_rust, stopped.message
                        )
                    })
                    .unwrap_or_default()
                    .into(),
            }),
            Err(error) => Err(Error::SchemaUnknown {
                reason: error.to_string().into(),
            }),
        }
    }

    /// How the schema of the database differs from the schema these
    /// migrations produce (drift: a table added or altered by hand, an index
    /// dropped); empty when they agree. The tracking tables and SQLite's own
    /// objects are left out. See [`Runner::check_schema`] to name another
    /// tracking table.
    ///
    /// Compare it with an up-to-date database: pending migrations show as
    /// missing objects. In a set read at run time, a Rust migration that
    /// changes the schema shows as drift too, since its code is not there to
    /// run.
    ///
    /// # Examples
    ///
    /// ```
    /// # use migrate_core::Migrations;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")?;
    /// # let migrations = Migrations::from_folder(dir.path())?;
    /// let mut conn = rusqlite::Connection::open_in_memory()?;
    /// migrations.run(&mut conn)?;
    /// assert!(migrations.check_schema(&mut conn)?.is_empty());
    ///
    /// conn.execute_batch("CREATE INDEX users_email ON users (email)")?;
    /// let drift = migrations.check_schema(&mut conn)?;
    /// assert_eq!(drift[0].to_string(), "index `users_email` is not created by any migration");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::SchemaUnknown`] (see [`expected_schema`](Migrations::expected_schema)),
    /// [`Error::Sqlite`] reading the database's schema,
    /// [`Error::TransactionOpen`], [`Error::InvalidTableName`].
    pub fn check_schema<B: Backend>(&self, conn: &mut B) -> RunResult<Vec<SchemaDifference>> {
        self.runner().check_schema(conn)
    }
}

impl Runner<'_> {
    /// [`Migrations::check_schema`], leaving out this runner's tracking
    /// tables.
    ///
    /// # Errors
    ///
    /// As [`Migrations::check_schema`].
    pub fn check_schema<B: Backend>(&self, conn: &mut B) -> RunResult<Vec<SchemaDifference>> {
        let expected = self.migrations().expected_schema()?;
        let actual = self.session(conn, |conn| {
            let tx = conn.begin(false, self.lock_timeout)?;
            tx.schema(&self.table)
        })?;
        Ok(expected.differences(&actual))
    }
}

/// Applies `migrations` in order to an empty in-memory SQLite database,
/// checking that every down restores the schema; see the module docs.
///
/// Rust migrations run when their code is compiled in, and are taken as
/// changing nothing otherwise.
///
/// # Errors
///
/// [`VerifyError`] with every problem found: up to the first failing up,
/// every down that fails or does not restore the schema.
pub fn verify(migrations: &Migrations) -> Result<Verified, VerifyError> {
    let set = Migrations::__validated(migrations.iter().map(Migration::with_stand_ins).collect());
    let internal = |error: rusqlite::Error| VerifyError {
        problems: vec![VerifyProblem::Internal {
            message: error.to_string(),
        }],
    };
    let mut conn = Connection::open_in_memory().map_err(internal)?;
    let mut before = read_schema(&conn).map_err(internal)?;
    let mut problems = Vec::new();
    let mut after_rust: Option<u64> = None;
    let mut stopped = None;
    for migration in set.iter() {
        let version = migration.version();
        let mut found = set
            .runner()
            .target(version)
            .run(&mut conn)
            .err()
            .map(|error| problem(error, migration, Direction::Up, false));
        let ended = found.is_some();
        let mut after = None;
        // The original's code: the stand-in always has some.
        let runs = migrations.get(version).is_some_and(Migration::is_runnable);
        if found.is_none() {
            match read_schema(&conn) {
                Ok(schema) => after = Some(schema),
                Err(error) => return Err(internal(error)),
            }
            if runs && migration.is_reversible() {
                found = check_down(&set, &mut conn, migration, &before);
            }
        }
        match (found, after_rust) {
            (None, _) => {}
            // What the Rust code did may be what the statement needed.
            (Some(problem @ VerifyProblem::Failed { .. }), Some(rust)) => {
                stopped = Some(Stopped {
                    version,
                    after_rust: rust,
                    message: problem.to_string(),
                });
                break;
            }
            (Some(problem), _) => {
                problems.push(problem);
                if ended {
                    break;
                }
                // Go on from what the up leaves: a fresh database with every
                // migration up to this one applied.
                match fresh(&set, migration) {
                    Ok(fresh) => conn = fresh,
                    Err(problem) => {
                        problems.push(problem);
                        break;
                    }
                }
            }
        }
        if !runs {
            after_rust.get_or_insert(version);
        }
        before = after.unwrap_or(before);
    }
    if problems.is_empty() {
        Ok(Verified {
            schema: stopped.is_none().then_some(before),
            stopped,
        })
    } else {
        Err(VerifyError { problems })
    }
}

/// The schema of `conn` without the tracking tables.
fn read_schema(conn: &Connection) -> rusqlite::Result<Schema> {
    Schema::read(conn, &tracking_tables(DEFAULT_TABLE))
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

/// Runs the down of `migration`, the latest applied, compares the schema with
/// `before` (the schema before its up), and applies the up again. On a
/// problem, the database is left wherever it got to.
fn check_down(
    set: &Migrations,
    conn: &mut Connection,
    migration: &Migration,
    before: &Schema,
) -> Option<VerifyProblem> {
    if let Err(error) = set.runner().rollback(conn, 1) {
        return Some(problem(error, migration, Direction::Down, false));
    }
    let after_down = match read_schema(conn) {
        Ok(schema) => schema,
        Err(error) => {
            return Some(VerifyProblem::Internal {
                message: error.to_string(),
            });
        }
    };
    let differences = before.differences(&after_down);
    if !differences.is_empty() {
        return Some(VerifyProblem::NotRestored {
            version: migration.version(),
            name: migration.name().to_owned(),
            file: migration.down_file().unwrap_or_default().to_owned(),
            differences,
        });
    }
    set.runner()
        .target(migration.version())
        .run(conn)
        .err()
        .map(|error| problem(error, migration, Direction::Up, true))
}

/// A new in-memory database with the migrations of `set` up to `migration`
/// applied; they were applied once already, so a failure is unexpected.
fn fresh(set: &Migrations, migration: &Migration) -> Result<Connection, VerifyProblem> {
    let mut conn = Connection::open_in_memory().map_err(|error| VerifyProblem::Internal {
        message: error.to_string(),
    })?;
    match set.runner().target(migration.version()).run(&mut conn) {
        Ok(_) => Ok(conn),
        Err(error) => Err(problem(error, migration, Direction::Up, false)),
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
            source,
            ..
        } => VerifyProblem::Failed {
            version,
            name,
            file,
            direction,
            again,
            line,
            statement: statement.map(String::from),
            message: failure_message(source.as_ref()),
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
