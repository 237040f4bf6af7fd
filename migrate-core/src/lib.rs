//! The runtime of [`migrate`](https://docs.rs/migrate) and the one grammar of a
//! migrations folder.
//!
//! Most users depend on the `migrate` crate, which re-exports this one and the
//! `embed_migrations!` macro. This crate holds:
//!
//! - [`folder`]: file names, folder rules and their errors, used by the macro
//!   at build time and by [`Migrations::from_folder`] at run time;
//! - [`Checksum`]: SHA-256 of a file with CRLF and a BOM normalised away;
//! - [`Migrations::run`] and [`Migrations::status`] (feature `sqlite`, on by
//!   default): the runner, over a [`Backend`] implemented for
//!   [`rusqlite::Connection`].
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
//! | `checksum`         | `sha256:<hex>` of the up file when it ran |
//! | `running_checksum` | `sha256:<hex>` over this and every applied checksum below it ([`Checksum::chain`]); `NULL` on a failure |
//! | `applied_at`       | UTC, RFC 3339 with milliseconds: when it was applied, or when it failed |
//! | `duration_ms`      | how long its SQL ran, milliseconds |
//! | `success`          | 1 applied, 0 the last attempt failed and was rolled back |
//! | `error`            | the failure's message, when `success` is 0 |

#![warn(missing_docs)]

pub mod checksum;
pub mod directive;
pub mod folder;
mod migration;

#[cfg(feature = "sqlite")]
mod admin;
#[cfg(feature = "sqlite")]
mod backend;
#[cfg(feature = "sqlite")]
mod error;
#[cfg(feature = "sqlite")]
mod report;
#[cfg(feature = "sqlite")]
mod rollback;
#[cfg(feature = "sqlite")]
mod runner;
#[cfg(feature = "sqlite")]
mod script;

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
