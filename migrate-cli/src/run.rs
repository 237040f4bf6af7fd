//! From parsed arguments to a handler: the standalone binary reads the
//! folder and opens the database, an application passes its embedded set
//! and its connection; both then run the same handlers.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use migrate_core::sqlite::Connection;
use migrate_core::{Migrations, Runner};

use crate::args::{Cli, Command, Db, DbCommand, Options};
use crate::commands;
use crate::database;
use crate::log::Log;

/// What a database command works on, and where it writes.
pub(crate) struct Session<'a> {
    /// The set: read from the folder, or embedded in the application.
    pub(crate) migrations: &'a Migrations,
    /// The database.
    pub(crate) conn: &'a mut Connection,
    /// How messages name the database: its file, or `the database`.
    pub(crate) database: String,
    /// `--json`, `--log-file`, `--table`.
    pub(crate) options: &'a Options,
    /// The log file, if any.
    pub(crate) log: Log,
    /// Standard output, or a buffer in tests.
    pub(crate) out: &'a mut dyn Write,
}

impl<'a> Session<'a> {
    /// A runner on the set with `--table`.
    pub(crate) fn runner(&self) -> Runner<'a> {
        self.migrations.runner().table(self.options.table.as_str())
    }

    /// Runs one database command.
    fn run(mut self, command: &DbCommand) -> Result<()> {
        match command {
            DbCommand::Up(args) => commands::up(&mut self, args),
            DbCommand::Down(args) => commands::down(&mut self, args),
            DbCommand::Redo => commands::redo(&mut self),
            DbCommand::Status => commands::status(&mut self),
            DbCommand::History => commands::history(&mut self),
            DbCommand::Baseline(args) => commands::baseline(&mut self, args),
            DbCommand::Repair(args) => commands::repair(&mut self, args),
            DbCommand::Schema(args) => commands::schema(&mut self, args),
        }
    }
}

/// Runs a database command over `migrations` and `conn`, writing to `out`;
/// messages name the database `shown_as`, or else by its file.
fn run_db(
    command: &DbCommand,
    options: &Options,
    migrations: &Migrations,
    conn: &mut Connection,
    shown_as: Option<&Path>,
    out: &mut dyn Write,
) -> Result<()> {
    let database = match (shown_as, conn.path()) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(path)) if !path.is_empty() => path.to_owned(),
        _ => "the database".to_owned(),
    };
    let log = Log::open(options.log_file.as_deref(), &database)?;
    Session {
        migrations,
        conn,
        database,
        options,
        log,
        out,
    }
    .run(command)
}

impl DbCommand {
    /// Whether the command may create the database file: only `up` and
    /// `baseline` write to a database that has nothing yet.
    fn creates_database(&self) -> bool {
        matches!(self, DbCommand::Up(_) | DbCommand::Baseline(_))
    }
}

impl Cli {
    /// Runs the command, printing to standard output (colours only on a
    /// terminal, and not with `NO_COLOR`).
    ///
    /// # Errors
    ///
    /// Whatever the command failed with, naming the folder, file or
    /// database; [`exit_code`](crate::exit_code) maps it to an exit code.
    pub fn run(&self) -> Result<()> {
        self.run_to(&mut anstream::stdout().lock())
    }

    /// Runs the command, printing to `out`: text with ANSI styles, so wrap a
    /// plain writer in [`anstream::AutoStream`] or [`anstream::StripStream`].
    ///
    /// # Errors
    ///
    /// As [`Cli::run`].
    pub fn run_to(&self, out: &mut dyn Write) -> Result<()> {
        match &self.command {
            Command::New(args) => commands::new(&self.dir, args, &self.options, out),
            Command::Validate(args) => commands::validate(&self.dir, args, &self.options, out),
            Command::Db(command) => {
                let migrations = read_folder(&self.dir)?;
                let path = database::path(self.database.as_deref())?;
                let mut conn = database::open(&path, command.creates_database())?;
                run_db(
                    command,
                    &self.options,
                    &migrations,
                    &mut conn,
                    Some(&path),
                    out,
                )
            }
        }
    }
}

/// Reads the migrations folder with the grammar and checks of
/// `embed_migrations!`.
///
/// # Errors
///
/// Every problem in the folder, each naming its file.
pub(crate) fn read_folder(dir: &Path) -> Result<Migrations> {
    // The error names the folder, or the file of each problem.
    Ok(Migrations::from_folder(dir)?)
}

impl Db {
    /// Runs the command over the application's `migrations` (usually its
    /// embedded `MIGRATIONS`, whose Rust migrations can run) and its
    /// connection, printing to standard output.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use clap::Parser;
    /// # #[derive(Parser)]
    /// # struct App { #[command(subcommand)] command: Command }
    /// # #[derive(clap::Subcommand)]
    /// # enum Command { Db(migrate_cli::Db) }
    /// # fn main() -> std::process::ExitCode {
    /// # let migrations = migrate_core::Migrations::from_folder("migrations").unwrap();
    /// let Command::Db(db) = App::parse().command;
    /// let result = migrate_core::sqlite::Connection::open("app.db")
    ///     .map_err(anyhow::Error::from)
    ///     .and_then(|mut conn| db.run(&migrations, &mut conn));
    /// migrate_cli::report(result)
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Cli::run`]; [`report`](crate::report) prints it and gives the
    /// exit code.
    pub fn run(&self, migrations: &Migrations, conn: &mut Connection) -> Result<()> {
        self.run_to(migrations, conn, &mut anstream::stdout().lock())
    }

    /// As [`Db::run`], printing to `out` (see [`Cli::run_to`]).
    ///
    /// # Errors
    ///
    /// As [`Cli::run`].
    pub fn run_to(
        &self,
        migrations: &Migrations,
        conn: &mut Connection,
        out: &mut dyn Write,
    ) -> Result<()> {
        run_db(&self.command, &self.options, migrations, conn, None, out)
    }
}
