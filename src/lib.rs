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
//! [`sqlite::verify()`]). `embed_migrations!("migrations", verify = false)` turns it
//! off for SQL that needs the application's own functions or extensions. The
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
//! # Command line
//!
//! The `migrate` binary (crate `migrate-cli`) runs these actions from a
//! shell over a folder read at run time. With the feature `cli`, `cli::Db`
//! mounts the same commands in your application's own clap parser
//! (`myapp db status`), over your embedded migrations and your connection;
//! see `examples/app_cli.rs`.

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
