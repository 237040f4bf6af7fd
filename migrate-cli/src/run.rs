//! From parsed arguments to a handler: the standalone binary reads the
//! folder and opens the database, an application passes its embedded set
//! and its connection; both then run the same handlers.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, CommandFactory};
use migrate_core::postgres::Postgres;
use migrate_core::{Migrations, Runner};

use crate::args::{Cli, Command, Db, DbCommand, Folder, ManArgs, Options, Output};
use crate::commands;
use crate::connection::Connection;
use crate::database::Target;
use crate::exit::InFolderWords;
use crate::log::Log;
use crate::settings::{self, Config, PostgresSettings, Settings, SqliteSettings};
use crate::wording::Wording;

/// What a database command works on, and where it writes.
pub(crate) struct Session<'a, D> {
    /// The set: read from the folder, or embedded in the application.
    pub(crate) migrations: &'a Migrations,
    /// The database.
    pub(crate) conn: &'a mut D,
    /// How messages name the database: its file, its URL without the
    /// password, or `the database`.
    pub(crate) database: String,
    /// How to print, the tracking table, the log file.
    pub(crate) options: &'a Settings,
    /// The log file, if any.
    pub(crate) log: Log,
    /// Standard output, or a buffer in tests.
    pub(crate) out: &'a mut dyn Write,
    /// How messages name where the set comes from.
    pub(crate) wording: Wording,
}

impl<'a, D: Connection> Session<'a, D> {
    /// A runner on the set with `--table`.
    pub(crate) fn runner(&self) -> Runner<'a> {
        self.migrations.runner().table(self.options.table.as_str())
    }

    /// An error's message (see [`crate::exit::message`]) in this session's
    /// words, for JSON and the log file.
    pub(crate) fn message(&self, error: &anyhow::Error) -> String {
        self.wording
            .apply(&crate::exit::message(error))
            .into_owned()
    }

    /// Runs one database command.
    fn run<S: Args>(mut self, command: &DbCommand<S>) -> Result<()> {
        match command {
            DbCommand::Up { args, .. } => commands::up(&mut self, args),
            DbCommand::Down { args, .. } => commands::down(&mut self, args),
            DbCommand::Redo { .. } => commands::redo(&mut self),
            DbCommand::Status { args, .. } => commands::status(&mut self, args),
            DbCommand::Check { .. } => commands::check(&mut self),
            DbCommand::History { .. } => commands::history(&mut self),
            DbCommand::Baseline { args, .. } => commands::baseline(&mut self, args),
            DbCommand::Adopt { args, .. } => commands::adopt(&mut self, args),
            DbCommand::Repair { args, .. } => commands::repair(&mut self, args),
            DbCommand::Schema { args, .. } => commands::schema(&mut self, args),
        }
    }
}

/// Runs a database command over `migrations` and `conn`, writing to `out`;
/// messages name the database `shown_as`, or else as `conn` names itself.
/// Only the standalone binary gives `shown_as`, and its set is read from a
/// folder: messages then say "the folder" (see [`Wording`]).
fn run_db<S: Args, D: Connection>(
    command: &DbCommand<S>,
    options: &Settings,
    migrations: &Migrations,
    conn: &mut D,
    shown_as: Option<String>,
    out: &mut dyn Write,
) -> Result<()> {
    let (database, wording) = match (shown_as, conn.name()) {
        (Some(shown_as), _) => (shown_as, Wording::Folder),
        (None, Some(name)) => (name, Wording::Embedded),
        (None, None) => ("the database".to_owned(), Wording::Embedded),
    };
    let log = Log::open(options.log_file.as_deref(), &database)?;
    Session {
        migrations,
        conn,
        database,
        options,
        log,
        out,
        wording,
    }
    .run(command)
}

impl<S: Args> DbCommand<S> {
    /// Whether the command may create the database file: only `up` and
    /// `baseline` write to a database that has nothing yet.
    fn creates_database(&self) -> bool {
        matches!(
            self,
            DbCommand::Up { .. } | DbCommand::Baseline { .. } | DbCommand::Adopt { .. }
        )
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
        // The set comes from a folder: messages say so (see `wording`).
        self.run_command(out)
            .map_err(|error| anyhow::Error::new(InFolderWords(error)))
    }

    /// Runs the command: merges its settings, reads the folder and opens
    /// the database it needs; errors in the library's words.
    fn run_command(&self, out: &mut dyn Write) -> Result<()> {
        let before = &self.source.folder;
        match &self.command {
            Command::Completions(args) => {
                clap_complete::generate(args.shell, &mut Cli::command(), "migrate", out);
                Ok(())
            }
            Command::Man(args) => man(args, out),
            Command::New(args) => {
                let (dir, options) = self.folder_settings(&args.folder, &args.output)?;
                commands::new(&dir, args, &options, out)
            }
            Command::Validate(args) => {
                let (dir, options) = self.folder_settings(&args.folder, &args.output)?;
                let read = settings::read_options(&args.layout, &self.source.layout);
                let config = Config::load(settings::config_path(&args.folder, before))?;
                let sqlite =
                    SqliteSettings::merge(&args.sqlite, &self.source.sqlite, config.as_ref());
                commands::validate(&dir, &read, args, &sqlite, &options, out)
            }
            Command::Db(command) => {
                let source = command.source();
                let config = Config::load(settings::config_path(&source.folder, before))?;
                let options = Settings::merge(
                    &command.options(),
                    &self.options,
                    config.as_ref(),
                    command.logs(),
                );
                let (dir, dir_from) = settings::dir(&source.folder, before, config.as_ref());
                let read = settings::read_options(&source.layout, &self.source.layout);
                let migrations = read_folder(&dir, dir_from, &read)?;
                let given = settings::database(
                    source
                        .database
                        .as_deref()
                        .or(self.source.database.as_deref()),
                    config.as_ref(),
                )?;
                let target = Target::parse(&given.database, given.origin.base())
                    .with_context(|| given.origin.to_string())?;
                let postgres = PostgresSettings::merge(
                    &source.postgres,
                    &self.source.postgres,
                    config.as_ref(),
                );
                let sqlite_settings =
                    SqliteSettings::merge(&source.sqlite, &self.source.sqlite, config.as_ref());
                let shown = Some(target.shown_as());
                match target {
                    Target::Sqlite(sqlite) => {
                        if let Some(origin) = postgres.first_given() {
                            bail!(
                                "{origin} is a PostgreSQL setting, but `{}` is a SQLite database: leave it out for SQLite",
                                sqlite.shown_as()
                            );
                        }
                        let mut conn = sqlite.open(
                            command.creates_database(),
                            sqlite_settings.foreign_keys_on(),
                            &sqlite_settings.extensions,
                        )?;
                        run_db(command, &options, &migrations, &mut conn, shown, out)
                    }
                    Target::Postgres(server) => {
                        if let Some(origin) = sqlite_settings.first_given() {
                            bail!(
                                "{origin} is a SQLite setting, but `{}` is a PostgreSQL database: leave it out for PostgreSQL",
                                server.shown_as()
                            );
                        }
                        if let Some(schema) = &postgres.schema
                            && !is_identifier(&schema.value)
                        {
                            bail!(
                                "{}: `{}` is not a plain schema name: use ASCII letters, digits and `_`, not starting with a digit",
                                schema.origin,
                                schema.value
                            );
                        }
                        let mut client = server.connect()?;
                        let mut db = Postgres::new(&mut client);
                        if let Some(schema) = postgres.schema {
                            db = db.schema(schema.value);
                        }
                        if let Some(scope) = postgres.lock_scope {
                            db = db.lock_scope(scope.value.into());
                        }
                        run_db(command, &options, &migrations, &mut db, shown, out)
                    }
                }
            }
        }
    }

    /// The folder and the options of `new` and `validate`.
    fn folder_settings(&self, folder: &Folder, output: &Output) -> Result<(PathBuf, Settings)> {
        let before = &self.source.folder;
        let config = Config::load(settings::config_path(folder, before))?;
        let after = Options {
            output: output.clone(),
            ..Options::default()
        };
        let options = Settings::merge(&after, &self.options, config.as_ref(), false);
        let (dir, _) = settings::dir(folder, before, config.as_ref());
        Ok((dir, options))
    }
}

/// Whether `name` is a schema name the PostgreSQL backend takes: ASCII
/// letters, digits and `_`, not starting with a digit (its rule, checked
/// here to name `--schema` rather than the tracking table).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `man`: migrate(1), a command's page, or every page written to a folder.
fn man(args: &ManArgs, out: &mut dyn Write) -> Result<()> {
    // Built as `clap_mangen::generate_to` builds it, so that the commands'
    // pages are named `migrate-<command>`; each with the version, which
    // clap gives the top command only.
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let version = env!("CARGO_PKG_VERSION");
    let commands = cli
        .get_subcommands()
        .map(|command| command.clone().version(version));
    let mut pages: Vec<clap::Command> = std::iter::once(cli.clone()).chain(commands).collect();
    if let Some(folder) = &args.out_dir {
        for page in &pages {
            clap_mangen::Man::new(page.clone())
                .generate_to(folder)
                .with_context(|| format!("writing the man pages to `{}`", folder.display()))?;
        }
        writeln!(
            out,
            "wrote {} man pages to `{}`",
            pages.len(),
            folder.display()
        )?;
        return Ok(());
    }
    let page = match &args.command {
        None => pages.swap_remove(0),
        Some(name) => match pages.iter().position(|page| page.get_name() == name) {
            Some(at) if at > 0 => pages.swap_remove(at),
            _ => bail!(
                "`{name}` is not a command of migrate: {}",
                pages[1..]
                    .iter()
                    .map(|page| page.get_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    };
    Ok(clap_mangen::Man::new(page).render(out)?)
}

/// Reads the migrations folder with the grammar and checks of
/// `embed_migrations!`; `from` is the settings file that named it, if any.
///
/// # Errors
///
/// Every problem in the folder, each naming its file (and the folder's
/// absolute path when it is missing).
pub(crate) fn read_folder(
    dir: &Path,
    from: Option<&Path>,
    read: &migrate_core::formats::ReadOptions,
) -> Result<Migrations> {
    // The error names the folder, or the file of each problem.
    let set = Migrations::read_folder_as(dir, dir, read)
        .map_err(|error| with_suggestion(error, dir, read));
    match from {
        Some(file) => {
            set.with_context(|| format!("the folder set by `dir` in `{}`", file.display()))
        }
        None => Ok(set?),
    }
}

/// The folder's error, with the format the folder looks like when it is
/// not the one it was read with and that format reads it without a problem.
pub(crate) fn with_suggestion(
    error: migrate_core::folder::FolderError,
    dir: &Path,
    read: &migrate_core::formats::ReadOptions,
) -> anyhow::Error {
    use migrate_core::formats::{ReadOptions, guess_format};
    match guess_format(dir) {
        Some(format)
            if format != read.format
                && migrate_core::formats::read_folder_as(
                    dir,
                    dir,
                    &ReadOptions {
                        format,
                        placeholders: read.placeholders.clone(),
                    },
                )
                .is_ok() =>
        {
            LooksLike {
                error,
                format,
                dir: dir.to_owned(),
            }
            .into()
        }
        _ => error.into(),
    }
}

/// A folder's problems and the format that reads it: the problems, then a
/// `hint:` line naming `--folder-format`.
#[derive(Debug)]
pub(crate) struct LooksLike {
    error: migrate_core::folder::FolderError,
    format: migrate_core::formats::Format,
    dir: PathBuf,
}

impl std::fmt::Display for LooksLike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = self.format;
        write!(
            f,
            "{}\nhint: the folder `{}` looks like {format}'s layout, which `migrate` reads as {format} does: add `--folder-format {format}`",
            self.error,
            self.dir.display()
        )
    }
}

impl std::error::Error for LooksLike {}

impl Db {
    /// Runs the command over the application's `migrations` (usually its
    /// embedded `MIGRATIONS`, whose Rust migrations can run) and its
    /// connection — SQLite's, or PostgreSQL's blocking client, bare or
    /// wrapped in [`Postgres`] with its schema and lock scope (see
    /// [`Connection`]) — printing to standard output.
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
    pub fn run<D: Connection>(&self, migrations: &Migrations, conn: &mut D) -> Result<()> {
        self.run_to(migrations, conn, &mut anstream::stdout().lock())
    }

    /// As [`Db::run`], printing to `out` (see [`Cli::run_to`]).
    ///
    /// # Errors
    ///
    /// As [`Cli::run`].
    pub fn run_to<D: Connection>(
        &self,
        migrations: &Migrations,
        conn: &mut D,
        out: &mut dyn Write,
    ) -> Result<()> {
        let options = Settings::merge(
            &self.command.options(),
            &self.options,
            None,
            self.command.logs(),
        );
        run_db(&self.command, &options, migrations, conn, None, out)
    }
}
