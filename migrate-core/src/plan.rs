//! The plan: what to do, worked out from the tracking table's state, the set
//! and the options, with no I/O.
//!
//! The driver reads the tracking table through a backend, asks the plan,
//! and carries out what it says; a sync and an async driver share every
//! decision here (refinery's two copies of one loop are the warning). Each
//! function is unit-tested below on the cases `tests/model.rs` checks end to
//! end (that test is an independent oracle and does not call this module).

use crate::checksum::Checksum;
use crate::error::{Error, Irreversible, Problem, Result};
use crate::migration::{Migration, MigrationKind, Migrations, Script};
use crate::report::{AppliedMigration, DirtyMigration, RepairAction};

/// The options that change what is pending or refused.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    /// Apply nothing above this version.
    pub(crate) target: Option<u64>,
    /// Apply pending migrations below the latest applied one.
    pub(crate) allow_out_of_order: bool,
}

/// What verification found: the pending migrations (indices into the set,
/// in version order) and every disagreement.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Diagnosis {
    pub(crate) pending: Vec<usize>,
    pub(crate) problems: Vec<Problem>,
}

/// Everything after the applied prefix that ends at `index` (none applied:
/// `None`) is pending, and nothing disagrees.
pub(crate) fn after_prefix(set: &Migrations, index: Option<usize>) -> Diagnosis {
    Diagnosis {
        pending: (index.map_or(0, |i| i + 1)..set.len()).collect(),
        problems: Vec::new(),
    }
}

/// The fast path: when the latest applied row's running checksum is the
/// set's at that version, it covers every applied checksum below it (see
/// [`Checksum::chain`]), so the applied migrations are exactly the set's
/// prefix up to it. Returns that prefix's last index, or `None` when the
/// rows must be compared one by one.
pub(crate) fn applied_prefix(set: &Migrations, latest: (u64, Checksum)) -> Option<usize> {
    let (version, running) = latest;
    set.position(version)
        .filter(|&index| set.as_slice()[index].running_checksum() == running)
}

/// Compares every applied migration (in version order) with the set: the
/// pending migrations are those not applied, and an applied row that
/// disagrees, or a pending migration older than the latest applied one, is
/// a problem.
pub(crate) fn diagnose(set: &Migrations, applied: &[AppliedMigration]) -> Diagnosis {
    let migrations = set.as_slice();
    let mut problems: Vec<Problem> = applied
        .iter()
        .filter_map(|row| compare(set, row, applied))
        .collect();
    let latest_applied = applied.last().map_or(0, |row| row.version);
    let pending: Vec<usize> = (0..migrations.len())
        .filter(|&i| {
            applied
                .binary_search_by_key(&migrations[i].version(), |row| row.version)
                .is_err()
        })
        .collect();
    for &i in &pending {
        if migrations[i].version() < latest_applied {
            problems.push(Problem::OutOfOrder {
                version: migrations[i].version(),
                name: migrations[i].name().to_owned(),
                file: migrations[i].file().to_owned(),
                latest_applied,
            });
        }
    }
    Diagnosis { pending, problems }
}

/// How an applied row (one of `applied`, in version order) disagrees with
/// the set's migration at its version, if it does: missing, divergent (same
/// name, another checksum) or version reused (another name and another
/// checksum). The same checksum under another name is a renamed file with
/// the same content: what was applied is what the file says, and the fast
/// path, which compares running checksums only, agrees.
pub(crate) fn compare(
    set: &Migrations,
    row: &AppliedMigration,
    applied: &[AppliedMigration],
) -> Option<Problem> {
    let Some(migration) = set.get(row.version) else {
        return Some(Problem::Missing {
            version: row.version,
            name: row.name.clone(),
        });
    };
    if migration.checksum() == row.checksum {
        return None;
    }
    if migration.name() == row.name {
        return Some(Problem::Divergent {
            version: row.version,
            name: migration.name().to_owned(),
            file: migration.file().to_owned(),
            applied: row.checksum,
            embedded: migration.checksum(),
        });
    }
    // Renumbered: the applied name at another version (the migration at this
    // one has another name), unless that version is applied under the same
    // name (two migrations named alike).
    let renumbered = set
        .iter()
        .find(|m| {
            m.name() == row.name
                && applied
                    .binary_search_by_key(&m.version(), |a| a.version)
                    .ok()
                    .is_none_or(|i| applied[i].name != row.name)
        })
        .map(|m| (m.version(), m.file().to_owned()));
    Some(Problem::VersionReused {
        version: row.version,
        applied_name: row.name.clone(),
        name: migration.name().to_owned(),
        file: migration.file().to_owned(),
        renumbered,
    })
}

/// The pending migrations to apply, up to the target: refused with the first
/// problem that blocks (every problem but out of order, when that is
/// allowed).
pub(crate) fn to_apply(
    set: &Migrations,
    diagnosis: Diagnosis,
    options: Options,
) -> Result<Vec<usize>> {
    let blocking = diagnosis.problems.into_iter().find(|problem| {
        !(options.allow_out_of_order && matches!(problem, Problem::OutOfOrder { .. }))
    });
    if let Some(problem) = blocking {
        return Err(Error::Verification(problem));
    }
    let mut pending = diagnosis.pending;
    if let Some(target) = options.target {
        let migrations = set.as_slice();
        pending.retain(|&i| migrations[i].version() <= target);
    }
    Ok(pending)
}

/// Refuses, before anything is applied, a pending Rust migration whose code
/// is not compiled in and, in a grouped run, a migration that must run
/// outside a transaction.
pub(crate) fn refuse_before_applying(
    set: &Migrations,
    pending: &[usize],
    grouped: bool,
) -> Result<()> {
    for migration in pending.iter().map(|&i| &set.as_slice()[i]) {
        if !migration.is_runnable() {
            return Err(not_compiled(migration));
        }
        if grouped && migration.up_no_transaction() {
            return Err(Error::NoTransactionInGroup {
                version: migration.version(),
                name: migration.name().to_owned(),
                file: migration.file().to_owned(),
            });
        }
    }
    Ok(())
}

/// Refuses while a migration is marked dirty: [`Error::InProgress`] while
/// another process is still running it, [`Error::Dirty`] once none is.
/// `another_is_running` is asked only when there is a dirty mark.
pub(crate) fn refuse_dirty(
    dirty: Option<DirtyMigration>,
    another_is_running: impl FnOnce() -> bool,
) -> Result<()> {
    match dirty {
        Some(dirty) if another_is_running() => Err(Error::InProgress {
            version: dirty.version,
            name: dirty.name,
        }),
        Some(dirty) => Err(Error::Dirty {
            version: dirty.version,
            name: dirty.name,
            direction: dirty.direction,
            error: dirty.error,
        }),
        None => Ok(()),
    }
}

/// The running checksums of `rows` (applied, in version order, all above
/// the version whose running checksum is `below`), chained anew from it:
/// after an out-of-order migration is applied under them, or a repair
/// changed a checksum.
pub(crate) fn rechain<'r>(
    below: Option<Checksum>,
    rows: impl IntoIterator<Item = (u64, &'r Checksum)>,
) -> Vec<(u64, Checksum)> {
    let mut previous = below;
    rows.into_iter()
        .map(|(version, checksum)| {
            let running = Checksum::chain(previous.as_ref(), version, checksum);
            previous = Some(running);
            (version, running)
        })
        .collect()
}

/// How far a rollback goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Until {
    /// The last `n` applied migrations.
    Count(usize),
    /// Everything above this version.
    Version(u64),
}

/// The version a rollback stops above: `Count(n)` is the version below the
/// last `n` applied (0 when fewer are applied).
pub(crate) fn rollback_target(applied: &[AppliedMigration], until: Until) -> u64 {
    match until {
        Until::Version(version) => version,
        Until::Count(count) => applied
            .len()
            .checked_sub(count.saturating_add(1))
            .map_or(0, |keep| applied[keep].version),
    }
}

/// The next migration to revert, the newest applied above `target`; `None`
/// when there is none. Every migration in the range is checked first, so
/// that nothing is reverted when one of them cannot be: the error names the
/// newest that cannot.
pub(crate) fn next_to_revert<'s>(
    set: &'s Migrations,
    applied: &[AppliedMigration],
    target: u64,
) -> Result<Option<&'s Migration>> {
    let range: Vec<&AppliedMigration> = applied.iter().filter(|row| row.version > target).collect();
    for row in range.iter().rev() {
        reversible(set, row)?;
    }
    range.last().map(|row| reversible(set, row)).transpose()
}

/// The migration of an applied row, if the set can revert it: known,
/// unchanged since it was applied, and with a down whose code is here.
pub(crate) fn reversible<'s>(set: &'s Migrations, row: &AppliedMigration) -> Result<&'s Migration> {
    let refuse = |name: &str, reason| Error::Irreversible {
        version: row.version,
        name: name.to_owned(),
        reason: Box::new(reason),
    };
    // Where the row and the set disagree, `run` would refuse too. Where the
    // renumbered migration went does not matter here.
    match compare(set, row, &[]) {
        Some(Problem::VersionReused { name, file, .. }) => {
            return Err(refuse(
                &row.name,
                Irreversible::VersionReused { name, file },
            ));
        }
        Some(Problem::Divergent {
            name,
            file,
            applied,
            embedded,
            ..
        }) => {
            let reason = Irreversible::Divergent {
                file,
                applied,
                embedded,
            };
            return Err(refuse(&name, reason));
        }
        _ => {}
    }
    let Some(migration) = set.get(row.version) else {
        return Err(refuse(&row.name, Irreversible::Missing));
    };
    let name = migration.name();
    match migration.script(crate::report::Direction::Down) {
        None => Err(refuse(
            name,
            Irreversible::NoDown {
                file: migration.file().to_owned(),
                fix: how_to_add_a_down(migration),
            },
        )),
        Some(Script::Rust(None)) => Err(refuse(
            name,
            Irreversible::NotCompiled {
                file: migration.file().to_owned(),
            },
        )),
        Some(_) => Ok(migration),
    }
}

/// What to add to make a migration reversible, for error messages: names the
/// folder grammar accepts.
pub(crate) fn how_to_add_a_down(migration: &Migration) -> String {
    let file = migration.file();
    match migration.kind() {
        MigrationKind::Rust => format!("add `pub fn down` to `{file}`"),
        MigrationKind::Sql => match file.strip_suffix(".up.sql") {
            Some(stem) => format!("add `{stem}.down.sql`"),
            None => {
                let stem = file.strip_suffix(".sql").unwrap_or(file);
                // `V<version>__<name>.sql` has no reversible form: the pair
                // is `<version>_<name>.up.sql` and `.down.sql`.
                let stem = match stem
                    .strip_prefix('V')
                    .and_then(|rest| rest.split_once("__"))
                {
                    Some((digits, name)) => format!("{digits}_{name}"),
                    None => stem.to_owned(),
                };
                format!("rename it to `{stem}.up.sql` and add `{stem}.down.sql`")
            }
        },
    }
}

/// One applied row's repair: what changes on it, and the name and checksum
/// recorded afterwards.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RowRepair {
    pub(crate) version: u64,
    pub(crate) name: String,
    pub(crate) checksum: Checksum,
    pub(crate) action: RepairAction,
}

/// What a repair records on the applied rows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RepairPlan {
    /// The rows whose name or checksum changes, in version order.
    pub(crate) rows: Vec<RowRepair>,
    /// Every applied row's running checksum, chained anew, in version order.
    pub(crate) running: Vec<(u64, Checksum)>,
}

/// What a repair records on the applied rows: this build's checksum for a
/// divergent one, its name and checksum for a reused version (only when
/// `accept_reused_versions`), its name for a renamed file with the same
/// content; then every running checksum chained anew over the rows as they
/// will be. Missing rows are left as they are.
///
/// # Errors
///
/// [`Error::RepairRefused`] with every reused version, when they are not
/// accepted.
pub(crate) fn repair_applied(
    set: &Migrations,
    applied: &[AppliedMigration],
    accept_reused_versions: bool,
) -> Result<RepairPlan> {
    let problems: Vec<Option<Problem>> = applied
        .iter()
        .map(|row| compare(set, row, applied))
        .collect();
    let reused: Vec<Problem> = problems
        .iter()
        .flatten()
        .filter(|problem| matches!(problem, Problem::VersionReused { .. }))
        .cloned()
        .collect();
    if !reused.is_empty() && !accept_reused_versions {
        return Err(Error::RepairRefused { reused });
    }
    let mut repairs = Vec::new();
    let mut checksums = Vec::with_capacity(applied.len());
    for (row, problem) in applied.iter().zip(&problems) {
        let mut checksum = row.checksum;
        if let Some(migration) = set.get(row.version)
            && let Some(action) = accepting(row, problem.as_ref(), migration)
        {
            checksum = migration.checksum();
            repairs.push(RowRepair {
                version: row.version,
                name: migration.name().to_owned(),
                checksum,
                action,
            });
        }
        checksums.push((row.version, checksum));
    }
    let running = rechain(None, checksums.iter().map(|(v, c)| (*v, c)));
    Ok(RepairPlan {
        rows: repairs,
        running,
    })
}

/// What a repair records for an applied row with `problem`, whose version
/// is `migration`'s; nothing for one that agrees under the same name.
fn accepting(
    row: &AppliedMigration,
    problem: Option<&Problem>,
    migration: &Migration,
) -> Option<RepairAction> {
    let Some(problem) = problem else {
        return (migration.name() != row.name).then(|| RepairAction::RecordedName {
            previous_name: row.name.clone(),
            name: migration.name().to_owned(),
        });
    };
    match problem {
        Problem::Divergent { .. } => Some(RepairAction::AcceptedChecksum {
            previous: row.checksum,
            current: migration.checksum(),
        }),
        Problem::VersionReused { .. } => Some(RepairAction::AcceptedReusedVersion {
            previous_name: row.name.clone(),
            previous: row.checksum,
            name: migration.name().to_owned(),
            current: migration.checksum(),
        }),
        _ => None,
    }
}

/// A Rust migration whose code is not compiled in.
pub(crate) fn not_compiled(migration: &Migration) -> Error {
    Error::NotCompiled {
        version: migration.version(),
        name: migration.name().to_owned(),
        file: migration.file().to_owned(),
    }
}
