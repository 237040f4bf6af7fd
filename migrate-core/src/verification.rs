//! What a check of a whole set finds, whichever engine it ran on: SQLite's
//! in-memory check ([`sqlite::verify`](crate::sqlite::verify), the one
//! `embed_migrations!` and `migrate validate` run) and the full check on a
//! PostgreSQL server (`postgres::verify`, feature `postgres`) report the
//! same problems with the same messages.

use std::fmt;

use crate::error::{Error, failure_message, location};
use crate::migration::Migration;
use crate::report::Direction;
use crate::schema::SchemaDifference;

/// Where a check ran, as its messages say it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckedOn {
    /// An empty in-memory SQLite database.
    Sqlite,
    /// A throwaway database on a PostgreSQL server.
    Postgres,
}

impl fmt::Display for CheckedOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckedOn::Sqlite => "on an empty in-memory SQLite database",
            CheckedOn::Postgres => "in a throwaway PostgreSQL database",
        })
    }
}

/// Every problem a check found, in version order (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    checked_on: CheckedOn,
    problems: Vec<VerifyProblem>,
}

impl VerifyError {
    /// `problems` found on `checked_on`; `problems` is not empty.
    pub(crate) fn new(checked_on: CheckedOn, problems: Vec<VerifyProblem>) -> VerifyError {
        debug_assert!(!problems.is_empty());
        VerifyError {
            checked_on,
            problems,
        }
    }

    /// The problems, in version order (at least one).
    pub fn problems(&self) -> &[VerifyProblem] {
        &self.problems
    }

    /// Where the check ran.
    pub fn checked_on(&self) -> CheckedOn {
        self.checked_on
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "{count} problem{} verifying the migrations {}",
            if count == 1 { "" } else { "s" },
            self.checked_on
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyError {}

/// One problem a check found.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyProblem {
    /// A migration's up or down failed. The check of later migrations
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
        /// The engine's message: SQLite's (or its foreign key check's), or
        /// the PostgreSQL server's with its SQLSTATE, detail and hint.
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
    /// The check itself could not run: a database error outside any
    /// migration, a server that does not answer, a database that cannot be
    /// created.
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
    /// A runner's `error` while applying (or reverting, `direction`)
    /// `migration` as a problem; `again` when it was the up applied again
    /// after its down. An error not at one of the migration's statements
    /// (the foreign key check failing on a foreign key that names no key,
    /// say) names the migration's file without a line.
    pub(crate) fn of_error(
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
            other => VerifyProblem::Failed {
                version: migration.version(),
                name: migration.name().to_owned(),
                file: migration.file_of(direction).to_owned(),
                direction,
                again,
                line: None,
                statement: None,
                message: other.to_string(),
            },
        }
    }
}
