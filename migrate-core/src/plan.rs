//! The plan: what to do, worked out from the tracking table's state, the set
//! and the options, with no I/O.
//!
//! The driver reads the tracking table through a backend, asks the plan,
//! and carries out what it says; a sync and an async driver share every
//! decision here (refinery's two copies of one loop are the warning). Each
//! function is unit-tested below on the cases `migrate-tests/tests/model.rs`
//! checks end to end (that test is an independent oracle and does not call
//! this module).

use crate::checksum::Checksum;
use crate::error::{Error, Irreversible, Problem, Result};
use crate::migration::{Migration, MigrationKind, Migrations, RustCode, Script};
use crate::report::{AppliedMigration, Direction, DirtyMigration, RepairAction};

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
/// is not compiled in or that the backend cannot run (`can_run`: written for
/// another engine) and, in a grouped run, a migration that must run outside
/// a transaction.
pub(crate) fn refuse_before_applying(
    set: &Migrations,
    pending: &[usize],
    grouped: bool,
    can_run: impl Fn(&RustCode) -> bool,
) -> Result<()> {
    for migration in pending.iter().map(|&i| &set.as_slice()[i]) {
        match migration.script(Direction::Up) {
            Some(Script::Rust(None)) => return Err(not_compiled(migration)),
            Some(Script::Rust(Some(code))) if !can_run(code) => {
                return Err(Error::OtherEngine {
                    version: migration.version(),
                    name: migration.name().to_owned(),
                    file: migration.file().to_owned(),
                });
            }
            _ => {}
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
    can_run: impl Fn(&RustCode) -> bool,
) -> Result<Option<&'s Migration>> {
    let range: Vec<&AppliedMigration> = applied.iter().filter(|row| row.version > target).collect();
    for row in range.iter().rev() {
        reversible(set, row, &can_run)?;
    }
    range
        .last()
        .map(|row| reversible(set, row, &can_run))
        .transpose()
}

/// The migration of an applied row, if the set can revert it: known,
/// unchanged since it was applied, and with a down whose code is here and
/// the backend can run (`can_run`).
pub(crate) fn reversible<'s>(
    set: &'s Migrations,
    row: &AppliedMigration,
    can_run: impl Fn(&RustCode) -> bool,
) -> Result<&'s Migration> {
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
    let file = migration.file().to_owned();
    match migration.script(Direction::Down) {
        None => Err(no_down(migration)),
        Some(Script::Rust(None)) => Err(refuse(name, Irreversible::NotCompiled { file })),
        Some(Script::Rust(Some(code))) if !can_run(code) => {
            Err(refuse(name, Irreversible::OtherEngine { file }))
        }
        Some(_) => Ok(migration),
    }
}

/// A migration without a down asked to revert.
pub(crate) fn no_down(migration: &Migration) -> Error {
    Error::Irreversible {
        version: migration.version(),
        name: migration.name().to_owned(),
        reason: Box::new(Irreversible::NoDown {
            file: migration.file().to_owned(),
            fix: how_to_add_a_down(migration),
        }),
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

#[cfg(test)]
mod tests {
    //! The plan on its own, on sets built in memory: the cases
    //! `migrate-tests/tests/model.rs` and the behaviour tests check end to
    //! end.

    use std::time::Duration;

    use super::*;
    use crate::folder::{FolderMigration, Step};

    /// A backend that runs any Rust code.
    fn any(_: &RustCode) -> bool {
        true
    }

    /// A SQL migration `<version>_<name>` with `sql`, and a down when `down`.
    fn migration(version: u64, name: &str, sql: &str, down: bool) -> (u64, String, String, bool) {
        (version, name.to_owned(), sql.to_owned(), down)
    }

    /// A set, with checksums and running checksums as the grammar and the
    /// model compute them.
    fn set(migrations: &[(u64, String, String, bool)]) -> Migrations {
        let step = |sql: &str| Step::Sql {
            sql: sql.to_owned(),
            no_transaction: false,
        };
        let files = migrations
            .iter()
            .map(|(version, name, sql, down)| FolderMigration {
                version: *version,
                name: name.clone(),
                file: format!("{version:04}_{name}.up.sql"),
                up: step(sql),
                down: down.then(|| (format!("{version:04}_{name}.down.sql"), step("DROP"))),
                checksum: Checksum::of_text(sql),
                up_file_text: None,
            })
            .collect();
        Migrations::__validated(Migration::from_folder(files))
    }

    /// Four reversible migrations but the third.
    fn four() -> Migrations {
        set(&[
            migration(1, "users", "CREATE TABLE users (id INTEGER);", true),
            migration(2, "posts", "CREATE TABLE posts (id INTEGER);", true),
            migration(3, "seed", "INSERT INTO users VALUES (1);", false),
            migration(4, "tags", "CREATE TABLE tags (id INTEGER);", true),
        ])
    }

    /// The tracking rows of `set`'s migrations at `versions`, as applied.
    fn applied(set: &Migrations, versions: &[u64]) -> Vec<AppliedMigration> {
        versions
            .iter()
            .map(|&version| {
                let m = set.get(version).unwrap();
                row(version, m.name(), m.checksum())
            })
            .collect()
    }

    fn row(version: u64, name: &str, checksum: Checksum) -> AppliedMigration {
        AppliedMigration {
            version,
            name: name.to_owned(),
            checksum,
            applied_at: "2026-12-01T00:00:00.000Z".to_owned(),
            duration: Duration::ZERO,
        }
    }

    fn versions(set: &Migrations, pending: &[usize]) -> Vec<u64> {
        pending
            .iter()
            .map(|&i| set.as_slice()[i].version())
            .collect()
    }

    #[test]
    fn the_fast_path_trusts_a_matching_running_checksum_only() {
        let set = four();
        let latest = set.get(2).unwrap().running_checksum();
        assert_eq!(applied_prefix(&set, (2, latest)), Some(1));
        // The running checksum of 2 at version 3, or one the set does not have.
        assert_eq!(applied_prefix(&set, (3, latest)), None);
        assert_eq!(applied_prefix(&set, (9, latest)), None);
        let pending = after_prefix(&set, Some(1)).pending;
        assert_eq!(versions(&set, &pending), [3, 4]);
        assert_eq!(
            versions(&set, &after_prefix(&set, None).pending),
            [1, 2, 3, 4]
        );
    }

    #[test]
    fn rechaining_a_prefix_gives_the_sets_running_checksums() {
        let set = four();
        let rows = applied(&set, &[1, 2, 3]);
        let chained = rechain(None, rows.iter().map(|r| (r.version, &r.checksum)));
        let expected: Vec<(u64, Checksum)> = set
            .iter()
            .take(3)
            .map(|m| (m.version(), m.running_checksum()))
            .collect();
        assert_eq!(chained, expected);
        // From a running checksum below: the same tail.
        let below = set.get(1).unwrap().running_checksum();
        let tail = rechain(
            Some(below),
            rows[1..].iter().map(|r| (r.version, &r.checksum)),
        );
        assert_eq!(tail, expected[1..]);
    }

    #[test]
    fn diagnose_finds_divergent_missing_reused_and_out_of_order() {
        let set = four();
        let mut rows = applied(&set, &[1, 3]);
        // 1 edited after it was applied; 3 applied under another name;
        // 7 unknown to this build; 2 pending below the latest applied.
        rows[0].checksum = Checksum::of_text("CREATE TABLE users (id TEXT);");
        rows[1] = row(3, "posts", Checksum::of_text("old posts"));
        rows.push(row(7, "later", Checksum::of_text("x")));
        let diagnosis = diagnose(&set, &rows);
        assert_eq!(versions(&set, &diagnosis.pending), [2, 4]);
        assert_eq!(
            diagnosis.problems,
            [
                Problem::Divergent {
                    version: 1,
                    name: "users".to_owned(),
                    file: "0001_users.up.sql".to_owned(),
                    applied: rows[0].checksum,
                    embedded: set.get(1).unwrap().checksum(),
                },
                Problem::VersionReused {
                    version: 3,
                    applied_name: "posts".to_owned(),
                    name: "seed".to_owned(),
                    file: "0003_seed.up.sql".to_owned(),
                    renumbered: Some((2, "0002_posts.up.sql".to_owned())),
                },
                Problem::Missing {
                    version: 7,
                    name: "later".to_owned(),
                },
                Problem::OutOfOrder {
                    version: 2,
                    name: "posts".to_owned(),
                    file: "0002_posts.up.sql".to_owned(),
                    latest_applied: 7,
                },
                Problem::OutOfOrder {
                    version: 4,
                    name: "tags".to_owned(),
                    file: "0004_tags.up.sql".to_owned(),
                    latest_applied: 7,
                },
            ]
        );
    }

    #[test]
    fn a_renamed_file_with_the_same_content_is_no_problem() {
        let set = four();
        let mut rows = applied(&set, &[1, 2]);
        rows[1].name = "old_posts".to_owned();
        assert_eq!(diagnose(&set, &rows).problems, []);
    }

    #[test]
    fn to_apply_refuses_a_problem_allows_out_of_order_and_stops_at_the_target() {
        let set = four();
        let rows = applied(&set, &[1, 3]);
        let refused = to_apply(&set, diagnose(&set, &rows), Options::default());
        assert!(
            matches!(
                refused,
                Err(Error::Verification(Problem::OutOfOrder { version: 2, .. }))
            ),
            "{refused:?}"
        );
        let allowed = Options {
            allow_out_of_order: true,
            ..Options::default()
        };
        let pending = to_apply(&set, diagnose(&set, &rows), allowed).unwrap();
        assert_eq!(versions(&set, &pending), [2, 4]);
        let to_two = Options {
            target: Some(2),
            allow_out_of_order: true,
        };
        let pending = to_apply(&set, diagnose(&set, &rows), to_two).unwrap();
        assert_eq!(versions(&set, &pending), [2]);
        // A divergent migration is refused even when out of order is allowed.
        let mut edited = applied(&set, &[1]);
        edited[0].checksum = Checksum::of_text("edited");
        let refused = to_apply(&set, diagnose(&set, &edited), allowed);
        assert!(matches!(
            refused,
            Err(Error::Verification(Problem::Divergent { .. }))
        ));
    }

    #[test]
    fn a_dirty_mark_is_in_progress_only_while_another_runs_it() {
        let dirty = || DirtyMigration {
            version: 3,
            name: "seed".to_owned(),
            direction: Direction::Up,
            started_at: String::new(),
            error: None,
        };
        assert!(refuse_dirty(None, || unreachable!("asked without a mark")).is_ok());
        assert!(matches!(
            refuse_dirty(Some(dirty()), || true),
            Err(Error::InProgress { version: 3, .. })
        ));
        assert!(matches!(
            refuse_dirty(Some(dirty()), || false),
            Err(Error::Dirty {
                version: 3,
                direction: Direction::Up,
                ..
            })
        ));
    }

    #[test]
    fn a_rollback_range_is_fixed_by_count_or_version() {
        let set = four();
        let rows = applied(&set, &[1, 2, 3, 4]);
        assert_eq!(rollback_target(&rows, Until::Count(1)), 3);
        assert_eq!(rollback_target(&rows, Until::Count(3)), 1);
        assert_eq!(rollback_target(&rows, Until::Count(9)), 0);
        assert_eq!(rollback_target(&rows, Until::Count(0)), 4);
        assert_eq!(rollback_target(&rows, Until::Version(2)), 2);
        assert_eq!(rollback_target(&[], Until::Count(1)), 0);
    }

    #[test]
    fn next_to_revert_is_the_newest_and_refuses_the_whole_range_first() {
        let set = four();
        let rows = applied(&set, &[1, 2, 3, 4]);
        assert_eq!(
            next_to_revert(&set, &rows, 3, any)
                .unwrap()
                .unwrap()
                .version(),
            4
        );
        assert!(next_to_revert(&set, &rows, 4, any).unwrap().is_none());
        // 3 has no down: reverting to 2 refuses although 4 has one.
        let refused = next_to_revert(&set, &rows, 2, any).unwrap_err();
        match refused {
            Error::Irreversible {
                version: 3, reason, ..
            } => assert!(matches!(*reason, Irreversible::NoDown { .. }), "{reason:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reversible_refuses_divergent_missing_and_reused_rows() {
        let set = four();
        let reason = |row: AppliedMigration| match reversible(&set, &row, any) {
            Err(Error::Irreversible { reason, .. }) => *reason,
            other => panic!("{other:?}"),
        };
        assert!(matches!(
            reason(row(1, "users", Checksum::of_text("edited"))),
            Irreversible::Divergent { .. }
        ));
        assert!(matches!(
            reason(row(9, "later", Checksum::of_text("x"))),
            Irreversible::Missing
        ));
        assert!(matches!(
            reason(row(2, "other", Checksum::of_text("other"))),
            Irreversible::VersionReused { .. }
        ));
        assert_eq!(
            reversible(&set, &applied(&set, &[2])[0], any)
                .unwrap()
                .version(),
            2
        );
    }

    #[test]
    fn the_advice_names_files_the_grammar_accepts() {
        let dir = tempfile::tempdir().unwrap();
        for (file, sql) in [
            ("V1__users.sql", "CREATE TABLE users (id INTEGER);"),
            ("0002_posts.sql", "CREATE TABLE posts (id INTEGER);"),
            ("0003_tags.up.sql", "CREATE TABLE tags (id INTEGER);"),
            (
                "0004_fill.rs",
                "pub fn up(tx: &rusqlite::Transaction<'_>) {}",
            ),
        ] {
            std::fs::write(dir.path().join(file), sql).unwrap();
        }
        let set = Migrations::from_folder(dir.path()).unwrap();
        let advice: Vec<String> = set.iter().map(how_to_add_a_down).collect();
        assert_eq!(
            advice,
            [
                "rename it to `1_users.up.sql` and add `1_users.down.sql`",
                "rename it to `0002_posts.up.sql` and add `0002_posts.down.sql`",
                "add `0003_tags.down.sql`",
                "add `pub fn down` to `0004_fill.rs`",
            ]
        );
    }

    #[test]
    fn a_repair_accepts_edits_refuses_reused_versions_unless_told_and_rechains() {
        let set = four();
        let mut rows = applied(&set, &[1, 2, 3]);
        rows[0].checksum = Checksum::of_text("edited");
        rows[1].name = "old_posts".to_owned();
        let plan = repair_applied(&set, &rows, false).unwrap();
        let actions: Vec<(u64, &RepairAction)> =
            plan.rows.iter().map(|r| (r.version, &r.action)).collect();
        assert!(matches!(
            actions[0],
            (1, RepairAction::AcceptedChecksum { .. })
        ));
        assert!(matches!(actions[1], (2, RepairAction::RecordedName { .. })));
        assert_eq!(actions.len(), 2);
        // The chain over the repaired rows is the set's own.
        let expected: Vec<(u64, Checksum)> = set
            .iter()
            .take(3)
            .map(|m| (m.version(), m.running_checksum()))
            .collect();
        assert_eq!(plan.running, expected);

        let mut reused = applied(&set, &[1, 2]);
        reused[1] = row(2, "other", Checksum::of_text("other"));
        assert!(matches!(
            repair_applied(&set, &reused, false),
            Err(Error::RepairRefused { reused }) if reused.len() == 1
        ));
        let accepted = repair_applied(&set, &reused, true).unwrap();
        assert!(matches!(
            accepted.rows[0].action,
            RepairAction::AcceptedReusedVersion { .. }
        ));
        assert_eq!(accepted.rows[0].name, "posts");
    }

    #[test]
    fn a_pending_rust_migration_without_code_and_a_grouped_no_transaction_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("0001_a.sql"),
            "-- migrate:no-transaction\nCREATE TABLE a (id INTEGER);",
        )
        .unwrap();
        std::fs::write(dir.path().join("0002_b.rs"), "pub fn up(tx: &T) -> R {}").unwrap();
        let set = Migrations::from_folder(dir.path()).unwrap();
        assert!(refuse_before_applying(&set, &[0], false, any).is_ok());
        assert!(matches!(
            refuse_before_applying(&set, &[0], true, any),
            Err(Error::NoTransactionInGroup { version: 1, .. })
        ));
        assert!(matches!(
            refuse_before_applying(&set, &[0, 1], false, any),
            Err(Error::NotCompiled { version: 2, .. })
        ));
    }

    #[test]
    fn rust_code_the_backend_cannot_run_is_refused_before_anything_changes() {
        /// Stands for another engine's step type.
        struct OtherStep;
        static OTHER: OtherStep = OtherStep;
        let rust = Migration::__embedded_rust(
            2,
            "fill",
            "0002_fill.rs",
            RustCode::new(&OTHER),
            Some(RustCode::new(&OTHER)),
            [0; 32],
            [0; 32],
        );
        let mut migrations = four().as_slice()[..1].to_vec();
        migrations.push(rust);
        let set = Migrations::__validated(migrations);
        let runs_others = |code: &RustCode| code.step::<OtherStep>().is_some();
        let runs_none = |_: &RustCode| false;
        assert!(refuse_before_applying(&set, &[0, 1], false, runs_others).is_ok());
        assert!(matches!(
            refuse_before_applying(&set, &[0, 1], false, runs_none),
            Err(Error::OtherEngine { version: 2, .. })
        ));
        let rows = vec![
            applied(&set, &[1]).remove(0),
            row(2, "fill", Migration::checksum(&set.as_slice()[1])),
        ];
        match next_to_revert(&set, &rows, 0, runs_none) {
            Err(Error::Irreversible {
                version: 2, reason, ..
            }) => assert!(
                matches!(*reason, Irreversible::OtherEngine { .. }),
                "{reason:?}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            next_to_revert(&set, &rows, 0, runs_others)
                .unwrap()
                .map(Migration::version),
            Some(2)
        );
    }
}
