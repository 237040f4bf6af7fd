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
//! optional `<version>_<name>.down.sql`, or `V<version>__<name>.sql`. Versions
//! are sequential without gaps (`0001`, `0002`, …; leading zeros allowed) or
//! 14-digit UTC timestamps (`20240131120000`). Hidden files and `README*` are
//! ignored; anything else is a compile error. See [`folder`] for every rule.
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
//! or out-of-order migration stops it before anything is applied), then
//! applies each pending migration in its own transaction together with its
//! row in the tracking table `migrate_schema_history`. [`Migrations::status`]
//! reports applied, pending, failed and problems. [`Migrations::runner`]
//! changes the options. See [`Error`] for what can fail.

#![warn(missing_docs)]

pub use migrate_core::*;
/// Embeds a migrations folder as a [`Migrations`] constant, validated at
/// build time.
///
/// The path is relative to the crate's `Cargo.toml` (`CARGO_MANIFEST_DIR`).
/// The expansion is const data: per migration its version, name, file name,
/// SQL (through `include_str!`, so editing a file rebuilds), and the SHA-256
/// checksum and running checksum computed at build time.
///
/// # Compile errors
///
/// Every problem in the folder at once, each naming its file(s): a missing
/// folder (with the resolved path), no migrations, a duplicate version (every
/// file claiming it), a gap (the missing versions), a file name that matches
/// no pattern, version 0 or one above 2^63 - 1, a down file without its up,
/// an empty or whitespace-only file, a file that is not UTF-8, a subfolder,
/// a path that is not a folder, timestamp and sequential versions mixed.
///
/// The generated code names the crate `::migrate`, so depend on it under that
/// name.
pub use migrate_macros::embed_migrations;
