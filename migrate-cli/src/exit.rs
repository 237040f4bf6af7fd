//! Exit codes, mapped from an error in this one place.

use std::fmt;
use std::process::ExitCode;

use migrate_core::Error;
use migrate_core::folder::FolderError;
use migrate_core::sqlite::SqliteError;

/// Exit code of a command that succeeded.
pub const SUCCESS: u8 = 0;

/// Exit code of a command that failed: a migration failed, the folder is
/// invalid, the database could not be opened or was locked, a version is not
/// in the set, and every other error not listed under [`REFUSED`].
pub const FAILURE: u8 = 1;

/// Exit code of a command line clap could not parse (clap's own).
pub const USAGE: u8 = 2;

/// Exit code of a command refused before it changed anything because of the
/// state of the database: a divergent, missing or out-of-order migration or
/// a version reused by a different migration ([`Error::Verification`]), a
/// dirty migration ([`Error::Dirty`]), one another process is running
/// ([`Error::InProgress`]), a rollback of a migration that cannot be reverted
/// ([`Error::Irreversible`]), a baseline of a database with applied
/// migrations ([`Error::BaselineRefused`]), or a repair of a reused version
/// not accepted ([`Error::RepairRefused`]).
///
/// Also the exit code of `check` and `status --exit-code` when a migration is
/// dirty, failed, divergent, missing, out of order or its version reused.
pub const REFUSED: u8 = 3;

/// Exit code of `check` and `status --exit-code` when migrations are pending
/// and nothing else is wrong.
pub const PENDING: u8 = 4;

/// The exit code for `error`: that of `check` or `status --exit-code` when
/// they found the database not up to date, [`REFUSED`] when a
/// [`migrate_core::Error`] in its chain is a refusal, [`FAILURE`] otherwise.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    if let Some(outdated) = error.chain().find_map(|c| c.downcast_ref::<NotUpToDate>()) {
        return ExitCode::from(outdated.code());
    }
    let refused = error
        .chain()
        .any(|cause| cause.downcast_ref::<Error>().is_some_and(is_refusal));
    ExitCode::from(if refused { REFUSED } else { FAILURE })
}

/// What `check` and `status --exit-code` found when the database is not up
/// to date with the set: exit code [`REFUSED`] if anything needs attention,
/// [`PENDING`] if migrations are only pending.
#[derive(Debug)]
pub(crate) struct NotUpToDate {
    /// How messages name the database.
    pub(crate) database: String,
    /// Pending migrations.
    pub(crate) pending: usize,
    /// Dirty migrations.
    pub(crate) dirty: usize,
    /// Failed attempts.
    pub(crate) failed: usize,
    /// Divergent, missing, out-of-order and reused versions.
    pub(crate) problems: usize,
}

impl NotUpToDate {
    fn code(&self) -> u8 {
        if self.dirty + self.failed + self.problems > 0 {
            REFUSED
        } else {
            PENDING
        }
    }
}

impl fmt::Display for NotUpToDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counts: Vec<String> = [
            (self.problems, "problem", "problems"),
            (self.dirty, "dirty", "dirty"),
            (self.failed, "failed", "failed"),
            (self.pending, "pending", "pending"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
        let what = if self.code() == PENDING {
            "is not up to date"
        } else {
            "needs attention"
        };
        write!(f, "`{}` {what}: {}", self.database, counts.join(", "))
    }
}

impl std::error::Error for NotUpToDate {}

/// An error of the standalone binary, printed in its words (see
/// [`Wording::Folder`](crate::wording::Wording::Folder)); its causes are the
/// error's, for [`exit_code`].
#[derive(Debug)]
pub(crate) struct InFolderWords(pub(crate) anyhow::Error);

impl fmt::Display for InFolderWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::wording::Wording::Folder.apply(&message(&self.0)))
    }
}

impl std::error::Error for InFolderWords {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// The error with its causes, `<what was done>: <why>`, as `{:#}` would
/// print it, but ending at the first error of the runtime, of the folder or
/// of SQLite: the runtime's errors return no source (their messages are
/// complete), and SQLite's own source adds only its result code
/// (`…: no such table: t: Error code 1: SQL logic error`).
pub(crate) fn message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&cause.to_string());
        if cause.is::<Error>()
            || cause.is::<FolderError>()
            || cause.is::<crate::run::LooksLike>()
            || cause.is::<SqliteError>()
            || cause.is::<InFolderWords>()
        {
            break;
        }
    }
    message
}

/// Whether the runtime refused before changing anything because of the
/// state of the database: see [`REFUSED`].
pub(crate) fn is_refusal(error: &Error) -> bool {
    matches!(
        error,
        Error::Verification(_)
            | Error::Dirty { .. }
            | Error::InProgress { .. }
            | Error::Irreversible { .. }
            | Error::BaselineRefused { .. }
            | Error::RepairRefused { .. }
            | Error::AdoptRefused { .. }
            | Error::OtherToolsTable { .. }
    )
}

/// Prints `result`'s error, if any, on standard error with its causes
/// (`error: <what was done>: <why>`, the chain ending at the runtime's own
/// message, which includes its source), and returns its exit code: what `main`
/// returns, for the standalone binary and for an application that mounts
/// [`Db`](crate::Db).
pub fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::from(SUCCESS),
        // The reader went away (`migrate history | head`): not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(SUCCESS),
        Err(error) => {
            let style = crate::output::ERROR;
            anstream::eprintln!("{style}error:{style:#} {}", message(&error));
            exit_code(&error)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
