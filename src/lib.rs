//! SQL schema migrations embedded in your binary and validated at compile
//! time, applied to SQLite with every applied checksum verified.
//!
//! Put `.sql` files in a `migrations/` folder next to `Cargo.toml`, embed
//! them, and apply them at startup:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In your crate: `migrate::embed_migrations!("migrations")`.
//! const MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("examples/migrations");
//!
//! let mut conn = rusqlite::Connection::open_in_memory()?;
//! let report = MIGRATIONS.run(&mut conn)?;
//! assert_eq!(report.applied.len(), MIGRATIONS.len());
//!
//! // A second run verifies and applies nothing.
//! assert!(MIGRATIONS.run(&mut conn)?.applied.is_empty());
//! let status = MIGRATIONS.status(&mut conn)?;
//! assert_eq!(status.current_version, MIGRATIONS.latest_version());
//! assert!(status.is_up_to_date());
//! # Ok(())
//! # }
//! ```
//!
//! # The folder
//!
//! `<version>_<name>.sql` (up only), or `<version>_<name>.up.sql` with an
//! optional `<version>_<name>.down.sql`, or `V<version>__<name>.sql`, or
//! `<version>_<name>.rs` for a migration in Rust. Versions are sequential
//! without gaps (`0001`, `0002`, …; leading zeros allowed) or 14-digit UTC
//! timestamps (`20240131120000`), SQL and Rust migrations in one sequence.
//! Hidden files and `README*` are ignored; anything else is a compile error.
//! See [`folder`] for every rule.
//!
//! A `.sql` file whose first line is `-- migrate:no-transaction` runs outside
//! a transaction; any other `-- migrate:` comment is an error (see
//! [`directive`]).
//!
//! A Rust migration is compiled into your crate as a module and declares
//! `pub fn up(tx: &rusqlite::Transaction<'_>) -> Result<(), E>`, and
//! optionally `pub fn down` with the same signature, `E` being any error that
//! converts into [`BoxError`] (`rusqlite` is re-exported as
//! `migrate::rusqlite` for crates that do not depend on it). Both run inside
//! the migration's transaction; its checksum is that of the whole `.rs` file:
//!
//! ```ignore
//! // migrations/0005_weekdays.rs
//! use rusqlite::{Transaction, params};
//!
//! const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
//!
//! pub fn up(tx: &Transaction<'_>) -> rusqlite::Result<()> {
//!     let mut insert = tx.prepare("INSERT INTO weekdays (number, name) VALUES (?1, ?2)")?;
//!     for (number, name) in (1..).zip(NAMES) {
//!         insert.execute(params![number, name])?;
//!     }
//!     Ok(())
//! }
//!
//! pub fn down(tx: &Transaction<'_>) -> Result<(), migrate::BoxError> {
//!     tx.execute("DELETE FROM weekdays", [])?;
//!     Ok(())
//! }
//! ```
//!
//! A set read at run time with [`Migrations::from_folder`] knows a Rust
//! migration's version, name and checksum but has no code to run
//! ([`Migration::is_runnable`]).
//!
//! # The build-time SQL check
//!
//! After the folder checks, `embed_migrations!` applies every migration in
//! order to an empty in-memory SQLite database, runs every down and checks
//! that it restores the schema from before its up, and applies the up again;
//! each problem is a compile error naming the file, line and statement (see
//! [`sqlite::verify()`]). SQL that calls the application's own functions or
//! collations, or an extension's, names them for stand-ins:
//! `embed_migrations!("migrations", functions(app_hash), collations(de_phonebook))`
//! (see [`sqlite::VerifyOptions`]); the application's connection must have
//! the real ones before [`Migrations::run`].
//! `embed_migrations!("migrations", verify = false)` turns the check off. The
//! schema the set produces is embedded, and [`Migrations::check_schema`]
//! reports how a live database has drifted from it.
//!
//! # Rebuilding when a file is added
//!
//! `include_str!` makes cargo rebuild when a migration file is edited, but a
//! proc-macro cannot ask cargo to watch a folder for new files. Add a
//! `build.rs` next to `Cargo.toml` with one line:
//!
//! ```ignore
//! fn main() {
//!     println!("cargo:rerun-if-changed=migrations");
//! }
//! ```
//!
//! # Running
//!
//! [`Migrations::run`] verifies what was applied before (a divergent, missing
//! or out-of-order migration, or a version a different migration took, stops
//! it before anything is applied), then
//! applies each pending migration in its own transaction together with its
//! row in the tracking table `migrate_schema_history`. [`Migrations::status`]
//! reports applied, pending, failed and dirty migrations and problems. See
//! [`Error`] for what can fail.
//!
//! [`Migrations::runner`] gives the options and the other actions: a target
//! version ([`Runner::target`]), a dry run that rolls back
//! ([`Runner::dry_run`]), all pending in one transaction
//! ([`Runner::grouped`]), rollback with the downs ([`Runner::rollback`],
//! [`Runner::rollback_to`], [`Runner::redo`]), [`Runner::baseline`] for a
//! database that existed before, [`Runner::repair`], and the append-only
//! [`Runner::history`]. With foreign keys on, each migration runs with them
//! off and `PRAGMA foreign_key_check` before its commit (see
//! [`Runner::run`]).
//!
//! # Handling errors at startup
//!
//! An application that migrates before it serves anything decides per
//! [`Error`] variant: wait and run again while another process is migrating
//! the same database ([`Error::Locked`], [`Error::InProgress`]); print the
//! message and stop when a person must look ([`Error::Verification`],
//! [`Error::Dirty`], [`Error::MigrationFailed`], …). `Error` is
//! `#[non_exhaustive]`, so the match ends with a wildcard. Each message is
//! complete (it names the migration, the file and line, and SQLite's or your
//! code's own words), so print it with `{}`. The exit codes here are those of
//! the `migrate` command line: 3 when it refused because of what the database
//! holds, before changing anything (restarting will not help: with systemd,
//! `RestartPreventExitStatus=3`), 1 otherwise.
//!
//! ```
//! use std::process::ExitCode;
//! use std::thread::sleep;
//! use std::time::Duration;
//!
//! use migrate::{Error, Migrations};
//!
//! const MIGRATIONS: Migrations = migrate::embed_migrations!("examples/migrations");
//!
//! /// Applies the pending migrations; the exit code to stop with if it
//! /// cannot.
//! fn migrate_or_exit_code(conn: &mut migrate::rusqlite::Connection) -> Result<(), ExitCode> {
//!     let mut attempt = 1;
//!     let error = loop {
//!         match MIGRATIONS.run(conn) {
//!             Ok(report) => {
//!                 for m in &report.applied {
//!                     eprintln!("applied migration {} ({}) in {} ms", m.version, m.name, m.duration.as_millis());
//!                 }
//!                 return Ok(());
//!             }
//!             // Another process is migrating this database: `run` waited
//!             // for its lock up to the lock timeout (60 s by default). Once
//!             // it is done, a run verifies what it applied and finds nothing
//!             // pending.
//!             Err(error @ (Error::Locked { .. } | Error::InProgress { .. })) if attempt < 3 => {
//!                 eprintln!("{error}; trying again");
//!                 sleep(Duration::from_secs(1) * attempt);
//!                 attempt += 1;
//!             }
//!             Err(error) => break error,
//!         }
//!     };
//!     eprintln!("error: {error}");
//!     Err(ExitCode::from(match &error {
//!         // What was applied does not agree with this build (a divergent,
//!         // missing or out-of-order migration, a reused version), or a
//!         // migration was cut short outside a transaction: nothing was
//!         // changed, and a person must decide (see `Error::Dirty`).
//!         Error::Verification(_) | Error::Dirty { .. } => 3,
//!         // A migration failed and was rolled back (or, `dirty`, is marked
//!         // dirty): fix the file the message names.
//!         Error::MigrationFailed { file, dirty, .. } => {
//!             eprintln!("fix `{file}`{}", if *dirty { ", then repair" } else { "" });
//!             1
//!         }
//!         // Still locked after the attempts, the database unreadable, and
//!         // every other variant, including those a later version adds.
//!         _ => 1,
//!     }))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = migrate::rusqlite::Connection::open_in_memory()?;
//! assert_eq!(migrate_or_exit_code(&mut conn), Ok(()));
//!
//! // A newer build applied migration 99, which this one does not know: refused.
//! conn.execute_batch(
//!     "INSERT INTO migrate_schema_history
//!          (version, name, checksum, running_checksum, applied_at, duration_ms, state)
//!      SELECT 99, 'from_a_newer_build', checksum, running_checksum, applied_at, 0, 'applied'
//!      FROM migrate_schema_history WHERE version = 1",
//! )?;
//! assert_eq!(migrate_or_exit_code(&mut conn), Err(ExitCode::from(3)));
//! # Ok(())
//! # }
//! ```

//!
//! # Command line
//!
//! The `migrate` binary (crate `migrate-cli`) runs these actions from a
//! shell over a folder read at run time. With the feature `cli`, `cli::Db`
//! mounts the same commands in your application's own clap parser
//! (`myapp db status`), over your embedded migrations and your connection;
//! see `examples/app_cli.rs`. Its `--json` reports are the serialization of
//! feature `serde` below, with the database they are about.
//!
//! # Features
//!
//! - `serde`: [`Serialize`](https://docs.rs/serde/1/serde/trait.Serialize.html)
//!   on the reports ([`Report`], [`Status`], [`AppliedMigration`],
//!   [`PendingMigration`], [`FailedMigration`], [`DirtyMigration`],
//!   [`RollbackReport`], [`RolledBackMigration`], [`RedoReport`],
//!   [`DryRunReport`], [`DryRunStep`], [`DryRunOutcome`], [`RepairReport`],
//!   [`Repair`], [`RepairAction`], [`Event`], [`EventKind`], [`Direction`],
//!   [`ForeignKeyViolation`]), on [`Problem`], [`Checksum`] and on
//!   [`SchemaObject`], [`ObjectKind`] and [`SchemaDifference`]; each type's
//!   docs show its shape. All of them are `Deserialize` too except the dry
//!   run's three, which hold an [`Error`] (serialized as its message). Durations
//!   are whole milliseconds under `duration_ms`; a checksum is its text
//!   `sha256:<64 hex digits>`; times are the RFC 3339 strings of the tracking
//!   table; fieldless enums are `snake_case` words (`"rolled_back"`); an enum
//!   with fields is an object naming its variant under `kind`
//!   (`{"kind": "divergent", "version": 2, …}`). Reading, unknown fields are
//!   ignored. [`Error`] itself is not serialized: its `Display` is the message.
//! - `time`: `AppliedMigration::applied_at_time`,
//!   `FailedMigration::failed_at_time`, `DirtyMigration::started_at_time`
//!   and `Event::at_time` parse those RFC 3339 strings as a
//!   `time::OffsetDateTime` (the `time` crate, re-exported as `migrate::time`).
//! - `cli`: the command line's commands, above.
//! - `postgres`: `embed_migrations!("migrations", engine = "postgres")`
//!   parses every up and down with PostgreSQL's own parser instead of running
//!   the set on SQLite (pg_query, built from C: needs libclang); see the
//!   guide's build-time checks.

#![warn(missing_docs)]

/// rusqlite 0.42, the SQLite driver the SQLite backend ([`sqlite`]) uses:
/// open connections with it, and write Rust migrations against its
/// `Transaction`, without depending on it yourself.
pub use migrate_core::sqlite::rusqlite;
/// time 0.3 (feature `time`), whose `OffsetDateTime`
/// [`AppliedMigration::applied_at_time`] and its kin return: name it without
/// depending on it yourself.
#[cfg(feature = "time")]
pub use migrate_core::time;
pub use migrate_core::*;
/// Embeds a migrations folder as a [`Migrations`] constant, validated at
/// build time.
///
/// The path is relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`).
/// The expansion is const data: per migration its version, name, file name,
/// SQL (through `include_str!`, so editing a file rebuilds) with its
/// `-- migrate:no-transaction` flags, and the SHA-256 checksum and running
/// checksum computed at build time. Each Rust migration `<version>_<name>.rs`
/// becomes a module of your crate, declared with `#[path]` inside the
/// expansion's block, and its `up` and `down` are embedded as function
/// pointers; so rustc compiles the file (its errors point into it) and
/// editing it rebuilds.
///
/// # Compile errors
///
/// Every problem in the folder at once, each naming its file(s): a missing
/// folder (with the resolved path), no migrations, a duplicate version (every
/// file claiming it, SQL or Rust), a gap (the missing versions), a file name
/// that matches no pattern (including `V<version>__<name>.rs`, `.up.rs` and
/// `.down.rs`), version 0 or one above 2^63 - 1, a down file without its up,
/// a `.down.sql` beside a Rust migration, an empty or whitespace-only file, a
/// file that is not UTF-8, a `-- migrate:` comment that is not a directive or
/// a directive below the first line (with its line), a `.rs` file without a
/// `pub fn up` line, a subfolder, a path that is not a folder, timestamp and
/// sequential versions mixed. A Rust migration that does not compile is an
/// ordinary rustc error in its file.
///
/// The generated code names the crate `::migrate`, so depend on it under that
/// name.
pub use migrate_macros::embed_migrations;

/// The `migrate` command line's commands, to mount in your own clap parser
/// (feature `cli`): add [`cli::Db`] as a subcommand and run it over your
/// embedded migrations and your connection (`myapp db status`). See
/// `examples/app_cli.rs`.
#[cfg(feature = "cli")]
pub use migrate_cli as cli;

/// The guide's pages (`docs/`), one item per page, so that `cargo test --doc`
/// compiles and runs their examples. Not part of the API: compiled only for
/// doctests.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../docs/README.md")]
    pub struct Index;
    #[doc = include_str!("../docs/setup.md")]
    pub struct Setup;
    #[doc = include_str!("../docs/build-time-checks.md")]
    pub struct BuildTimeChecks;
    #[doc = include_str!("../docs/running.md")]
    pub struct Running;
    #[doc = include_str!("../docs/rollback.md")]
    pub struct Rollback;
    #[doc = include_str!("../docs/rust-migrations.md")]
    pub struct RustMigrations;
    #[doc = include_str!("../docs/run-controls.md")]
    pub struct RunControls;
    #[doc = include_str!("../docs/baseline-and-repair.md")]
    pub struct BaselineAndRepair;
    #[doc = include_str!("../docs/cli.md")]
    pub struct Cli;
    #[doc = include_str!("../docs/reliability.md")]
    pub struct Reliability;
    #[doc = include_str!("../docs/coming-from-another-tool.md")]
    pub struct ComingFromAnotherTool;
    #[doc = include_str!("../docs/postgresql.md")]
    pub struct Postgresql;
}
