//! The `migrate` command line, and the same commands mounted in an
//! application's own command line.
//!
//! Two ways in, one implementation:
//!
//! - the `migrate` binary ([`Cli`]) reads a migrations folder at run time
//!   with [`Migrations::from_folder`](migrate_core::Migrations::from_folder)
//!   — the grammar and checks of `embed_migrations!`, so the same problems
//!   with the same words — and opens the SQLite or PostgreSQL database
//!   named by `--database` or `DATABASE_URL` (PostgreSQL with the blocking
//!   `postgres` client, without TLS; `--schema` and `--lock-scope`
//!   ([`PostgresOptions`]) set its backend);
//! - an application adds [`Db`] to its own clap parser (`myapp db status`)
//!   and runs it over its embedded `MIGRATIONS` and its own connection (any
//!   [`Connection`]: SQLite's, PostgreSQL's blocking client, or one wrapped
//!   with its settings), so its Rust migrations can run too.
//!
//! The database commands are `up`, `down`, `redo`, `status`, `check`,
//! `history`, `baseline`, `repair` and `schema` ([`DbCommand`]); the binary
//! adds `new` and `validate`, which work on the folder, and `completions`
//! and `man`. Each command takes the options that mean something to it:
//! `--json`/`--format` ([`Output`]), `--table` ([`Tracking`]) on the
//! database commands, `--log-file` ([`Logging`]) on those that change the
//! database, and in the binary `--database`, `--dir` and `--config`
//! ([`Source`]). [`report`] prints an error and maps it to the exit codes
//! [`SUCCESS`], [`FAILURE`], [`USAGE`], [`REFUSED`] and [`PENDING`].
//!
//! # Examples
//!
//! ```
//! use clap::{Parser, Subcommand};
//!
//! #[derive(Parser)]
//! struct App {
//!     #[command(subcommand)]
//!     command: AppCommand,
//! }
//!
//! #[derive(Subcommand)]
//! enum AppCommand {
//!     /// Database migrations
//!     Db(migrate_cli::Db),
//! }
//!
//! # fn main() -> anyhow::Result<()> {
//! # let dir = tempfile::tempdir()?;
//! # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER);")?;
//! # let migrations = migrate_core::Migrations::from_folder(dir.path())?;
//! let mut conn = migrate_core::sqlite::Connection::open_in_memory()?;
//! let AppCommand::Db(db) = App::try_parse_from(["myapp", "db", "up"])?.command;
//! let mut out = anstream::StripStream::new(Vec::new());
//! db.run_to(&migrations, &mut conn, &mut out)?;
//! assert!(String::from_utf8(out.into_inner())?.starts_with("applied"));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod args;
mod commands;
mod connection;
mod database;
mod exit;
mod log;
mod new;
mod output;
mod run;
mod settings;
mod time;
mod wording;

pub use args::{
    AdoptArgs, BaselineArgs, CheckArgs, Cli, Command, CompletionsArgs, Db, DbCommand, DownArgs,
    Embedded, Folder, Format, HistoryArgs, LockScope, Logging, ManArgs, NewArgs, Options, Output,
    PostgresOptions, RedoArgs, RepairArgs, SchemaArgs, Source, StatusArgs, Tracking, UpArgs,
    ValidateArgs,
};
pub use connection::Connection;
pub use exit::{FAILURE, PENDING, REFUSED, SUCCESS, USAGE, exit_code, report};
