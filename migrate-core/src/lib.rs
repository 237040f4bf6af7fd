//! The runtime of [`migrate`](https://docs.rs/migrate) and the one grammar of a
//! migrations folder.
//!
//! Most users depend on the `migrate` crate, which re-exports this one and the
//! `embed_migrations!` macro. This crate holds:
//!
//! - [`folder`]: file names, folder rules and their errors, used by the macro
//!   at build time and by [`Migrations::from_folder`] at run time;
//! - [`other_tools`]: the section markers of other tools' one-file formats
//!   (goose, dbmate, …), which make a folder invalid;
//! - [`template`]: the text `migrate new` writes, which the folder refuses
//!   while it is untouched;
//! - [`Checksum`]: SHA-256 of a file with CRLF and a BOM normalised away;
//! - the model: [`Migration`], [`Migrations`] (built only through the folder
//!   grammar or the macro's checked expansion), [`Schema`], the reports and
//!   [`Error`];
//! - the plan (private, pure): what is pending, what disagrees, what to roll
//!   back, what a repair records;
//! - the driver: every option and action on [`Runner`] ([`Migrations::run`],
//!   [`Migrations::status`], [`Migrations::rollback`], target, dry run,
//!   grouped, baseline, repair, history), over the [`backend`] traits;
//! - [`sqlite`] (feature `sqlite`, on by default): the SQLite backend, the
//!   only module that names rusqlite, with the build-time check
//!   ([`sqlite::verify()`]).
//! - `postgres::parse` (feature `pg-parse`): every statement of a set parsed
//!   with PostgreSQL's own parser (pg_query), the build-time check of a
//!   PostgreSQL set.
//!
//! Two more features: `serde`, `Serialize` on the reports, [`Problem`],
//! [`Checksum`] and the schema types, and `Deserialize` on all of them but
//! the dry run's (durations as whole milliseconds under `duration_ms`; each
//! type's docs show its shape); and `time`, the reports' RFC 3339 times as
//! `time::OffsetDateTime` (`AppliedMigration::applied_at_time` and its
//! kin).
//!
//! # The tracking table
//!
//! `migrate_schema_history` by default ([`Runner::table`]), created on the
//! first run, one row per version:
//!
//! | column             | meaning |
//! |--------------------|---------|
//! | `version`          | `INTEGER PRIMARY KEY`, the migration's version |
//! | `name`             | the migration's name |
//! | `checksum`         | `sha256:<hex>` of the up file (or `.rs` file) when it ran |
//! | `running_checksum` | `sha256:<hex>` over this and every applied checksum below it ([`Checksum::chain`]); `NULL` unless applied |
//! | `applied_at`       | UTC, RFC 3339 with milliseconds: when it was applied, failed, or was marked dirty |
//! | `duration_ms`      | how long it ran, milliseconds |
//! | `state`            | `applied`; `failed` (the last attempt was rolled back); `dirty_up` / `dirty_down` (its up / down ran outside a transaction and did not finish) |
//! | `error`            | the failure's message, for `failed` and a dirty row that failed |
//!
//! A rolled-back migration's row is deleted. Beside it, `<table>_events` is
//! the append-only history ([`Runner::history`]): one row per event
//! (`applied`, `rolled_back`, `failed`, `baselined`, `repaired`) with its
//! time, version, name, direction, checksum, duration and detail.

#![warn(missing_docs)]

// Layers, importing only downward: grammar -> model -> plan -> driver
// (with the backend traits) -> backends.

// Grammar.
pub mod checksum;
pub mod directive;
pub mod folder;
pub mod formats;
pub mod other_tables;
pub mod other_tools;
pub mod template;

// Model.
mod error;
mod migration;
mod report;
mod schema;
#[cfg(feature = "serde")]
mod serde_support;
pub mod verification;

// Plan.
mod plan;

// Driver.
pub mod backend;
mod driver;

// Backends.
#[cfg(any(feature = "postgres", feature = "tokio-postgres", feature = "pg-parse"))]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use backend::{Backend, Blocking, Database};
pub use checksum::{Checksum, ChecksumAlgorithm};
pub use driver::{DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE, Progress, Runner};
pub use error::{Error, Irreversible, Problem, Result};
pub use migration::{BoxError, Migration, MigrationKind, Migrations, RustCode, Script};
pub use report::{
    AppliedMigration, Direction, DirtyMigration, DryRunOutcome, DryRunReport, DryRunStep, Event,
    EventKind, FailedMigration, ForeignKeyViolation, ForeignKeyViolations, PendingMigration,
    RedoReport, Repair, RepairAction, RepairReport, Report, RollbackReport, RolledBackMigration,
    Status,
};
pub use schema::{ObjectKind, Schema, SchemaDifference, SchemaObject};
/// time 0.3 (feature `time`), whose `OffsetDateTime`
/// [`AppliedMigration::applied_at_time`] and its kin return: name it without
/// depending on it yourself.
#[cfg(feature = "time")]
pub use time;
