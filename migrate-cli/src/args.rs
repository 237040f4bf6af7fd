//! The command line, as clap types: the standalone [`Cli`] and the mountable
//! [`Db`], which share [`DbCommand`].
//!
//! Each subcommand takes the options that mean something to it, and no
//! others (so its `--help` lists only those): [`Output`] everywhere,
//! [`Tracking`] on the database commands, [`Logging`] on those that change
//! the database, and, in the standalone binary only, [`Source`] (the
//! database, the folder, the configuration file) or [`Folder`]. The same
//! options are also accepted before the subcommand ([`Cli::source`],
//! [`Cli::options`], [`Db::options`]), as in `migrate --database app.db
//! status`; there they apply to the commands they mean something to, and a
//! value after the subcommand wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The `migrate` command: SQLite and PostgreSQL schema migrations read from a
/// folder at run time, with the grammar and checks of `embed_migrations!`.
#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    version,
    after_help = "\
Examples:
  migrate --database app.db status
  DATABASE_URL=sqlite://app.db migrate up
  migrate -D postgres://app@db.internal/app --schema migrations up
  migrate new add_email --reversible
  migrate validate --dir db/migrations
  migrate check                          # in CI or a deploy script: exit 0 only when up to date

Settings: the command line wins over the environment (DATABASE_URL, also
read from a .env file in this folder or a parent), which wins over
migrate.toml in this folder (dir, table, format, database, schema,
lock_scope), which wins over
the defaults.

Exit codes: 0 success, 1 failure, 2 usage, 3 refused (divergent, missing or
out-of-order migrations, a version reused by a different migration, a dirty or
in-progress migration, an irreversible rollback, a refused baseline or repair:
nothing was changed; for `check` and `status --exit-code`, anything dirty,
failed or disagreeing), 4 pending (`check` and `status --exit-code` only)."
)]
pub struct Cli {
    /// The database, the folder and the configuration file, for every
    /// command that uses them.
    #[command(flatten)]
    pub source: Source,

    /// Options for every command that uses them.
    #[command(flatten)]
    pub options: Options,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand of the standalone binary: the folder-only ones, every
/// database command, and the shell completions and man page.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the next migration file(s) in the folder, from a template
    #[command(
        visible_alias = "add",
        after_help = "\
Examples:
  migrate new create_users               # migrations/0001_create_users.sql
  migrate new add_email --reversible     # 0002_add_email.up.sql and .down.sql
  migrate add add_phone -r               # the same, shorter

The version follows the folder's scheme: the next number with the zero-padding
of the latest file, or the current UTC time (YYYYMMDDHHMMSS) in a folder of
14-digit timestamp versions. An empty or missing folder starts at 0001."
    )]
    New(NewArgs),

    /// Check the migrations folder with every rule of `embed_migrations!`, and run it on an empty in-memory database as the macro does; needs no database
    #[command(after_help = "\
Examples:
  migrate validate
  migrate validate --dir db/migrations --json
  migrate validate --no-verify           # the folder rules only
  migrate validate --folder-format diesel --postgres postgres://postgres@localhost/postgres

Lists every problem, each naming its file, and exits 1 if there is one: the
folder rules, then (when they pass) every migration applied in order to an
empty in-memory SQLite database, every down checked to restore the schema;
with `--postgres URL`, the same in a throwaway database on that server.")]
    Validate(ValidateArgs),

    /// A command on the database.
    #[command(flatten)]
    Db(DbCommand<Source>),

    /// Print a shell completion script
    #[command(after_help = "\
Examples:
  migrate completions bash > ~/.local/share/bash-completion/completions/migrate
  migrate completions zsh > ~/.zfunc/_migrate
  migrate completions fish > ~/.config/fish/completions/migrate.fish
  migrate completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),

    /// Print the man page, migrate(1), or a command's, in roff; or write them all to a folder
    #[command(after_help = "\
Examples:
  migrate man | man -l -
  migrate man up > migrate-up.1
  migrate man --out-dir ~/.local/share/man/man1   # migrate.1 and migrate-<command>.1")]
    Man(ManArgs),
}

/// Where the standalone binary finds the database and the folder.
#[derive(Debug, Clone, Default, Args)]
pub struct Source {
    /// The database: a SQLite path, `sqlite:` or `sqlite://` and a path (`?mode=rwc` and SQLite's other URI parameters allowed), or a `file:` URI; or a PostgreSQL `postgres://` or `postgresql://` URL [env: DATABASE_URL]
    #[arg(short = 'D', long, value_name = "URL")]
    pub database: Option<String>,

    /// The PostgreSQL settings.
    #[command(flatten)]
    pub postgres: PostgresOptions,

    /// The SQLite settings.
    #[command(flatten)]
    pub sqlite: SqliteOptions,

    /// The folder and the configuration file.
    #[command(flatten)]
    pub folder: Folder,

    /// The folder's layout.
    #[command(flatten)]
    pub layout: Layout,
}

/// How the standalone binary works on a PostgreSQL database; refused for a
/// SQLite one. (An application that mounts [`Db`] sets them on its own
/// connection: `migrate::postgres::Postgres::new(&mut client).schema(…)`.)
#[derive(Debug, Clone, Default, Args)]
pub struct PostgresOptions {
    /// PostgreSQL only: the schema of the tracking tables, created on the first run [default: public]
    #[arg(long, value_name = "SCHEMA")]
    pub schema: Option<String>,

    /// PostgreSQL only: `session` holds an advisory lock for the whole run; `transaction` takes one per transaction, for PgBouncer's transaction pooling [default: session]
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub lock_scope: Option<LockScope>,
}

/// How the standalone binary opens a SQLite database; refused for a
/// PostgreSQL one. (An application that mounts [`Db`] opens its own
/// connection: it registers its functions and loads its extensions there.)
#[derive(Debug, Clone, Default, Args)]
pub struct SqliteOptions {
    /// SQLite only: load this extension (a shared library) into the connection before the command, for migrations that use its functions; `validate` loads it into its in-memory database (repeatable; SQLite's extension loading is on only while it loads)
    #[arg(long, value_name = "PATH")]
    pub load_extension: Vec<PathBuf>,

    /// SQLite only: `on` enforces foreign keys while migrating (each migration's foreign key check runs before its commit), as sqlx connects (and a bundled SQLite starts); `off` leaves them off, as a system SQLite starts under diesel, refinery, golang-migrate or dbmate [default: on]
    #[arg(long, value_enum, value_name = "ON|OFF", hide_possible_values = true)]
    pub foreign_keys: Option<OnOff>,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnOff {
    /// On.
    On,
    /// Off.
    Off,
}

/// How other runners are kept out on PostgreSQL
/// ([`migrate_core::postgres::LockScope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockScope {
    /// A session advisory lock held for the whole run.
    Session,
    /// A transaction advisory lock in each transaction (PgBouncer).
    Transaction,
}

impl From<LockScope> for migrate_core::postgres::LockScope {
    fn from(scope: LockScope) -> Self {
        match scope {
            LockScope::Session => migrate_core::postgres::LockScope::Session,
            LockScope::Transaction => migrate_core::postgres::LockScope::Transaction,
        }
    }
}

/// Where the standalone binary finds the folder and its settings.
#[derive(Debug, Clone, Default, Args)]
pub struct Folder {
    /// The migrations folder [default: migrations]
    #[arg(long, visible_alias = "source", value_name = "FOLDER")]
    pub dir: Option<PathBuf>,

    /// The settings file [default: migrate.toml in the current folder, if there is one]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How the commands that read the folder's migrations read it: in which
/// tool's layout, with which Flyway placeholder values.
#[derive(Debug, Clone, Default, Args)]
pub struct Layout {
    /// The folder's layout, read as that tool reads it: migrate (the default), diesel, sqlx, refinery, flyway, goose, dbmate, golang-migrate or plain
    #[arg(long, value_name = "FORMAT")]
    pub folder_format: Option<migrate_core::formats::Format>,

    /// A value for a Flyway `${NAME}` placeholder (repeatable)
    #[arg(long, value_name = "NAME=VALUE", value_parser = placeholder)]
    pub placeholder: Vec<(String, String)>,
}

/// `NAME=VALUE` of `--placeholder`.
fn placeholder(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// No source: the mounted commands run over the application's embedded set
/// and its connection.
#[derive(Debug, Clone, Default, Args)]
pub struct Embedded {}

/// How to print.
#[derive(Debug, Clone, Default, Args)]
pub struct Output {
    /// Print JSON for scripts instead of text (as `--format json`)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Print `text` or `json` [default: text]
    #[arg(long, value_enum, value_name = "FORMAT", hide_possible_values = true)]
    pub format: Option<Format>,
}

/// Text for people or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Aligned text, coloured on a terminal.
    Text,
    /// One JSON document on standard output.
    Json,
}

impl Output {
    /// The format asked for here, if any.
    pub(crate) fn format(&self) -> Option<Format> {
        if self.json {
            Some(Format::Json)
        } else {
            self.format
        }
    }
}

/// Which tracking table.
#[derive(Debug, Clone, Default, Args)]
pub struct Tracking {
    /// The tracking table (the history is `<TABLE>_events`) [default: migrate_schema_history]
    #[arg(long, value_name = "TABLE")]
    pub table: Option<String>,
}

/// Where to log changes.
#[derive(Debug, Clone, Default, Args)]
pub struct Logging {
    /// Append one JSON object per line to this file for every migration applied, rolled back, failed, baselined or repaired
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// The options given before a subcommand: each applies to the commands it
/// means something to, unless the subcommand is given its own.
#[derive(Debug, Clone, Default, Args)]
pub struct Options {
    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name, e.g. `add_email` (the file name after the version)
    pub name: String,

    /// Create an `.up.sql` and a `.down.sql` instead of one `.sql` file
    #[arg(short, long)]
    pub reversible: bool,

    /// The folder.
    #[command(flatten)]
    pub folder: Folder,

    /// How to print.
    #[command(flatten)]
    pub output: Output,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check the folder rules only, without running the migrations on an in-memory database (as `verify = false` in the macro)
    #[arg(long)]
    pub no_verify: bool,

    /// The folder.
    #[command(flatten)]
    pub folder: Folder,

    /// The folder's layout.
    #[command(flatten)]
    pub layout: Layout,

    /// A SQL function the application registers on its connection: the check uses a stand-in (any arguments, returning NULL, deterministic), as `functions(...)` in `embed_migrations!` (repeatable)
    #[arg(long, value_name = "NAME")]
    pub function: Vec<String>,

    /// A collation the application registers on its connection: the check uses a stand-in (text in byte order), as `collations(...)` in `embed_migrations!` (repeatable)
    #[arg(long, value_name = "NAME")]
    pub collation: Vec<String>,

    /// The extensions and foreign keys of the check's in-memory database.
    #[command(flatten)]
    pub sqlite: SqliteOptions,

    /// Check a PostgreSQL set on this server instead of SQLite: every migration applied, every down checked to restore the schema, in a throwaway database created there (the role needs CREATEDB) and dropped afterwards, as `embed_migrations!(…, engine = "postgres")` with MIGRATE_VERIFY_DATABASE_URL
    #[arg(long, value_name = "URL", conflicts_with_all = ["function", "collation", "no_verify"])]
    pub postgres: Option<String>,

    /// How to print.
    #[command(flatten)]
    pub output: Output,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print, e.g. `up` (migrate-up(1)) [default: migrate(1)]
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,

    /// Write migrate.1 and every command's page to this folder instead of printing
    #[arg(long, value_name = "FOLDER", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

/// The database commands mounted in an application's own parser, over its
/// embedded migrations and its connection (`myapp db status`).
///
/// # Examples
///
/// ```
/// use clap::{Parser, Subcommand};
///
/// #[derive(Parser)]
/// struct App {
///     #[command(subcommand)]
///     command: AppCommand,
/// }
///
/// #[derive(Subcommand)]
/// enum AppCommand {
///     /// Database migrations
///     Db(migrate_cli::Db),
///     /// Serve the application
///     Serve,
/// }
///
/// let app = App::try_parse_from(["myapp", "db", "up", "--to", "3"]).unwrap();
/// assert!(matches!(app.command, AppCommand::Db(_)));
/// ```
#[derive(Debug, Args)]
pub struct Db {
    /// Options for every command that uses them (`myapp db --json status`).
    #[command(flatten)]
    pub options: Options,

    /// What to do.
    #[command(subcommand)]
    pub command: DbCommand,
}

/// A command on the database. `S` is where the database and the folder come
/// from: [`Source`] in the standalone binary, nothing ([`Embedded`]) when
/// mounted in an application.
#[derive(Debug, Subcommand)]
pub enum DbCommand<S: Args = Embedded> {
    /// Apply pending migrations, each in its own transaction
    #[command(
        visible_alias = "run",
        after_help = "\
Examples:
  migrate up                 # every pending migration
  migrate up --to 5          # pending migrations up to and including version 5
  migrate up --dry-run       # apply inside one transaction, report, roll back
  migrate up --grouped       # all pending migrations in one transaction"
    )]
    Up {
        /// Its arguments.
        #[command(flatten)]
        args: UpArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Revert applied migrations with their downs, newest first
    #[command(
        visible_alias = "revert",
        after_help = "\
Examples:
  migrate down               # the latest applied migration
  migrate down 3             # the last three applied
  migrate down --to 5        # everything above version 5
  migrate down --to 0        # everything"
    )]
    Down {
        /// Its arguments.
        #[command(flatten)]
        args: DownArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Revert the latest applied migration and apply it again
    #[command(after_help = "\
Examples:
  migrate redo

Verifies first as `up` would; then a down of the latest applied migration
and an up of it, each committed on its own.")]
    Redo {
        /// Its arguments.
        #[command(flatten)]
        args: RedoArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Show the current version and the state of every version: applied, pending, failed, dirty, divergent, version reused, missing or out of order
    #[command(
        visible_aliases = ["info", "list"],
        after_help = "\
Examples:
  migrate status
  migrate status --json | jq .current_version
  migrate status --exit-code             # 0 up to date, 4 pending, 3 needs attention

Exits 0 whatever the state, unless --exit-code; `up` refuses (exit 3) what
status shows as a problem."
    )]
    Status {
        /// Its arguments.
        #[command(flatten)]
        args: StatusArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Exit 0 if the database is up to date with the migrations, 4 if some are pending, 3 if anything is dirty, failed or disagrees; for deploy scripts and CI
    #[command(after_help = "\
Examples:
  migrate check && ./deploy
  migrate check --json

Prints what is pending or wrong, one line each (with --json, the document of
`status --json`). Exit codes: 0 up to date; 4 migrations pending and nothing
else; 3 a migration is dirty, failed, divergent, missing, out of order or its
version reused (what `up` would refuse, or a failed attempt to look at).")]
    Check {
        /// Its arguments.
        #[command(flatten)]
        args: CheckArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Show the history of every migration applied, rolled back, failed, baselined or repaired, oldest first
    #[command(after_help = "\
Examples:
  migrate history
  migrate history --json")]
    History {
        /// Its arguments.
        #[command(flatten)]
        args: HistoryArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Mark every migration up to and including VERSION as applied without running it
    #[command(after_help = "\
Examples:
  migrate baseline 12        # a database that already has what 1 to 12 create

Refused (exit 3) when a migration is already applied.")]
    Baseline {
        /// Its arguments.
        #[command(flatten)]
        args: BaselineArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Record as applied what another tool's tracking table says it applied, after checking its checksums
    #[command(after_help = "\
Examples:
  migrate adopt --from diesel --folder-format diesel
  migrate adopt --from sqlx

Reads the tool's table (__diesel_schema_migrations, _sqlx_migrations,
refinery_schema_history, flyway_schema_history, goose_db_version or
schema_migrations), matches each applied row to a migration of the folder,
compares the checksum the tool kept (sqlx, refinery, Flyway), and writes this
tool's tracking rows in one transaction; the tool's own table is left as it
was. A row that matches no migration, a failed or dirty row, or a checksum
that differs is refused (exit 3) and nothing changes.")]
    Adopt {
        /// Its arguments.
        #[command(flatten)]
        args: AdoptArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Accept edited files' checksums and clear dirty marks and failed attempts
    #[command(after_help = "\
Examples:
  migrate repair
  migrate repair --accept-reused-versions   # risky: see below

Before clearing a dirty mark, bring the database by hand to the migration's
\"not applied\" state: undo what a cut-short up did, or complete a cut-short down.

An applied version that a different migration now has (status: version
reused) is refused (exit 3, nothing changed) unless --accept-reused-versions.")]
    Repair {
        /// Its arguments.
        #[command(flatten)]
        args: RepairArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },

    /// Print the database's schema as SQL, without SQLite's own objects and the tracking tables, or check it for drift
    #[command(after_help = "\
Examples:
  migrate schema > schema.sql
  migrate schema --include-tracking
  migrate schema --json
  migrate schema --check                 # drift from what the migrations produce

With --check, every table, index, view, trigger or column that is missing,
not created by any migration, or defined differently is listed, and the exit
code is 1 if there is one.")]
    Schema {
        /// Its arguments.
        #[command(flatten)]
        args: SchemaArgs,
        /// The database and the folder.
        #[command(flatten)]
        source: S,
    },
}

impl<S: Args> DbCommand<S> {
    /// Where the database and the folder come from.
    pub fn source(&self) -> &S {
        match self {
            DbCommand::Up { source, .. }
            | DbCommand::Down { source, .. }
            | DbCommand::Redo { source, .. }
            | DbCommand::Status { source, .. }
            | DbCommand::Check { source, .. }
            | DbCommand::History { source, .. }
            | DbCommand::Baseline { source, .. }
            | DbCommand::Adopt { source, .. }
            | DbCommand::Repair { source, .. }
            | DbCommand::Schema { source, .. } => source,
        }
    }

    /// The options given after the subcommand, as [`Options`] (a command
    /// without `--log-file` has none).
    pub fn options(&self) -> Options {
        let (output, tracking, logging) = match self {
            DbCommand::Up { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Down { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Redo { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Status { args, .. } => (&args.output, &args.tracking, None),
            DbCommand::Check { args, .. } => (&args.output, &args.tracking, None),
            DbCommand::History { args, .. } => (&args.output, &args.tracking, None),
            DbCommand::Baseline { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Adopt { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Repair { args, .. } => (&args.output, &args.tracking, Some(&args.logging)),
            DbCommand::Schema { args, .. } => (&args.output, &args.tracking, None),
        };
        Options {
            output: output.clone(),
            tracking: tracking.clone(),
            logging: logging.cloned().unwrap_or_default(),
        }
    }

    /// Whether `--log-file` means something to the command: it changes the
    /// database.
    pub(crate) fn logs(&self) -> bool {
        matches!(
            self,
            DbCommand::Up { .. }
                | DbCommand::Down { .. }
                | DbCommand::Redo { .. }
                | DbCommand::Baseline { .. }
                | DbCommand::Adopt { .. }
                | DbCommand::Repair { .. }
        )
    }
}

/// Arguments of `up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Apply pending migrations only up to and including this version
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,

    /// Apply inside one transaction, report what happened, and roll back: nothing changes
    #[arg(long, conflicts_with = "grouped")]
    pub dry_run: bool,

    /// Apply all pending migrations in one transaction: all or nothing
    #[arg(long)]
    pub grouped: bool,

    /// Apply a pending migration older than the latest applied one instead of refusing (risky)
    #[arg(long)]
    pub allow_out_of_order: bool,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// How many applied migrations to revert
    #[arg(default_value_t = 1, conflicts_with = "to", value_name = "N")]
    pub count: usize,

    /// Revert every applied migration above this version (0: all of them)
    #[arg(long, value_name = "VERSION")]
    pub to: Option<u64>,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `redo`.
#[derive(Debug, Args)]
pub struct RedoArgs {
    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit 4 if a migration is pending, 3 if anything is dirty, failed or disagrees (as `check`), instead of 0 whatever the state
    #[arg(long)]
    pub exit_code: bool,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,
}

/// Arguments of `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,
}

/// Arguments of `baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The highest version to mark as applied
    pub version: u64,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `adopt`.
#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// The tool whose tracking table to adopt: diesel, sqlx, refinery, flyway, goose, dbmate or golang-migrate
    #[arg(long = "from", value_name = "TOOL")]
    pub from: migrate_core::other_tables::Tool,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Record the new migration's name and checksum on an applied version a different migration now has, instead of refusing (risky: only once the database has what the new migration does and no longer what the applied one did)
    #[arg(long)]
    pub accept_reused_versions: bool,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,

    /// Where to log changes.
    #[command(flatten)]
    pub logging: Logging,
}

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Also print the tracking table, its history table and their indexes
    #[arg(long, conflicts_with = "check")]
    pub include_tracking: bool,

    /// Compare the database's schema with the schema the migrations produce, list every difference (drift), and exit 1 if there is one
    #[arg(long)]
    pub check: bool,

    /// How to print.
    #[command(flatten)]
    pub output: Output,

    /// Which tracking table.
    #[command(flatten)]
    pub tracking: Tracking,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_and_flag_has_help_and_every_subcommand_an_example() {
        let cli = Cli::command();
        for sub in cli.get_subcommands() {
            assert!(
                sub.get_about().is_some(),
                "`{}` has no help",
                sub.get_name()
            );
            let after = sub
                .get_after_help()
                .map(|a| a.to_string())
                .unwrap_or_default();
            assert!(
                after.contains(&format!("migrate {}", sub.get_name())),
                "`{}` has no example",
                sub.get_name()
            );
            for arg in sub.get_arguments() {
                assert!(
                    arg.get_help().is_some(),
                    "`{} {}` has no help",
                    sub.get_name(),
                    arg.get_id()
                );
            }
        }
    }
}
