//! A run killed at any moment — SIGKILL on Unix, so nothing gets to clean
//! up — leaves every migration either completely applied and recorded, or
//! not applied and not recorded; a no-transaction migration cut short is
//! marked dirty. After `repair` (if dirty) a run completes, and the database
//! ends exactly as an uninterrupted run leaves it.
//!
//! A copy of this test binary applies [`crash_set`] to a database file; the
//! test kills it after a random delay spread over the whole time a run takes
//! (calibrated first), then checks the file and recovers it. A few trials by
//! default; `MIGRATE_HEAVY=1` runs [`HEAVY_TRIALS`] and checks that the kills
//! landed in every phase of the run. `MIGRATE_CRASH_SEED=<u64>` repeats a
//! sequence of delays (the seed is printed).

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Database, Folder, count, rows, schema};
use migrate::{Direction, EventKind, Migrations, RepairAction};
use rusqlite::Connection;
use rusqlite::types::Value;

/// Rows of the big table: enough that the data migrations and the index and
/// `VACUUM` take most of a run's time.
const ROWS: i64 = 100_000;

const DEFAULT_TRIALS: usize = 6;
const HEAVY_TRIALS: usize = 120;

/// Rollback-journal and WAL mode take turns.
const JOURNAL_MODES: [&str; 2] = ["DELETE", "WAL"];

/// The no-transaction migration.
const NO_TRANSACTION: u64 = 4;

/// Five migrations; every transactional one appends its version to
/// `applied_log` (no uniqueness constraint), so running one twice shows in
/// the data. 2 and 3 are slow data migrations; 4 runs outside a transaction
/// and is idempotent, so running it again from its start after a repair is
/// valid.
fn crash_set() -> Folder {
    Folder::new(&[
        (
            "0001_log.sql",
            "CREATE TABLE applied_log (version INTEGER NOT NULL);
             INSERT INTO applied_log VALUES (1);",
        ),
        (
            "0002_numbers.sql",
            &format!(
                "CREATE TABLE numbers (n INTEGER NOT NULL, label TEXT NOT NULL);
                 WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {ROWS})
                 INSERT INTO numbers SELECT n, printf('number %08d', n) FROM seq;
                 INSERT INTO applied_log VALUES (2);"
            ),
        ),
        (
            "0003_parity.sql",
            "ALTER TABLE numbers ADD COLUMN parity INTEGER;
             UPDATE numbers SET parity = n % 2;
             INSERT INTO applied_log VALUES (3);",
        ),
        (
            "0004_index.sql",
            "-- migrate:no-transaction
             -- Idempotent: after a repair it runs again from its start.
             CREATE INDEX IF NOT EXISTS numbers_by_label ON numbers (label, parity);
             VACUUM;",
        ),
        (
            "0005_parity_counts.sql",
            "CREATE TABLE parity_counts AS
                 SELECT parity, count(*) AS total FROM numbers GROUP BY parity;
             INSERT INTO applied_log VALUES (5);",
        ),
    ])
}

/// How much of a migration's effect the database shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    /// None of it.
    Absent,
    /// All of it, once.
    Complete,
    /// Anything else: what was found.
    Partial(String),
}

fn table_exists(conn: &Connection, table: &str) -> bool {
    count(
        conn,
        &format!("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '{table}'"),
    ) > 0
}

/// How many times `version` appended itself to `applied_log` (0 without the
/// table).
fn logged(conn: &Connection, version: u64) -> i64 {
    if table_exists(conn, "applied_log") {
        count(
            conn,
            &format!("SELECT count(*) FROM applied_log WHERE version = {version}"),
        )
    } else {
        0
    }
}

/// What the database shows of migration `version` of [`crash_set`].
fn effect(conn: &Connection, version: u64) -> Effect {
    let logged = logged(conn, version);
    // (whether any of its objects exist, whether all of them are as it leaves them)
    let (some, all) = match version {
        1 => {
            let exists = table_exists(conn, "applied_log");
            (exists, exists)
        }
        2 => {
            let exists = table_exists(conn, "numbers");
            let full = exists
                && count(conn, "SELECT count(*) FROM numbers") == ROWS
                && count(
                    conn,
                    &format!("SELECT count(DISTINCT n) FROM numbers WHERE n BETWEEN 1 AND {ROWS}"),
                ) == ROWS;
            (exists, full)
        }
        3 => {
            let column = table_exists(conn, "numbers")
                && count(
                    conn,
                    "SELECT count(*) FROM pragma_table_info('numbers') WHERE name = 'parity'",
                ) > 0;
            let filled = column
                && count(
                    conn,
                    "SELECT count(*) FROM numbers WHERE parity IS NOT n % 2",
                ) == 0;
            (column, filled)
        }
        NO_TRANSACTION => {
            let index = count(
                conn,
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'numbers_by_label'",
            ) > 0;
            // `VACUUM` leaves nothing to see; it is there to take time and to
            // be cut short.
            return if index {
                Effect::Complete
            } else {
                Effect::Absent
            };
        }
        5 => {
            let exists = table_exists(conn, "parity_counts");
            let right = exists
                && rows(
                    conn,
                    "SELECT parity, total FROM parity_counts ORDER BY parity",
                ) == [
                    [Value::Integer(0), Value::Integer(ROWS / 2)],
                    [Value::Integer(1), Value::Integer(ROWS / 2)],
                ];
            (exists, right)
        }
        other => panic!("no migration {other} in the crash set"),
    };
    match (some, all, logged) {
        (false, _, 0) => Effect::Absent,
        (true, true, 1) => Effect::Complete,
        _ => Effect::Partial(format!(
            "objects present: {some}, complete: {all}, logged {logged} times"
        )),
    }
}

/// Where in the run a kill landed, as the database shows it afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// No migration committed.
    BeforeAnything,
    /// Migrations below this transactional one committed, it did not.
    BeforeOrInTransactional(u64),
    /// The migrations below the no-transaction one committed, its dirty
    /// mark did not.
    BeforeDirtyMark,
    /// The no-transaction migration was marked dirty and not finished.
    InNoTransaction,
    /// Every migration committed.
    AfterCompletion,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::BeforeAnything => f.write_str("before anything committed"),
            Phase::BeforeOrInTransactional(v) => {
                write!(f, "before or in transactional migration {v}")
            }
            Phase::BeforeDirtyMark => write!(
                f,
                "before no-transaction migration {NO_TRANSACTION} was marked dirty"
            ),
            Phase::InNoTransaction => write!(f, "in no-transaction migration {NO_TRANSACTION}"),
            Phase::AfterCompletion => f.write_str("after completion"),
        }
    }
}

/// What one trial saw, for the summary.
#[derive(Default)]
struct Tally {
    /// Trials per phase: in all, in rollback-journal mode, and how many of
    /// those left a journal behind (a write transaction cut in the middle,
    /// rolled back when the file was opened again).
    phases: BTreeMap<Phase, (usize, usize, usize)>,
    /// Dirty trials whose index had been built (cut in `VACUUM`, or before
    /// the mark was cleared).
    dirty_with_index: usize,
    /// Trials whose child finished on its own before the kill.
    finished: usize,
}

/// Set by [`killed_runs_leave_each_migration_applied_completely_or_not_at_all`]
/// for the copies of this test binary it starts.
const CHILD_FOLDER: &str = "MIGRATE_CRASH_FOLDER";
const CHILD_DATABASE: &str = "MIGRATE_CRASH_DATABASE";

/// Not a test of its own: the body of each process started (and usually
/// killed) by [`killed_runs_leave_each_migration_applied_completely_or_not_at_all`].
#[test]
#[ignore = "runs only as a child of killed_runs_leave_each_migration_applied_completely_or_not_at_all"]
fn run_in_a_child_process() {
    // Run directly (`--include-ignored`), not as a child: nothing to do.
    let Some(folder) = std::env::var_os(CHILD_FOLDER) else {
        return;
    };
    let database = std::env::var_os(CHILD_DATABASE).expect("MIGRATE_CRASH_DATABASE");
    let migrations = Migrations::from_folder(Path::new(&folder)).expect("valid folder");
    let mut conn = Connection::open(database).expect("open the database");
    migrations.run(&mut conn).expect("the run succeeds");
}

/// Starts a child run on `db`; `Command::spawn` returns once it exists.
fn spawn_child(folder: &Folder, db: &Database) -> std::process::Child {
    Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--ignored",
            "--exact",
            "run_in_a_child_process",
            "--nocapture",
        ])
        .env(CHILD_FOLDER, folder.path())
        .env(CHILD_DATABASE, db.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a child process")
}

/// Waits for a child; fails the test if it failed on its own (a panic exits
/// with 101; a kill is a signal on Unix, exit code 1 on Windows). Returns
/// whether it finished successfully before being killed.
fn reap(child: std::process::Child, trial: &str) -> bool {
    let output = child.wait_with_output().expect("child process");
    assert_ne!(
        output.status.code(),
        Some(101),
        "{trial}: the child run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.status.success()
}

fn new_database(journal_mode: &str) -> Database {
    let db = Database::new();
    let mode: String = db
        .open()
        .pragma_update_and_check(None, "journal_mode", journal_mode, |row| row.get(0))
        .expect("set the journal mode");
    assert!(mode.eq_ignore_ascii_case(journal_mode), "{mode}");
    db
}

/// Everything the migrations leave, to compare with an uninterrupted run:
/// the schema, and the contents of every table (the big one summarised).
fn final_state(conn: &Connection) -> Vec<Vec<Value>> {
    let mut state: Vec<Vec<Value>> = schema(conn)
        .into_iter()
        .map(|(kind, name, table, sql)| {
            vec![
                Value::Text(kind),
                Value::Text(name),
                Value::Text(table),
                sql.map_or(Value::Null, Value::Text),
            ]
        })
        .collect();
    for sql in [
        "SELECT version FROM applied_log ORDER BY version",
        "SELECT count(*), sum(n), sum(parity), min(label), max(label), count(DISTINCT label) FROM numbers",
        "SELECT parity, total FROM parity_counts ORDER BY parity",
    ] {
        state.extend(rows(conn, sql));
    }
    state
}

/// A small PRNG (SplitMix64), so that a sequence of delays can be repeated
/// from its seed without a new dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn heavy() -> bool {
    std::env::var_os("MIGRATE_HEAVY").is_some_and(|value| value == "1")
}

#[test]
fn killed_runs_leave_each_migration_applied_completely_or_not_at_all() {
    let folder = crash_set();
    let migrations = folder.migrations();
    let trials = if heavy() {
        HEAVY_TRIALS
    } else {
        DEFAULT_TRIALS
    };
    let seed = std::env::var("MIGRATE_CRASH_SEED")
        .map(|seed| seed.parse().expect("MIGRATE_CRASH_SEED is a u64"))
        .unwrap_or_else(|_| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("a clock after 1970")
                .as_nanos() as u64
        });
    let mut rng = SplitMix64(seed);

    // Calibrate: how long a child takes from spawn to exit, uninterrupted.
    // The machine is shared, so this is a median, taken again now and then
    // in a long session. The first run's state is the reference for the
    // state after recovery.
    let (took, reference) = time_a_full_run(&folder, 0);
    let mut full_runs = vec![took];
    while full_runs.len() < 3 {
        full_runs.push(time_a_full_run(&folder, full_runs.len()).0);
    }
    eprintln!("crash: {trials} trials, seed {seed} (MIGRATE_CRASH_SEED)");

    // Stratified: each trial's delay is uniform in its own one of `trials`
    // equal slices of the run, so every part of it is covered; the slices
    // are shuffled (Fisher-Yates), so that a failure in any part shows up
    // early and a slowdown of the machine is not tied to one part.
    let mut slices: Vec<usize> = (0..trials).collect();
    for i in (1..trials).rev() {
        slices.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut tally = Tally::default();
    for (trial, slice) in slices.into_iter().enumerate() {
        if trial > 0 && trial.is_multiple_of(20) {
            full_runs.push(time_a_full_run(&folder, full_runs.len()).0);
        }
        // A little past the end of a run, so that some kills land after
        // completion.
        let span = median(&full_runs).mul_f64(1.2);
        // The slices divide [-0.05, 1] x span; a negative delay is 0, a kill
        // right after the spawn (the run's start, before anything commits,
        // takes only milliseconds).
        let at = (slice as f64 + rng.unit()) / trials as f64;
        let delay = span.mul_f64((at * 1.05 - 0.05).max(0.0));
        let journal_mode = JOURNAL_MODES[trial % 2];
        let name = format!("trial {trial} ({journal_mode}, killed after {delay:?}, seed {seed})");
        crash_trial(
            &folder,
            &migrations,
            journal_mode,
            delay,
            &reference,
            &name,
            &mut tally,
        );
    }

    eprintln!("crash: where the {trials} kills landed:");
    for (phase, (trials, rollback_journal, journals)) in &tally.phases {
        eprintln!(
            "crash:   {phase}: {trials} ({rollback_journal} in rollback-journal mode, {journals} of them with a journal left behind)"
        );
    }
    eprintln!(
        "crash:   (dirty with the index already built: {}; child had finished before the kill: {})",
        tally.dirty_with_index, tally.finished
    );
    if heavy() {
        let trials_in = |phase: Phase| tally.phases.get(&phase).map_or(0, |t| t.0);
        // In a transactional migration, as its journal shows.
        let cut_transactions: usize = [2, 3, 5]
            .map(|v| tally.phases.get(&Phase::BeforeOrInTransactional(v)))
            .iter()
            .flatten()
            .map(|t| t.2)
            .sum();
        assert!(
            trials_in(Phase::BeforeAnything) > 0,
            "no kill landed before anything committed"
        );
        assert!(
            cut_transactions > 0,
            "no kill landed in the middle of a transactional migration (with its journal left behind)"
        );
        assert!(
            trials_in(Phase::InNoTransaction) > 0,
            "no kill landed in the no-transaction migration"
        );
        assert!(
            trials_in(Phase::AfterCompletion) > 0,
            "no kill landed after completion"
        );
    }
}

/// How long a child takes from spawn to exit on a new database,
/// uninterrupted (in rollback-journal or WAL mode in turn), and the state it
/// leaves.
fn time_a_full_run(folder: &Folder, turn: usize) -> (Duration, Vec<Vec<Value>>) {
    let journal_mode = JOURNAL_MODES[turn % 2];
    let db = new_database(journal_mode);
    let started = Instant::now();
    assert!(reap(spawn_child(folder, &db), "calibration"));
    let took = started.elapsed();
    eprintln!("crash: a full run ({journal_mode}) took {took:?}");
    (took, final_state(&db.open()))
}

fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// One trial: a child run killed after `delay`, then the checks and the
/// recovery.
fn crash_trial(
    folder: &Folder,
    migrations: &Migrations,
    journal_mode: &str,
    delay: Duration,
    reference: &[Vec<Value>],
    trial: &str,
    tally: &mut Tally,
) {
    let db = new_database(journal_mode);
    let child = spawn_child(folder, &db);
    thread::sleep(delay);
    // SIGKILL on Unix. An error means the child had already been reaped,
    // which cannot happen before `reap`.
    let mut child = child;
    child.kill().expect("kill the child");
    let finished = reap(child, trial);

    // Before anything opens the file: a journal left behind means a write
    // transaction was cut in the middle (rollback-journal mode).
    let journal = Path::new(&format!("{}-journal", db.path().display()))
        .metadata()
        .is_ok_and(|m| m.len() > 0);

    let mut conn = db.open();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "{trial}");

    let status = migrations.status(&mut conn).unwrap();
    assert!(status.failed.is_empty(), "{trial}: {:?}", status.failed);
    assert!(status.problems.is_empty(), "{trial}: {:?}", status.problems);
    let applied: Vec<u64> = status.applied.iter().map(|a| a.version).collect();
    let dirty: Vec<(u64, Direction, Option<String>)> = status
        .dirty
        .iter()
        .map(|d| (d.version, d.direction, d.error.clone()))
        .collect();
    // Migrations commit in order: the applied ones are 1..=n.
    assert_eq!(
        applied,
        (1..=applied.len() as u64).collect::<Vec<_>>(),
        "{trial}"
    );
    // Only the no-transaction migration can be dirty, only in its turn, and
    // a kill records no error.
    if !dirty.is_empty() {
        assert_eq!(dirty, [(NO_TRANSACTION, Direction::Up, None)], "{trial}");
        assert_eq!(applied.len() as u64, NO_TRANSACTION - 1, "{trial}");
    }
    for migration in migrations.iter() {
        let version = migration.version();
        let found = effect(&conn, version);
        if applied.contains(&version) {
            assert_eq!(
                found,
                Effect::Complete,
                "{trial}: migration {version} is applied"
            );
        } else if dirty.iter().any(|d| d.0 == version) {
            // Cut short outside a transaction: any of its effect may be there.
            if found == Effect::Complete {
                tally.dirty_with_index += 1;
            }
        } else {
            assert_eq!(
                found,
                Effect::Absent,
                "{trial}: migration {version} is not recorded"
            );
        }
    }
    let phase = if !dirty.is_empty() {
        Phase::InNoTransaction
    } else if applied.len() == migrations.len() {
        Phase::AfterCompletion
    } else if applied.is_empty() {
        Phase::BeforeAnything
    } else {
        match applied.len() as u64 + 1 {
            NO_TRANSACTION => Phase::BeforeDirtyMark,
            next => Phase::BeforeOrInTransactional(next),
        }
    };
    let entry = tally.phases.entry(phase).or_default();
    entry.0 += 1;
    entry.1 += usize::from(journal_mode == "DELETE");
    entry.2 += usize::from(journal);
    tally.finished += usize::from(finished);

    // Recovery: repair a dirty mark, then run to the end.
    let repaired = migrations.runner().repair(&mut conn).unwrap();
    let cleared: Vec<(u64, RepairAction)> = repaired
        .repairs
        .iter()
        .map(|r| (r.version, r.action.clone()))
        .collect();
    let expected: Vec<(u64, RepairAction)> = dirty
        .iter()
        .map(|d| (d.0, RepairAction::ClearedDirty))
        .collect();
    assert_eq!(
        cleared, expected,
        "{trial}: repair clears the dirty mark, nothing else"
    );
    migrations.run(&mut conn).unwrap();

    let status = migrations.status(&mut conn).unwrap();
    assert_eq!(status.applied.len(), migrations.len(), "{trial}");
    assert!(
        status.pending.is_empty() && status.dirty.is_empty() && status.failed.is_empty(),
        "{trial}: {status:?}"
    );
    assert_eq!(
        final_state(&conn),
        reference,
        "{trial}: the state after recovery"
    );
    let (applied_events, other_events): (Vec<_>, Vec<_>) = migrations
        .history(&mut conn)
        .unwrap()
        .into_iter()
        .map(|event| (event.kind, event.version))
        .partition(|(kind, _)| *kind == EventKind::Applied);
    assert_eq!(
        applied_events,
        (1..=migrations.len() as u64)
            .map(|v| (EventKind::Applied, v))
            .collect::<Vec<_>>(),
        "{trial}: one applied event per version, in order"
    );
    let repaired: Vec<_> = dirty.iter().map(|d| (EventKind::Repaired, d.0)).collect();
    assert_eq!(other_events, repaired, "{trial}: no failed events");
}
