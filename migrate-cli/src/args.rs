//! The command line, as clap types: the standalone [`Cli`] and the mountable
//! [`Db`], which share [`DbCommand`] and [`Options`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The `migrate` command: SQLite schema migrations read from a folder at run
/// time, with the grammar and checks of `embed_migrations!`.
#[derive(Debug, Parser)]
#[command(
    name = "migrate",
    version,
    after_help = "\
Examples:
  migrate --database app.db status
  DATABASE_URL=sqlite://app.db migrate up
  migrate new add_email --reversible
  migrate validate --dir db/migrations

Exit codes: 0 success, 1 failure, 2 usage, 3 refused (divergent, missing or
out-of-order migrations, a version reused by a different migration, a dirty or
in-progress migration, an irreversible rollback, a refused baseline or repair:
nothing was changed)."
)]
pub struct Cli {
    /// The SQLite database: a file path, or `sqlite:` / `sqlite://` and a path
    #[arg(long, env = "DATABASE_URL", global = true, value_name = "PATH")]
    pub database: Option<String>,

    /// The migrations folder
    #[arg(
        long,
        global = true,
        default_value = "migrations",
        value_name = "FOLDER"
    )]
    pub dir: PathBuf,

    /// Options shared with the mounted commands.
    #[command(flatten)]
    pub options: Options,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand of the standalone binary: the folder-only ones, and every
/// database command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the next migration file(s) in the folder, from a template
    #[command(after_help = "\
Examples:
  migrate new create_users               # migrations/0001_create_users.sql
  migrate new add_email --reversible     # 0002_add_email.up.sql and .down.sql

The version follows the folder's scheme: the next number with the zero-padding
of the latest file, or the current UTC time (YYYYMMDDHHMMSS) in a folder of
14-digit timestamp versions. An empty or missing folder starts at 0001.")]
    New(NewArgs),

    /// Check the migrations folder with every rule of `embed_migrations!`, and run it on an empty in-memory database as the macro does; needs no database
    #[command(after_help = "\
Examples:
  migrate validate
  migrate validate --dir db/migrations --json
  migrate validate --no-verify           # the folder rules only

Lists every problem, each naming its file, and exits 1 if there is one: the
folder rules, then (when they pass) every migration applied in order to an
empty in-memory SQLite database, every down checked to restore the schema.")]
    Validate(ValidateArgs),

    /// A command on the database.
    #[command(flatten)]
    Db(DbCommand),
}

/// Arguments of `new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name, e.g. `add_email` (the file name after the version)
    pub name: String,

    /// Create an `.up.sql` and a `.down.sql` instead of one `.sql` file
    #[arg(long)]
    pub reversible: bool,
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
    /// Options of every command.
    #[command(flatten)]
    pub options: Options,

    /// What to do.
    #[command(subcommand)]
    pub command: DbCommand,
}

/// Options of every database command, standalone or mounted.
#[derive(Debug, Args)]
pub struct Options {
    /// Print JSON for scripts instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Append one JSON object per line to this file for every migration applied, rolled back, failed, baselined or repaired
    #[arg(long, global = true, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// The tracking table (the history is `<TABLE>_events`)
    #[arg(long, global = true, default_value = migrate_core::DEFAULT_TABLE)]
    pub table: String,
}

/// A command on the database.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations, each in its own transaction
    #[command(after_help = "\
Examples:
  migrate up                 # every pending migration
  migrate up --to 5          # pending migrations up to and including version 5
  migrate up --dry-run       # apply inside one transaction, report, roll back
  migrate up --grouped       # all pending migrations in one transaction")]
    Up(UpArgs),

    /// Revert applied migrations with their downs, newest first
    #[command(after_help = "\
Examples:
  migrate down               # the latest applied migration
  migrate down 3             # the last three applied
  migrate down --to 5        # everything above version 5
  migrate down --to 0        # everything")]
    Down(DownArgs),

    /// Revert the latest applied migration and apply it again
    #[command(after_help = "\
Examples:
  migrate redo

Verifies first as `up` would; then a down of the latest applied migration
and an up of it, each committed on its own.")]
    Redo,

    /// Show the current version and the state of every version: applied, pending, failed, dirty, divergent, version reused, missing or out of order
    #[command(after_help = "\
Examples:
  migrate status
  migrate status --json | jq .current_version

Exits 0 whatever the state; `up` refuses (exit 3) what status shows as a problem.")]
    Status,

    /// Show the history of every migration applied, rolled back, failed, baselined or repaired, oldest first
    #[command(after_help = "\
Examples:
  migrate history
  migrate history --json")]
    History,

    /// Mark every migration up to and including VERSION as applied without running it
    #[command(after_help = "\
Examples:
  migrate baseline 12        # a database that already has what 1 to 12 create

Refused (exit 3) when a migration is already applied.")]
    Baseline(BaselineArgs),

    /// Accept edited files' checksums and clear dirty marks and failed attempts
    #[command(after_help = "\
Examples:
  migrate repair
  migrate repair --accept-reused-versions   # risky: see below

Before clearing a dirty mark, bring the database by hand to the migration's
\"not applied\" state: undo what a cut-short up did, or complete a cut-short down.

An applied version that a different migration now has (status: version
reused) is refused (exit 3, nothing changed) unless --accept-reused-versions.")]
    Repair(RepairArgs),

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
    Schema(SchemaArgs),
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
}

/// Arguments of `baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The highest version to mark as applied
    pub version: u64,
}

/// Arguments of `repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    /// Record the new migration's name and checksum on an applied version a different migration now has, instead of refusing (risky: only once the database has what the new migration does and no longer what the applied one did)
    #[arg(long)]
    pub accept_reused_versions: bool,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Check the folder rules only, without running the migrations on an in-memory database (as `verify = false` in the macro)
    #[arg(long)]
    pub no_verify: bool,
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
