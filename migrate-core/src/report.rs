//! What the runner reports: applied, pending, failed and dirty migrations,
//! the outcome of a run, a rollback, a dry run or a repair, and the history.
//!
//! With the feature `serde`, every type here is `Serialize`, and all but the
//! dry run's (which hold an [`Error`]) are `Deserialize`: each type's docs
//! show its shape. Durations are whole milliseconds under `duration_ms`,
//! checksums their text form `sha256:<64 hex digits>`, times the RFC 3339
//! strings of the tracking table, fieldless enums `snake_case` strings.

use std::fmt;
use std::time::Duration;

use crate::checksum::Checksum;
use crate::error::{Error, Problem};

/// Which way a migration runs: its up, or its down.
///
/// Serialized (feature `serde`) as `"up"` or `"down"`, as in the history
/// table; deserializes too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Direction {
    /// Applying the migration.
    Up,
    /// Reverting it.
    Down,
}

/// A migration recorded as applied in the tracking table.
///
/// Serialized (feature `serde`) as `{"version": 4, "name": "add_email",
/// "checksum": "sha256:…", "applied_at": "2024-01-31T12:00:00.123Z",
/// "duration_ms": 12}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AppliedMigration {
    /// The version.
    pub version: u64,
    /// The name when it was applied.
    pub name: String,
    /// The checksum of its up file when it was applied.
    pub checksum: Checksum,
    /// When it was applied: UTC, RFC 3339 with milliseconds
    /// (`2024-01-31T12:00:00.123Z`), as the tracking table stores it; with
    /// the feature `time`, `applied_at_time()` parses
    /// it.
    pub applied_at: String,
    /// How long its SQL took, in whole milliseconds (0 for a baselined one);
    /// `duration_ms` when serialized.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "duration_ms", with = "crate::serde_support::millis")
    )]
    pub duration: Duration,
}

#[cfg(feature = "time")]
impl AppliedMigration {
    /// [`applied_at`](Self::applied_at) as a time (feature `time`): at UTC,
    /// as the runner writes it; a row written with another offset keeps it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("0001_users.sql"), "CREATE TABLE users (id INTEGER);")?;
    /// # let migrations = migrate_core::Migrations::from_folder(dir.path())?;
    /// let mut conn = migrate_core::sqlite::Connection::open_in_memory()?;
    /// let report = migrations.run(&mut conn)?;
    /// let applied_at = report.applied[0].applied_at_time()?;
    /// assert_eq!(applied_at.offset(), migrate_core::time::UtcOffset::UTC);
    /// assert!(applied_at <= migrate_core::time::OffsetDateTime::now_utc());
    /// # Ok(())
    /// # }
    /// # #[cfg(not(feature = "sqlite"))]
    /// # fn main() {}
    /// ```
    ///
    /// # Errors
    ///
    /// The text is not RFC 3339: a tracking row edited by hand, or written by
    /// another tool.
    pub fn applied_at_time(&self) -> Result<time::OffsetDateTime, time::error::Parse> {
        parse_time(&self.applied_at)
    }
}

/// A migration whose last attempt failed and was rolled back.
///
/// Serialized (feature `serde`) as `{"version": 3, "name": "posts_by_user",
/// "checksum": "sha256:…", "failed_at": "2024-01-31T12:00:00.123Z",
/// "error": "migration 3 (posts_by_user) failed in …"}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FailedMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// The checksum of the up file that failed.
    pub checksum: Checksum,
    /// When it failed: UTC, RFC 3339 with milliseconds; with the feature
    /// `time`, `failed_at_time()` parses it.
    pub failed_at: String,
    /// SQLite's message, with the file, line and statement.
    pub error: String,
}

#[cfg(feature = "time")]
impl FailedMigration {
    /// [`failed_at`](Self::failed_at) as a time (feature `time`), at UTC as
    /// for [`AppliedMigration::applied_at_time`].
    ///
    /// # Errors
    ///
    /// As [`AppliedMigration::applied_at_time`].
    pub fn failed_at_time(&self) -> Result<time::OffsetDateTime, time::error::Parse> {
        parse_time(&self.failed_at)
    }
}

/// A migration marked dirty: it ran outside a transaction
/// (`-- migrate:no-transaction`) and did not finish, so part of it may be in
/// the database. Every run, rollback, redo and baseline refuses until
/// [`Runner::repair`](crate::Runner::repair) clears it.
///
/// Serialized (feature `serde`) as `{"version": 2, "name": "split",
/// "direction": "up", "started_at": "2024-01-31T12:00:00.123Z", "error":
/// "…" | null}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DirtyMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// Whether its up or its down was cut short.
    pub direction: Direction,
    /// When it started: UTC, RFC 3339 with milliseconds; with the feature
    /// `time`, `started_at_time()` parses it.
    pub started_at: String,
    /// The error it failed with; `None` when the process running it stopped
    /// (or is still running it) before an error could be recorded.
    pub error: Option<String>,
}

#[cfg(feature = "time")]
impl DirtyMigration {
    /// [`started_at`](Self::started_at) as a time (feature `time`), at UTC as
    /// for [`AppliedMigration::applied_at_time`].
    ///
    /// # Errors
    ///
    /// As [`AppliedMigration::applied_at_time`].
    pub fn started_at_time(&self) -> Result<time::OffsetDateTime, time::error::Parse> {
        parse_time(&self.started_at)
    }
}

/// A migration of the set that the database has not applied.
///
/// Serialized (feature `serde`) as `{"version": 4, "name": "tags", "file":
/// "0004_tags.sql"}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PendingMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// The up file.
    pub file: String,
}

/// What [`Runner::run`](crate::Runner::run) applied, in the order it applied
/// them.
///
/// Serialized (feature `serde`) as `{"applied": [<AppliedMigration>, …]}`;
/// deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Report {
    /// The migrations applied by this run; empty when the database was up to
    /// date (or already at the target).
    pub applied: Vec<AppliedMigration>,
}

/// A migration reverted by its down.
///
/// Serialized (feature `serde`) as `{"version": 3, "name": "posts_by_user",
/// "duration_ms": 2}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RolledBackMigration {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// How long its down took, in whole milliseconds; `duration_ms` when
    /// serialized.
    #[cfg_attr(
        feature = "serde",
        serde(rename = "duration_ms", with = "crate::serde_support::millis")
    )]
    pub duration: Duration,
}

/// What [`Runner::rollback`](crate::Runner::rollback) and
/// [`Runner::rollback_to`](crate::Runner::rollback_to) reverted, newest first.
///
/// Serialized (feature `serde`) as `{"rolled_back": [<RolledBackMigration>,
/// …]}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RollbackReport {
    /// The migrations rolled back, in the order their downs ran (highest
    /// version first); empty when nothing was above the target.
    pub rolled_back: Vec<RolledBackMigration>,
}

/// What [`Runner::redo`](crate::Runner::redo) did: the latest applied
/// migration reverted, then applied again.
///
/// Serialized (feature `serde`) as `{"rolled_back": <RolledBackMigration>,
/// "applied": [<AppliedMigration>, …]}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RedoReport {
    /// The down that ran.
    pub rolled_back: RolledBackMigration,
    /// What the run after it applied: the same migration again (and, with
    /// out-of-order migrations allowed, any pending one below it).
    pub applied: Vec<AppliedMigration>,
}

/// What would happen to one pending migration in a real run, found by
/// [`Runner::dry_run`](crate::Runner::dry_run).
///
/// Serialized (feature `serde`) as `{"outcome": "ok" | "failed" |
/// "skipped_no_transaction", "duration_ms": <whole milliseconds, when ok> |
/// null, "error": <the error's message, when failed> | null}`. It does not
/// deserialize: an [`Error`] cannot be rebuilt from its message.
#[non_exhaustive]
#[derive(Debug)]
pub enum DryRunOutcome {
    /// It applied without error (then was rolled back with everything else);
    /// duration in whole milliseconds.
    Ok(Duration),
    /// It failed with this error; a real run would stop here, so no later
    /// migration was tried.
    Failed(Error),
    /// Not tried: it runs outside a transaction (`-- migrate:no-transaction`),
    /// so it cannot be undone. Later migrations are still tried.
    SkippedNoTransaction,
}

/// One pending migration and what a real run would do with it.
///
/// Serialized (feature `serde`) as `{"version": 5, "name": "broken", "file":
/// "0005_broken.sql", "outcome": …, "duration_ms": …, "error": …}`, the last
/// three its [`DryRunOutcome`]'s; it does not deserialize.
#[non_exhaustive]
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DryRunStep {
    /// The version.
    pub version: u64,
    /// The name.
    pub name: String,
    /// The up file.
    pub file: String,
    /// What happened to it inside the rolled-back transaction.
    #[cfg_attr(feature = "serde", serde(flatten))]
    pub outcome: DryRunOutcome,
}

/// What [`Runner::dry_run`](crate::Runner::dry_run) found; the database was
/// left unchanged.
///
/// Serialized (feature `serde`) as `{"steps": [<DryRunStep>, …]}`; it does
/// not deserialize.
#[non_exhaustive]
#[derive(Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DryRunReport {
    /// The pending migrations tried, in version order, up to and including
    /// the first that failed.
    pub steps: Vec<DryRunStep>,
}

impl DryRunReport {
    /// The first failure, if a real run would fail.
    pub fn failure(&self) -> Option<(&DryRunStep, &Error)> {
        self.steps.iter().find_map(|step| match &step.outcome {
            DryRunOutcome::Failed(error) => Some((step, error)),
            _ => None,
        })
    }
}

/// One change made by [`Runner::repair`](crate::Runner::repair).
///
/// Serialized (feature `serde`) as an object whose `kind` names the variant
/// in `snake_case`, beside the variant's fields: `{"kind":
/// "accepted_checksum", "previous": "sha256:…", "current": "sha256:…"}`,
/// `{"kind": "cleared_dirty"}`; deserializes too. Its `Display` is the
/// sentence `migrate repair` prints.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "kind", rename_all = "snake_case"))]
pub enum RepairAction {
    /// A divergent migration's recorded checksum replaced by this build's.
    AcceptedChecksum {
        /// The checksum recorded when it was applied.
        previous: Checksum,
        /// This build's checksum, now recorded.
        current: Checksum,
    },
    /// An applied version that a different migration took
    /// ([`Problem::VersionReused`]) now records that migration: its name
    /// ([`Repair::name`]) and checksum. Only with
    /// [`Runner::accept_reused_versions`](crate::Runner::accept_reused_versions).
    AcceptedReusedVersion {
        /// The name recorded when it was applied.
        previous_name: String,
        /// The checksum recorded when it was applied.
        previous: Checksum,
        /// The name of this build's migration at that version, now recorded.
        name: String,
        /// Its checksum, now recorded.
        current: Checksum,
    },
    /// A renamed file with the same content (not a problem) now has its
    /// new name recorded too, so that a later edit of it is divergent and
    /// not a reused version.
    RecordedName {
        /// The name recorded when it was applied.
        previous_name: String,
        /// The name of this build's migration at that version, now recorded.
        name: String,
    },
    /// A dirty mark removed: the migration counts as not applied (see
    /// [`Repair::direction`] for which step was cut short).
    ClearedDirty,
    /// A failed attempt's record removed.
    ClearedFailed,
}

impl fmt::Display for RepairAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepairAction::AcceptedChecksum { previous, current } => write!(
                f,
                "accepted the current checksum {current} (was applied with {previous})"
            ),
            RepairAction::AcceptedReusedVersion {
                previous_name,
                previous,
                name,
                current,
            } => write!(
                f,
                "accepted {name} at this version with checksum {current} (was applied as {previous_name} with {previous})"
            ),
            RepairAction::RecordedName {
                previous_name,
                name,
            } => write!(
                f,
                "recorded its new name {name} (was applied as {previous_name}, with the same checksum)"
            ),
            RepairAction::ClearedDirty => {
                f.write_str("cleared the dirty mark; the migration counts as not applied")
            }
            RepairAction::ClearedFailed => f.write_str("cleared the failed attempt"),
        }
    }
}

/// A migration changed by a repair.
///
/// Serialized (feature `serde`) as `{"version": 1, "name": "users",
/// "direction": "up", "action": <RepairAction>}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Repair {
    /// The version.
    pub version: u64,
    /// The name: the one now recorded, after accepting a reused version or
    /// recording a new name.
    pub name: String,
    /// The step concerned: the one cut short for a cleared dirty mark, `Up`
    /// otherwise.
    pub direction: Direction,
    /// What changed.
    pub action: RepairAction,
}

/// What [`Runner::repair`](crate::Runner::repair) changed, in version order.
///
/// Serialized (feature `serde`) as `{"repairs": [<Repair>, …]}`; deserializes
/// too.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RepairReport {
    /// Every change; empty when there was nothing to repair.
    pub repairs: Vec<Repair>,
}

/// The state of a database against a set of migrations.
///
/// Serialized (feature `serde`) as `{"current_version": 9 | null, "applied":
/// [<AppliedMigration>, …], "pending": [<PendingMigration>, …], "failed":
/// [<FailedMigration>, …], "dirty": [<DirtyMigration>, …], "problems":
/// [<Problem>, …]}` ([`is_up_to_date`](Status::is_up_to_date) is not a
/// field); deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Status {
    /// The highest applied version; `None` on a database with none applied.
    pub current_version: Option<u64>,
    /// Applied migrations, in version order.
    pub applied: Vec<AppliedMigration>,
    /// Migrations of the set not applied yet, in version order.
    pub pending: Vec<PendingMigration>,
    /// Migrations whose last attempt failed (and was rolled back).
    pub failed: Vec<FailedMigration>,
    /// Migrations cut short outside a transaction; runs refuse until a
    /// repair.
    pub dirty: Vec<DirtyMigration>,
    /// Every disagreement between the database and the set: divergent and
    /// missing migrations, versions a different migration took, and
    /// out-of-order migrations.
    pub problems: Vec<Problem>,
}

impl Status {
    /// Whether nothing is pending, dirty or in disagreement.
    pub fn is_up_to_date(&self) -> bool {
        self.pending.is_empty() && self.problems.is_empty() && self.dirty.is_empty()
    }
}

/// The kind of a history event.
///
/// Serialized (feature `serde`) as its [`as_str`](EventKind::as_str) name,
/// `"applied"`, `"rolled_back"`, …; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EventKind {
    /// A migration's up committed.
    Applied,
    /// A migration's down committed.
    RolledBack,
    /// A migration's up or down failed (see [`Event::detail`]).
    Failed,
    /// A migration was marked applied without running, by a baseline.
    Baselined,
    /// A repair changed a migration's record (see [`Event::detail`]).
    Repaired,
}

impl EventKind {
    /// The name stored in the history table: `applied`, `rolled_back`,
    /// `failed`, `baselined` or `repaired`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Applied => "applied",
            EventKind::RolledBack => "rolled_back",
            EventKind::Failed => "failed",
            EventKind::Baselined => "baselined",
            EventKind::Repaired => "repaired",
        }
    }

    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn parse(text: &str) -> Option<EventKind> {
        [
            EventKind::Applied,
            EventKind::RolledBack,
            EventKind::Failed,
            EventKind::Baselined,
            EventKind::Repaired,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

impl Direction {
    /// `up` or `down`, as stored in the history table.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the append-only history
/// ([`Runner::history`](crate::Runner::history)).
///
/// Serialized (feature `serde`) as `{"id": 1, "at":
/// "2024-01-31T12:00:00.123Z", "event": "applied", "version": 1, "name":
/// "users", "direction": "up", "checksum": "sha256:…" | null, "duration_ms":
/// 3 | null, "detail": "…" | null}` (the kind under `event`, as in the
/// history table); deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// Position in the history, increasing from 1.
    pub id: u64,
    /// When it happened: UTC, RFC 3339 with milliseconds; with the feature
    /// `time`, `at_time()` parses it.
    pub at: String,
    /// What happened; `event` when serialized.
    #[cfg_attr(feature = "serde", serde(rename = "event"))]
    pub kind: EventKind,
    /// The migration's version.
    pub version: u64,
    /// The migration's name.
    pub name: String,
    /// Whether it was about the up or the down (a baseline and a repair
    /// count as up).
    pub direction: Direction,
    /// The checksum involved: the file's when applied, rolled back, failed
    /// or baselined; the accepted one after a repair (under the accepted
    /// name, after a repair of a reused version).
    pub checksum: Option<Checksum>,
    /// How long the migration ran, in whole milliseconds, for applied,
    /// rolled back and failed events; `duration_ms` when serialized.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "duration_ms",
            default,
            with = "crate::serde_support::option_millis"
        )
    )]
    pub duration: Option<Duration>,
    /// The error of a failure, or what a repair changed.
    pub detail: Option<String>,
}

#[cfg(feature = "time")]
impl Event {
    /// [`at`](Self::at) as a time (feature `time`), at UTC as for
    /// [`AppliedMigration::applied_at_time`].
    ///
    /// # Errors
    ///
    /// As [`AppliedMigration::applied_at_time`].
    pub fn at_time(&self) -> Result<time::OffsetDateTime, time::error::Parse> {
        parse_time(&self.at)
    }
}

/// One of the reports' times, RFC 3339 (`2024-01-31T12:00:00.123Z`).
#[cfg(feature = "time")]
fn parse_time(text: &str) -> Result<time::OffsetDateTime, time::error::Parse> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
}

/// A row that breaks a foreign key, from SQLite's `PRAGMA foreign_key_check`
/// (<https://www.sqlite.org/pragma.html#pragma_foreign_key_check>).
///
/// Serialized (feature `serde`) as `{"table": "books", "rowid": 3 | null,
/// "parent": "authors", "foreign_key": 0}`; deserializes too.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ForeignKeyViolation {
    /// The table holding the row.
    pub table: String,
    /// The row's rowid; `None` for a `WITHOUT ROWID` table.
    pub rowid: Option<i64>,
    /// The table the row refers to.
    pub parent: String,
    /// Which foreign key of `table` it breaks: its index in
    /// `PRAGMA foreign_key_list(table)`.
    pub foreign_key: i64,
}

impl fmt::Display for ForeignKeyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rowid {
            Some(rowid) => write!(
                f,
                "row {rowid} of `{}` refers to a missing row of `{}`",
                self.table, self.parent
            ),
            None => write!(
                f,
                "a row of `{}` refers to a missing row of `{}`",
                self.table, self.parent
            ),
        }
    }
}

/// The foreign key violations a migration left behind; the source of
/// [`Error::MigrationFailed`] when the check before commit finds any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ForeignKeyViolations(pub Vec<ForeignKeyViolation>);

impl fmt::Display for ForeignKeyViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 5;
        f.write_str("foreign key check failed: ")?;
        for (i, violation) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{violation}")?;
        }
        if self.0.len() > SHOWN {
            write!(f, "; and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}
