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
//! - the runner (feature `sqlite`, on by default), over a [`Backend`]
//!   implemented for [`rusqlite::Connection`]: [`Migrations::run`],
//!   [`Migrations::status`], [`Migrations::rollback`], and every option and
//!   action on [`Runner`] (target, dry run, grouped, baseline, repair,
//!   history).
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

pub mod checksum;
pub mod directive;
pub mod folder;
mod migration;
pub mod other_tools;
pub mod template;

#[cfg(feature = "sqlite")]
mod admin;
#[cfg(feature = "sqlite")]
mod backend;
#[cfg(feature = "sqlite")]
mod error;
#[cfg(feature = "sqlite")]
mod foreign_keys;
#[cfg(feature = "sqlite")]
mod guard;
#[cfg(feature = "sqlite")]
mod in_progress;
#[cfg(feature = "sqlite")]
mod report;
#[cfg(feature = "sqlite")]
mod rollback;
#[cfg(feature = "sqlite")]
mod runner;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
mod script;
#[cfg(feature = "sqlite")]
pub mod verify;

pub use checksum::{Checksum, ChecksumAlgorithm};
pub use migration::{BoxError, Migration, MigrationKind, Migrations, RustStep};

#[cfg(feature = "sqlite")]
pub use backend::Backend;
#[cfg(feature = "sqlite")]
pub use error::{Error, Irreversible, Problem, Result};
#[cfg(feature = "sqlite")]
pub use report::{
    AppliedMigration, Direction, DirtyMigration, DryRunOutcome, DryRunReport, DryRunStep, Event,
    EventKind, FailedMigration, ForeignKeyViolation, ForeignKeyViolations, PendingMigration,
    RedoReport, Repair, RepairAction, RepairReport, Report, RollbackReport, RolledBackMigration,
    Status,
};
#[cfg(feature = "sqlite")]
pub use runner::{DEFAULT_LOCK_TIMEOUT, DEFAULT_TABLE, Runner};
#[cfg(feature = "sqlite")]
pub use rusqlite;
#[cfg(feature = "sqlite")]
pub use schema::{ObjectKind, Schema, SchemaDifference, SchemaObject};
#[cfg(feature = "sqlite")]
pub use verify::{VerifyError, VerifyProblem, verify};
