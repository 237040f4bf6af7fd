//! The PostgreSQL backend's guarantees on a real server, beyond the
//! conformance suite: separate processes racing on one database, processes
//! killed with SIGKILL in the middle of a migration, the lock timeout, the
//! transaction-scoped lock, the tracking tables' schema, no-transaction
//! migrations, the server's errors, the connection handed back as given, and
//! the async API on `tokio-postgres` called directly.
//!
//! Every test skips with a one-line notice when no server answers (see
//! `tests/common/postgres.rs`). `MIGRATE_HEAVY=1` races and kills many more
//! rounds; `MIGRATE_CRASH_SEED=<u64>` repeats a sequence of kill delays (the
//! seed is printed).
//!
//! The process tests start copies of this test binary as children: each runs
//! one ignored test (`race_in_a_child_process`, `run_in_a_child_process`)
//! with the environment the parent sets.

#[allow(dead_code)] // `Folder::rename` is not used here
#[path = "../../tests/common/folder.rs"]
mod folder;
#[path = "../../tests/common/postgres.rs"]
mod postgres;
#[path = "../../tests/common/race.rs"]
mod race;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use folder::Folder;
use migrate::postgres::postgres::{Client, Config, NoTls};
use migrate::postgres::tokio_postgres::{self, error::SqlState};
use migrate::postgres::{LockScope, Postgres, ServerError};
use migrate::{Direction, Error, EventKind, Migrations, RepairAction};
use postgres::{TestDatabase, queries};
use race::{racing_set, rounds};

// ---------------------------------------------------------------------------
// Queries and checks shared by the tests.

fn count(client: &mut Client, sql: &str) -> i64 {
    queries::count(client, sql)
}

fn texts(client: &mut Client, sql: &str) -> Vec<String> {
    queries::texts(client, sql)
}

/// The server process of the connection (`pg_backend_pid()`).
fn backend_pid(client: &mut Client) -> i32 {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .expect("read the backend pid")
        .get(0)
}

/// The tracking table's rows in `schema`, as (version, state).
fn tracking_states(client: &mut Client, schema: &str) -> Vec<(i64, String)> {
    client
        .query(
            &format!(
                "SELECT version, state FROM \"{schema}\".migrate_schema_history ORDER BY version"
            ),
            &[],
        )
        .expect("read the tracking table")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// The history as (kind, version).
fn history(migrations: &Migrations, client: &mut Client) -> Vec<(EventKind, u64)> {
    migrations
        .history(client)
        .expect("read the history")
        .into_iter()
        .map(|event| (event.kind, event.version))
        .collect()
}

/// Waits until `done` holds; panics with `what` after a minute (a guard
/// against a hang, not a timing assertion).
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let waiting = Instant::now();
    while !done() {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "waited a minute for {what}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Checks that `client` is as the caller left it: its `lock_timeout` is
/// `lock_timeout`, it holds no advisory lock, and no transaction is open
/// (`SAVEPOINT` is refused with 25P01 outside one).
fn assert_handed_back(client: &mut Client, lock_timeout: &str, context: &str) {
    let setting: String = client
        .query_one("SELECT current_setting('lock_timeout')", &[])
        .expect("read lock_timeout")
        .get(0);
    assert_eq!(
        setting, lock_timeout,
        "{context}: the connection's lock_timeout"
    );
    assert_eq!(
        count(
            client,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        ),
        0,
        "{context}: an advisory lock of this connection is still held"
    );
    match client.batch_execute("SAVEPOINT handed_back_probe") {
        Err(error) if error.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => {}
        other => panic!("{context}: a transaction is still open (SAVEPOINT gave {other:?})"),
    }
}

/// Checks that the racing set's four migrations were reported applied once
/// in all, and that the data, the tracking table and the history show that
/// each ran once.
fn assert_each_applied_once(
    mut reported: Vec<u64>,
    client: &mut Client,
    migrations: &Migrations,
    rows: i64,
    context: &str,
) {
    reported.sort_unstable();
    assert_eq!(
        reported,
        [1, 2, 3, 4],
        "{context}: each migration reported applied once"
    );
    assert_eq!(
        texts(
            client,
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM applied_log"
        ),
        ["1,2,3,4"],
        "{context}: each migration's row once in the data"
    );
    assert_eq!(
        count(client, "SELECT count(*) FROM numbers"),
        rows,
        "{context}"
    );
    assert_eq!(
        count(client, "SELECT min(n) FROM numbers"),
        2,
        "{context}: 0004 ran once"
    );
    assert_eq!(
        tracking_states(client, "public"),
        [1, 2, 3, 4].map(|v| (v, "applied".to_owned())),
        "{context}: one tracking row per version, all applied"
    );
    assert_eq!(
        history(migrations, client),
        [1, 2, 3, 4].map(|v| (EventKind::Applied, v)),
        "{context}: the history has one applied event per version and nothing else"
    );
}

fn micros_since_epoch() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros()
}

/// The environment of a child process: the migrations folder, the database
/// URL, and (for the race) the start signal file.
const CHILD_FOLDER: &str = "MIGRATE_PG_CHILD_FOLDER";
const CHILD_URL: &str = "MIGRATE_PG_CHILD_URL";
const CHILD_START: &str = "MIGRATE_PG_CHILD_START";

/// Starts a copy of this test binary running the ignored test `test`.
fn spawn_child(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> std::process::Child {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args(["--ignored", "--exact", test, "--nocapture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    command.spawn().expect("start a child process")
}

// ---------------------------------------------------------------------------
// 1. Separate processes racing.

/// Rows of the racing set's data migration.
const RACE_ROWS: u32 = 100_000;

/// Eight processes start a run on one database at the same moment, with a
/// slow data migration in the set: every one succeeds, and each migration is
/// applied exactly once (in the data, the tracking table and the history).
#[test]
fn separate_processes_apply_each_migration_exactly_once() {
    if !postgres::available() {
        return;
    }
    const PROCESSES: usize = 8;
    let mut overlapping_total = 0;
    let rounds = rounds(20, 100);
    for round in 0..rounds {
        overlapping_total += race_processes(PROCESSES, round);
    }
    eprintln!(
        "race: {rounds} rounds of {PROCESSES} processes, on average {:.1} runs started before the first finished",
        overlapping_total as f64 / rounds as f64
    );
}

/// One round; returns how many runs started before the first finished.
fn race_processes(processes: usize, round: usize) -> usize {
    let folder = racing_set(RACE_ROWS);
    let migrations = folder.migrations();
    let db = TestDatabase::new();
    let signals = tempfile::tempdir().expect("a folder for the start signal");
    let start = signals.path().join("start");
    let url = db.url();

    let children: Vec<_> = (0..processes)
        .map(|_| {
            spawn_child(
                "race_in_a_child_process",
                &[
                    (CHILD_FOLDER, folder.path().as_os_str()),
                    (CHILD_URL, url.as_ref()),
                    (CHILD_START, start.as_os_str()),
                ],
            )
        })
        .collect();
    // Each child connects, then says it is ready and waits for the signal.
    wait_until("the children to be ready", || {
        std::fs::read_dir(signals.path())
            .expect("read the signal folder")
            .count()
            == processes
    });
    std::fs::write(&start, "go").expect("start signal");

    let mut runs = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "round {round}: a child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        runs.push(parse_child_run(&stdout));
    }
    // The race happened: at least two runs were inside `run` at once.
    let first_finished = runs.iter().map(|run| run.finished).min().unwrap();
    let overlapping = runs
        .iter()
        .filter(|run| run.started < first_finished)
        .count();
    assert!(
        overlapping >= 2,
        "round {round}: only {overlapping} run(s) started before the first one finished"
    );
    let applied = runs.into_iter().flat_map(|run| run.applied).collect();
    assert_each_applied_once(
        applied,
        &mut db.connect(),
        &migrations,
        i64::from(RACE_ROWS),
        &format!("round {round}"),
    );
    overlapping
}

/// When one child's run started and finished (microseconds since the Unix
/// epoch), and what it applied.
struct ChildRun {
    started: u128,
    finished: u128,
    applied: Vec<u64>,
}

fn parse_child_run(stdout: &str) -> ChildRun {
    let field = |prefix: &str| -> Vec<u128> {
        stdout
            .lines()
            .filter_map(|line| line.strip_prefix(prefix))
            .map(|value| value.parse().expect("a number"))
            .collect()
    };
    ChildRun {
        started: field("started ")[0],
        finished: field("finished ")[0],
        applied: field("applied ").into_iter().map(|v| v as u64).collect(),
    }
}

/// Not a test of its own: the body of each process started by
/// [`separate_processes_apply_each_migration_exactly_once`].
#[test]
#[ignore = "runs only as a child of separate_processes_apply_each_migration_exactly_once"]
fn race_in_a_child_process() {
    // Run directly (`--include-ignored`), not as a child: nothing to do.
    let Some(folder) = std::env::var_os(CHILD_FOLDER) else {
        return;
    };
    let url = std::env::var(CHILD_URL).expect("MIGRATE_PG_CHILD_URL");
    let start = PathBuf::from(std::env::var_os(CHILD_START).expect("MIGRATE_PG_CHILD_START"));
    let migrations = Migrations::from_folder(Path::new(&folder)).expect("valid folder");
    let mut client = Client::connect(&url, NoTls).expect("connect to the database");
    let ready = start.with_file_name(format!("ready.{}", std::process::id()));
    std::fs::write(ready, "").expect("say this child is ready");
    let waiting = Instant::now();
    while !start.exists() {
        assert!(waiting.elapsed().as_secs() < 60, "no start signal");
        thread::sleep(Duration::from_millis(1));
    }
    println!("started {}", micros_since_epoch());
    let report = migrations.run(&mut client).expect("the run succeeds");
    println!("finished {}", micros_since_epoch());
    for applied in report.applied {
        println!("applied {}", applied.version);
    }
}

// ---------------------------------------------------------------------------
// 2. Processes killed with SIGKILL.

/// Rows of the crash set's data migration.
const CRASH_ROWS: i64 = 50_000;
/// The crash set's no-transaction migration.
const NO_TRANSACTION: u64 = 3;
/// The application name a killed child's connection has, to find its server
/// process in `pg_stat_activity`.
const CRASH_CHILD: &str = "migrate_crash_child";

const DEFAULT_TRIALS: usize = 20;
const HEAVY_TRIALS: usize = 100;

/// Four migrations, every statement tagged `/* mNNNN */` with its version
/// so that `pg_stat_activity` tells which one a server process runs. Each
/// sleeps a little (a slow migration), so that kills land inside them:
/// 2 fills a table, 3 runs outside a transaction (an index built
/// concurrently), 4 changes every row.
fn crash_set() -> Folder {
    Folder::new(&[
        (
            "0001_log.sql",
            "CREATE TABLE applied_log (version integer NOT NULL) /* m0001 */;\n\
             INSERT INTO applied_log VALUES (1) /* m0001 */;",
        ),
        (
            "0002_numbers.sql",
            &format!(
                "CREATE TABLE numbers (n integer NOT NULL, parity integer NOT NULL) /* m0002 */;\n\
                 INSERT INTO numbers SELECT n, n % 2 FROM generate_series(1, {CRASH_ROWS}) AS n /* m0002 */;\n\
                 SELECT pg_sleep(0.2) /* m0002 */;\n\
                 INSERT INTO applied_log VALUES (2) /* m0002 */;"
            ),
        ),
        (
            "0003_index.sql",
            "-- migrate:no-transaction\n\
             SELECT pg_sleep(0.2) /* m0003 */;\n\
             CREATE INDEX CONCURRENTLY numbers_n ON numbers (n) /* m0003 */;\n\
             INSERT INTO applied_log VALUES (3) /* m0003 */;",
        ),
        (
            "0004_shift.sql",
            "UPDATE numbers SET n = n + 1 /* m0004 */;\n\
             SELECT pg_sleep(0.2) /* m0004 */;\n\
             INSERT INTO applied_log VALUES (4) /* m0004 */;",
        ),
    ])
}

/// What a migration of the crash set left in the database.
#[derive(Debug, PartialEq, Eq)]
enum Effect {
    Absent,
    Complete,
    /// Some of it: allowed only for the dirty no-transaction migration.
    Partial,
}

fn exists(client: &mut Client, relation: &str) -> bool {
    count(
        client,
        &format!("SELECT count(*) FROM pg_class WHERE oid = to_regclass('{relation}')"),
    ) > 0
}

fn effect(client: &mut Client, version: u64) -> Effect {
    let logged = exists(client, "applied_log")
        && count(
            client,
            &format!("SELECT count(*) FROM applied_log WHERE version = {version}"),
        ) > 0;
    let numbers = exists(client, "numbers");
    let (complete, absent) = match version {
        1 => (logged, !exists(client, "applied_log")),
        2 => {
            let full = numbers && count(client, "SELECT count(*) FROM numbers") == CRASH_ROWS;
            (full && logged, !numbers && !logged)
        }
        3 => {
            let index = exists(client, "numbers_n");
            (index && logged, !index && !logged)
        }
        4 => {
            let shifted = numbers && count(client, "SELECT min(n) FROM numbers") == 2;
            (shifted && logged, !shifted && !logged)
        }
        _ => unreachable!("the crash set has four migrations"),
    };
    match (complete, absent) {
        (true, _) => Effect::Complete,
        (false, true) => Effect::Absent,
        (false, false) => Effect::Partial,
    }
}

/// Everything the crash set leaves, to compare with an uninterrupted run.
fn final_state(client: &mut Client) -> Vec<String> {
    let mut state = queries::schema(client);
    for sql in [
        "SELECT coalesce(string_agg(version::text, ',' ORDER BY version), '') FROM applied_log",
        "SELECT concat_ws(' ', count(*), sum(n), min(n), sum(parity)) FROM numbers",
        "SELECT coalesce(string_agg(indexrelid::regclass::text || ' valid ' || indisvalid, ','), '')
           FROM pg_index WHERE indrelid = to_regclass('numbers')",
    ] {
        state.extend(texts(client, sql));
    }
    state
}

/// What the killed child's server process was doing right after the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    /// Running a statement of this migration: the kill came while it ran
    /// (the client waits for each statement's result before it sends
    /// another, so nothing after it was sent).
    InStatement(u64),
    /// Anything else: not connected yet, between statements, gone already.
    Elsewhere,
}

/// Where a trial's run stood, as the tracking table tells after the kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// Nothing applied.
    BeforeAnything,
    /// Migrations before this (transactional) one applied, it not.
    BeforeOrIn(u64),
    /// The no-transaction migration marked dirty.
    Dirty,
    /// Everything applied.
    AfterCompletion,
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

/// A run killed with SIGKILL at a random moment: the server rolls back the
/// transaction it was in (the migration is neither applied nor recorded),
/// a killed no-transaction migration is dirty — the next run refuses with
/// [`Error::Dirty`] — until repaired, and then a run completes, leaving the
/// database as an uninterrupted run does.
#[test]
fn killed_runs_leave_each_migration_applied_completely_or_not_at_all() {
    if !postgres::available() {
        return;
    }
    let folder = crash_set();
    let migrations = folder.migrations();
    let trials = if heavy() {
        HEAVY_TRIALS
    } else {
        DEFAULT_TRIALS
    };
    let seed = std::env::var("MIGRATE_CRASH_SEED")
        .map(|seed| seed.parse().expect("MIGRATE_CRASH_SEED is a u64"))
        .unwrap_or_else(|_| micros_since_epoch() as u64);
    let mut rng = SplitMix64(seed);

    // Calibrate: how long a child takes from spawn to exit, uninterrupted
    // (a median: the machine is shared); the first run's state is the
    // reference for the state after recovery.
    let (took, reference) = time_a_full_run(&folder);
    let mut full_runs = vec![took];
    while full_runs.len() < 3 {
        full_runs.push(time_a_full_run(&folder).0);
    }
    full_runs.sort_unstable();
    // A little past the end of a run, so that some kills land after it.
    let span = full_runs[1].mul_f64(1.2);
    eprintln!(
        "crash: {trials} trials, seed {seed} (MIGRATE_CRASH_SEED), a full run takes {:?}",
        full_runs[1]
    );

    // Stratified: each trial's delay is uniform in its own one of `trials`
    // equal slices of [-0.05, 1] x span (a negative delay is 0: a kill right
    // after the spawn), the slices shuffled (Fisher-Yates).
    let mut slices: Vec<usize> = (0..trials).collect();
    for i in (1..trials).rev() {
        slices.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    let mut tally: BTreeMap<(Phase, Moment), usize> = BTreeMap::new();
    for (trial, slice) in slices.into_iter().enumerate() {
        let at = (slice as f64 + rng.unit()) / trials as f64;
        let delay = span.mul_f64((at * 1.05 - 0.05).max(0.0));
        let name = format!("trial {trial} (killed after {delay:?}, seed {seed})");
        let outcome = crash_trial(&folder, &migrations, delay, &reference, &name);
        *tally.entry(outcome).or_default() += 1;
    }

    eprintln!("crash: where the {trials} kills landed (phase after the kill, statement running):");
    for ((phase, moment), n) in &tally {
        eprintln!("crash:   {phase:?}, {moment:?}: {n}");
    }
    let in_statement = |wanted: fn(u64) -> bool| -> usize {
        tally
            .iter()
            .filter(|((_, moment), _)| matches!(moment, Moment::InStatement(v) if wanted(*v)))
            .map(|(_, n)| n)
            .sum()
    };
    let mid_migration = in_statement(|_| true);
    eprintln!("crash: {mid_migration} of {trials} kills landed while a migration's statement ran");
    // The migrations' statements take most of a run: a quarter is a floor
    // that a shared machine keeps.
    assert!(
        mid_migration >= trials / 4,
        "only {mid_migration} of {trials} kills landed while a migration's statement ran"
    );
    assert!(
        in_statement(|v| v != NO_TRANSACTION) > 0,
        "no kill landed while a transactional migration's statement ran"
    );
    assert!(
        in_statement(|v| v == NO_TRANSACTION) > 0,
        "no kill landed while the no-transaction migration ran"
    );
}

/// Runs a child on a new database to the end; how long it took from spawn
/// to exit, and the state it left.
fn time_a_full_run(folder: &Folder) -> (Duration, Vec<String>) {
    let db = TestDatabase::new();
    let started = Instant::now();
    let child = spawn_crash_child(folder, &db);
    let output = child.wait_with_output().expect("child process");
    assert!(
        output.status.success(),
        "calibration run failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (started.elapsed(), final_state(&mut db.connect()))
}

fn spawn_crash_child(folder: &Folder, db: &TestDatabase) -> std::process::Child {
    spawn_child(
        "run_in_a_child_process",
        &[
            (CHILD_FOLDER, folder.path().as_os_str()),
            (CHILD_URL, db.url().as_ref()),
        ],
    )
}

/// One trial: a child run killed after `delay`, then the checks and the
/// recovery. Returns where the kill landed.
fn crash_trial(
    folder: &Folder,
    migrations: &Migrations,
    delay: Duration,
    reference: &[String],
    trial: &str,
) -> (Phase, Moment) {
    let db = TestDatabase::new();
    let mut client = db.connect();
    let mut child = spawn_crash_child(folder, &db);
    thread::sleep(delay);
    // SIGKILL on Unix; an error means it was reaped already, which cannot be.
    child.kill().expect("kill the child");
    let output = child.wait_with_output().expect("child process");
    assert_ne!(
        output.status.code(),
        Some(101),
        "{trial}: the child run failed on its own:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The server process outlives its client until it next talks to it:
    // what it still runs was running at the kill.
    let activity = client
        .query(
            "SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
            &[&CRASH_CHILD],
        )
        .expect("read pg_stat_activity");
    let moment = activity
        .first()
        .filter(|row| row.get::<_, Option<&str>>(0) == Some("active"))
        .and_then(|row| {
            let query: &str = row.get(1);
            (1..=4u64).find(|v| query.contains(&format!("/* m{v:04} */")))
        })
        .map_or(Moment::Elsewhere, Moment::InStatement);
    wait_until("the killed child's server process to end", || {
        count(
            &mut client,
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{CRASH_CHILD}'"
            ),
        ) == 0
    });

    let status = migrations
        .status(&mut client)
        .expect("status after the kill");
    assert!(status.failed.is_empty(), "{trial}: {:?}", status.failed);
    assert!(status.problems.is_empty(), "{trial}: {:?}", status.problems);
    let applied: Vec<u64> = status.applied.iter().map(|a| a.version).collect();
    let dirty: Vec<(u64, Direction, Option<String>)> = status
        .dirty
        .iter()
        .map(|d| (d.version, d.direction, d.error.clone()))
        .collect();
    assert_eq!(
        applied,
        (1..=applied.len() as u64).collect::<Vec<_>>(),
        "{trial}: migrations commit in order"
    );
    if !dirty.is_empty() {
        assert_eq!(dirty, [(NO_TRANSACTION, Direction::Up, None)], "{trial}");
        assert_eq!(applied.len() as u64, NO_TRANSACTION - 1, "{trial}");
    }
    match moment {
        Moment::InStatement(NO_TRANSACTION) => assert_eq!(
            dirty.len(),
            1,
            "{trial}: killed while the no-transaction migration ran, it is dirty"
        ),
        Moment::InStatement(version) => assert_eq!(
            applied.len() as u64,
            version - 1,
            "{trial}: killed while migration {version} ran, the server rolled it back"
        ),
        Moment::Elsewhere => {}
    }
    for migration in migrations.iter() {
        let version = migration.version();
        let found = effect(&mut client, version);
        if applied.contains(&version) {
            assert_eq!(
                found,
                Effect::Complete,
                "{trial}: migration {version} is applied"
            );
        } else if dirty.is_empty() || version != NO_TRANSACTION {
            assert_eq!(
                found,
                Effect::Absent,
                "{trial}: migration {version} is not recorded"
            );
        }
    }
    let phase = if !dirty.is_empty() {
        Phase::Dirty
    } else if applied.len() == migrations.len() {
        Phase::AfterCompletion
    } else if applied.is_empty() {
        Phase::BeforeAnything
    } else {
        Phase::BeforeOrIn(applied.len() as u64 + 1)
    };

    // Recovery: a dirty mark refuses the run, changing nothing, until the
    // migration's partial effect is undone by hand and it is repaired.
    if !dirty.is_empty() {
        let before = final_state(&mut client);
        match migrations.run(&mut client) {
            Err(Error::Dirty {
                version: NO_TRANSACTION,
                direction: Direction::Up,
                error: None,
                ..
            }) => {}
            other => panic!("{trial}: expected Error::Dirty for migration 3, got {other:?}"),
        }
        assert_eq!(
            final_state(&mut client),
            before,
            "{trial}: the refusal changed nothing"
        );
        client
            .batch_execute(
                "DROP INDEX IF EXISTS numbers_n; DELETE FROM applied_log WHERE version = 3",
            )
            .expect("undo the cut-short migration by hand");
    }
    let repaired = migrations.runner().repair(&mut client).expect("repair");
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
    migrations.run(&mut client).expect("the run after the kill");

    let status = migrations
        .status(&mut client)
        .expect("status after recovery");
    assert!(status.is_up_to_date(), "{trial}: {status:?}");
    assert_eq!(
        final_state(&mut client),
        reference,
        "{trial}: the state after recovery"
    );
    let (applied_events, other_events): (Vec<_>, Vec<_>) = history(migrations, &mut client)
        .into_iter()
        .partition(|(kind, _)| *kind == EventKind::Applied);
    assert_eq!(
        applied_events,
        (1..=4).map(|v| (EventKind::Applied, v)).collect::<Vec<_>>(),
        "{trial}: one applied event per version, in order"
    );
    let repaired: Vec<_> = dirty.iter().map(|d| (EventKind::Repaired, d.0)).collect();
    assert_eq!(other_events, repaired, "{trial}: no failed events");
    (phase, moment)
}

/// Not a test of its own: the body of each process started by
/// [`killed_runs_leave_each_migration_applied_completely_or_not_at_all`].
#[test]
#[ignore = "runs only as a child of killed_runs_leave_each_migration_applied_completely_or_not_at_all"]
fn run_in_a_child_process() {
    let Some(folder) = std::env::var_os(CHILD_FOLDER) else {
        return;
    };
    let url = std::env::var(CHILD_URL).expect("MIGRATE_PG_CHILD_URL");
    let migrations = Migrations::from_folder(Path::new(&folder)).expect("valid folder");
    let mut config = Config::from_str(&url).expect("a database URL");
    config.application_name(CRASH_CHILD);
    let mut client = config.connect(NoTls).expect("connect to the database");
    migrations.run(&mut client).expect("the run succeeds");
}

// ---------------------------------------------------------------------------
// 3. The lock timeout.

/// While one run holds the migration lock in a slow migration (in a
/// transaction, or outside one), a run with a short lock timeout fails with
/// [`Error::Locked`] after it, having applied and recorded nothing, its
/// connection handed back; a run with the default timeout waits, then
/// succeeds applying nothing.
#[test]
fn a_held_lock_fails_a_run_with_a_short_timeout_and_a_patient_run_waits() {
    if !postgres::available() {
        return;
    }
    const TIMEOUT: Duration = Duration::from_millis(200);
    let slow = "SELECT pg_sleep(2) AS holding_the_lock;\nINSERT INTO applied_log VALUES (2);";
    for no_transaction in [false, true] {
        let case = if no_transaction {
            "a no-transaction migration holds it"
        } else {
            "a migration's transaction holds it"
        };
        let directive = if no_transaction {
            "-- migrate:no-transaction\n"
        } else {
            ""
        };
        let folder = Folder::new(&[
            (
                "0001_log.sql",
                "CREATE TABLE applied_log (version integer);\nINSERT INTO applied_log VALUES (1);",
            ),
            ("0002_slow.sql", &format!("{directive}{slow}")),
        ]);
        let migrations = Arc::new(folder.migrations());
        let db = TestDatabase::new();
        let mut monitor = db.connect();

        let mut holder = db.connect();
        let holder_pid = backend_pid(&mut holder);
        let holder = {
            let migrations = migrations.clone();
            thread::spawn(move || migrations.run(&mut holder))
        };
        let holds_it = |monitor: &mut Client| {
            count(
                monitor,
                &format!(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = {holder_pid} AND state = 'active' AND query LIKE '%holding_the_lock%'"
                ),
            ) == 1
        };
        wait_until("the first run to be in its slow migration", || {
            holds_it(&mut monitor)
        });

        let mut hurried = db.connect();
        hurried.batch_execute("SET lock_timeout = '7s'").unwrap();
        match migrations.runner().lock_timeout(TIMEOUT).run(&mut hurried) {
            Err(error @ Error::Locked { waited, .. }) => {
                assert_eq!(waited, TIMEOUT, "{case}");
                let message = error.to_string();
                assert!(
                    message.contains("locked") && message.contains("200 ms"),
                    "{case}: {message}"
                );
            }
            other => panic!("{case}: expected Error::Locked, got {other:?}"),
        }
        assert_handed_back(&mut hurried, "7s", case);
        assert!(
            holds_it(&mut monitor),
            "{case}: the first run finished its 2 s migration while the second waited 200 ms; the test proved nothing"
        );

        let mut patient = db.connect();
        let patient_pid = backend_pid(&mut patient);
        let patient = {
            let migrations = migrations.clone();
            thread::spawn(move || migrations.run(&mut patient))
        };
        let mut seen_waiting = false;
        wait_until("the patient run to wait or finish", || {
            seen_waiting = count(
                &mut monitor,
                &format!(
                    "SELECT count(*) FROM pg_locks WHERE pid = {patient_pid} AND locktype = 'advisory' AND NOT granted"
                ),
            ) > 0;
            seen_waiting || patient.is_finished()
        });
        assert!(
            seen_waiting,
            "{case}: the patient run never waited for the lock"
        );

        let first = holder.join().unwrap().expect("the first run succeeds");
        let second = patient.join().unwrap().expect("the patient run succeeds");
        let versions = |report: &migrate::Report| -> Vec<u64> {
            report.applied.iter().map(|a| a.version).collect()
        };
        assert_eq!(versions(&first), [1, 2], "{case}");
        assert_eq!(
            versions(&second),
            [] as [u64; 0],
            "{case}: nothing applied twice"
        );
        assert_eq!(
            texts(
                &mut monitor,
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM applied_log"
            ),
            ["1,2"],
            "{case}"
        );
        assert_eq!(
            tracking_states(&mut monitor, "public"),
            [(1, "applied".to_owned()), (2, "applied".to_owned())],
            "{case}"
        );
        assert_eq!(
            history(&migrations, &mut monitor),
            [(EventKind::Applied, 1), (EventKind::Applied, 2)],
            "{case}: the refused run recorded nothing"
        );
    }
}

// ---------------------------------------------------------------------------
// 4. The transaction-scoped lock.

/// With [`LockScope::Transaction`] (for PgBouncer's transaction pooling)
/// eight threads racing each apply nothing twice, and all succeed.
#[test]
fn transaction_scoped_locks_apply_each_migration_exactly_once() {
    if !postgres::available() {
        return;
    }
    const RUNNERS: usize = 8;
    for round in 0..rounds(5, 30) {
        let folder = racing_set(RACE_ROWS);
        let migrations = Arc::new(folder.migrations());
        let db = TestDatabase::new();
        let start = Arc::new(Barrier::new(RUNNERS));
        let handles: Vec<_> = (0..RUNNERS)
            .map(|_| {
                let (migrations, start) = (migrations.clone(), start.clone());
                let mut client = db.connect();
                thread::spawn(move || {
                    client.batch_execute("SET lock_timeout = '3s'").unwrap();
                    start.wait();
                    let report = migrations
                        .run(&mut Postgres::new(&mut client).lock_scope(LockScope::Transaction));
                    assert_handed_back(&mut client, "3s", "a transaction-scoped run");
                    report
                })
            })
            .collect();
        let mut applied = Vec::new();
        for handle in handles {
            let report = handle
                .join()
                .expect("runner thread")
                .unwrap_or_else(|e| panic!("round {round}: a run failed: {e}"));
            applied.extend(report.applied.iter().map(|a| a.version));
        }
        assert_each_applied_once(
            applied,
            &mut db.connect(),
            &migrations,
            i64::from(RACE_ROWS),
            &format!("round {round}"),
        );
    }
}

// ---------------------------------------------------------------------------
// 5. The tracking tables' schema.

fn reversible_set() -> Folder {
    Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_posts.up.sql",
            "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
        ),
        ("0002_posts.down.sql", "DROP TABLE posts;"),
    ])
}

/// The tables of `schema`, from the catalog.
fn tables_in(client: &mut Client, schema: &str) -> Vec<String> {
    texts(
        client,
        &format!(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = '{schema}' ORDER BY tablename"
        ),
    )
}

/// `.schema("app_meta")` puts the tracking tables there (created with the
/// schema on the first run), status and rollback read them there, the
/// migrations' own objects stay where their SQL puts them, and `public` has
/// no tracking table.
#[test]
fn tracking_tables_live_in_the_schema_given() {
    if !postgres::available() {
        return;
    }
    let folder = reversible_set();
    let migrations = folder.migrations();
    let db = TestDatabase::new();
    let mut client = db.connect();

    let report = migrations
        .run(&mut Postgres::new(&mut client).schema("app_meta"))
        .unwrap();
    assert_eq!(report.applied.len(), 2);
    assert_eq!(
        tables_in(&mut client, "app_meta"),
        ["migrate_schema_history", "migrate_schema_history_events"]
    );
    assert_eq!(tables_in(&mut client, "public"), ["posts", "users"]);
    assert_eq!(tracking_states(&mut client, "app_meta").len(), 2);

    let status = migrations
        .status(&mut Postgres::new(&mut client).schema("app_meta"))
        .unwrap();
    assert!(status.is_up_to_date(), "{status:?}");
    assert_eq!(status.current_version, Some(2));
    // The default schema has no tracking table: all pending, and status
    // creates none.
    let status = migrations.status(&mut client).unwrap();
    assert_eq!(status.applied.len(), 0);
    assert_eq!(status.pending.len(), 2);
    assert_eq!(tables_in(&mut client, "public"), ["posts", "users"]);

    let rolled_back = migrations
        .rollback(&mut Postgres::new(&mut client).schema("app_meta"), 1)
        .unwrap();
    assert_eq!(
        rolled_back
            .rolled_back
            .iter()
            .map(|r| r.version)
            .collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(tables_in(&mut client, "public"), ["users"]);
    assert_eq!(
        tracking_states(&mut client, "app_meta"),
        [(1, "applied".to_owned())]
    );
    let events: Vec<_> = migrations
        .history(&mut Postgres::new(&mut client).schema("app_meta"))
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.version))
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::Applied, 1),
            (EventKind::Applied, 2),
            (EventKind::RolledBack, 2)
        ]
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relname LIKE 'migrate\\_schema\\_history%'"
        ),
        0,
        "public has no tracking table"
    );

    // A schema name is an identifier used as written, or refused.
    migrations
        .run(&mut Postgres::new(&mut client).schema("Meta_Case"))
        .unwrap_err();
    assert_eq!(
        tables_in(&mut client, "Meta_Case"),
        ["migrate_schema_history", "migrate_schema_history_events"],
        "the quoted, case-kept schema (its run failed on the existing users table)"
    );
    for bad in ["app-meta", "app_meta\"; DROP TABLE users; --", "1meta", ""] {
        match migrations.run(&mut Postgres::new(&mut client).schema(bad)) {
            Err(Error::InvalidTableName(name)) => assert_eq!(name, bad),
            other => panic!("schema {bad:?}: expected InvalidTableName, got {other:?}"),
        }
    }
    assert_eq!(tables_in(&mut client, "public"), ["users"]);
}

// ---------------------------------------------------------------------------
// 6. No-transaction migrations.

/// `CREATE INDEX CONCURRENTLY` and `ALTER TYPE ... ADD VALUE` apply with
/// `-- migrate:no-transaction`; `CREATE INDEX CONCURRENTLY` in a normal
/// migration fails with the server's message and the hint about the
/// directive, nothing of that migration applied.
#[test]
fn no_transaction_migrations_run_what_a_transaction_refuses() {
    if !postgres::available() {
        return;
    }
    let folder = Folder::new(&[
        (
            "0001_people.sql",
            "CREATE TYPE mood AS ENUM ('sad', 'ok');\nCREATE TABLE people (name text, feeling mood);",
        ),
        (
            "0002_concurrently.sql",
            "-- migrate:no-transaction\nALTER TYPE mood ADD VALUE 'happy';\nCREATE INDEX CONCURRENTLY people_name ON people (name);\nINSERT INTO people VALUES ('ann', 'happy');",
        ),
    ]);
    let db = TestDatabase::new();
    let mut client = db.connect();
    let report = folder.migrations().run(&mut client).unwrap();
    assert_eq!(report.applied.len(), 2);
    assert_eq!(
        texts(
            &mut client,
            "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = 'mood'::regtype ORDER BY enumsortorder"
        ),
        ["sad", "ok", "happy"]
    );
    assert_eq!(
        texts(
            &mut client,
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'people_name'::regclass"
        ),
        ["true"],
        "the concurrent index is built and valid"
    );
    assert_eq!(
        texts(&mut client, "SELECT feeling::text FROM people"),
        ["happy"]
    );
    let status = folder.migrations().status(&mut client).unwrap();
    assert!(
        status.is_up_to_date() && status.dirty.is_empty(),
        "{status:?}"
    );

    folder.write(
        "0003_forgot_the_directive.sql",
        "CREATE TABLE tags (name text);\nCREATE INDEX CONCURRENTLY\n    tags_name ON tags (name);",
    );
    let migrations = folder.migrations();
    let error = migrations.run(&mut client).unwrap_err();
    let message = error.to_string();
    match &error {
        Error::MigrationFailed {
            version: 3,
            dirty: false,
            line: Some(2),
            error: source,
            ..
        } => {
            let server = source
                .downcast_ref::<ServerError>()
                .expect("the server's error");
            assert_eq!(
                server.postgres_error().code(),
                Some(&SqlState::ACTIVE_SQL_TRANSACTION)
            );
        }
        other => panic!("expected migration 3 to fail at line 2, got {other:?}"),
    }
    for part in [
        "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        "SQLSTATE 25001",
        "-- migrate:no-transaction",
        "0003_forgot_the_directive.sql",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert!(
        !exists(&mut client, "tags"),
        "the migration's first statement was rolled back"
    );
    let status = migrations.status(&mut client).unwrap();
    assert_eq!(status.applied.len(), 2);
    assert_eq!(
        status.pending.iter().map(|p| p.version).collect::<Vec<_>>(),
        [3]
    );
    assert!(status.dirty.is_empty(), "{status:?}");
}

// ---------------------------------------------------------------------------
// 7. The server's errors, and statements the runner refuses.

/// Runs a one-migration set (`0001_<name>.sql` holding `sql`) on a new
/// database; its error, and the database to look at.
fn failing(name: &str, sql: &str) -> (Error, TestDatabase, Migrations) {
    let folder = Folder::new(&[(&format!("0001_{name}.sql"), sql)]);
    let migrations = folder.migrations();
    let db = TestDatabase::new();
    let error = migrations
        .run(&mut db.connect())
        .expect_err("the migration fails");
    (error, db, migrations)
}

/// A unique violation's error has SQLSTATE 23505 and the server's detail.
#[test]
fn a_unique_violation_gives_the_servers_code_and_detail() {
    if !postgres::available() {
        return;
    }
    let (error, db, migrations) = failing(
        "users",
        "CREATE TABLE users (email text UNIQUE);\nINSERT INTO users VALUES ('a@example.com');\n\nINSERT INTO users\n  VALUES ('a@example.com');",
    );
    let message = error.to_string();
    let Error::MigrationFailed {
        version: 1,
        line: Some(4),
        statement: Some(statement),
        error: source,
        ..
    } = &error
    else {
        panic!("expected migration 1 to fail at line 4, got {error:?}");
    };
    assert_eq!(&**statement, "INSERT INTO users VALUES ('a@example.com');");
    let db_error = source
        .downcast_ref::<ServerError>()
        .and_then(|e| e.postgres_error().as_db_error())
        .expect("the server's error");
    assert_eq!(db_error.code(), &SqlState::UNIQUE_VIOLATION);
    assert_eq!(
        db_error.detail(),
        Some("Key (email)=(a@example.com) already exists.")
    );
    assert!(
        message.contains("duplicate key value violates unique constraint \"users_email_key\" (SQLSTATE 23505); detail: Key (email)=(a@example.com) already exists.")
            && message.contains("`0001_users.sql` at line 4"),
        "{message}"
    );
    let mut client = db.connect();
    assert!(!exists(&mut client, "users"));
    let status = migrations.status(&mut client).unwrap();
    assert_eq!(status.failed.len(), 1, "the failure is recorded");
}

/// A syntax error inside a multi-line statement names the line of the
/// server's error position (counted in characters, after a comment with
/// multi-byte ones), not the statement's first line.
#[test]
fn a_syntax_error_names_the_line_at_the_servers_position() {
    if !postgres::available() {
        return;
    }
    let (error, _db, _) = failing(
        "people",
        "CREATE TABLE a (x int);\n\
         \n\
         CREATE TABLE people (\n\
         \x20   id integer, -- naïve café ☕ — «ça»\n\
         \x20   /* a comment; with a semicolon */ name text NOT NULL,\n\
         \x20   email text DEFALT 'x'\n\
         );\n",
    );
    let message = error.to_string();
    match &error {
        Error::MigrationFailed {
            line: Some(6),
            error: source,
            ..
        } => {
            let server = source
                .downcast_ref::<ServerError>()
                .expect("the server's error");
            assert_eq!(
                server.postgres_error().code(),
                Some(&SqlState::SYNTAX_ERROR)
            );
        }
        other => panic!("expected a failure at line 6, got {other:?}"),
    }
    assert!(
        message.contains("at line 6") && message.contains("syntax error at or near \"DEFALT\""),
        "{message}"
    );
}

/// A statement that would begin or end the runner's transaction is refused,
/// naming its line, before any statement of the migration runs (in a
/// transaction and outside one); the words inside strings, comments and
/// function bodies are not statements.
#[test]
fn transaction_control_in_a_migration_is_refused_before_anything_runs() {
    if !postgres::available() {
        return;
    }
    for refused in [
        "COMMIT;",
        "BEGIN;",
        "ROLLBACK;",
        "end;",
        "START TRANSACTION;",
        "commit work;",
        "/* first */ Rollback;",
        "ABORT;",
        "PREPARE TRANSACTION 'x';",
    ] {
        for directive in ["", "-- migrate:no-transaction\n"] {
            let case = format!("{directive:?}{refused}");
            let offset = u32::from(!directive.is_empty());
            let sql = format!(
                "{directive}CREATE TABLE before_it (x int);\nINSERT INTO before_it VALUES (1);\n{refused}\nCREATE TABLE after_it (x int);"
            );
            let (error, db, migrations) = failing("control", &sql);
            let message = error.to_string();
            match &error {
                Error::MigrationFailed {
                    version: 1,
                    line: Some(line),
                    statement: Some(statement),
                    ..
                } => {
                    assert_eq!(*line, 3 + offset, "{case}: {message}");
                    // From its first word: a comment before it is not part of it.
                    let words = refused.trim_start_matches("/* first */ ");
                    assert_eq!(&**statement, words, "{case}");
                }
                other => panic!("{case}: expected a refusal, got {other:?}"),
            }
            assert!(message.contains("refused"), "{case}: {message}");
            let mut client = db.connect();
            assert!(
                !exists(&mut client, "before_it"),
                "{case}: a statement before the refused one ran"
            );
            let status = migrations.status(&mut client).unwrap();
            assert!(status.applied.is_empty(), "{case}");
            // Refused before its dirty mark: a failed attempt, not a
            // migration that may be half applied.
            assert!(status.dirty.is_empty(), "{case}: {status:?}");
            assert_eq!(status.failed.len(), 1, "{case}: {status:?}");
        }
    }

    let folder = Folder::new(&[(
        "0001_words.sql",
        "CREATE TABLE notes (body text);\n\
         -- COMMIT;\n\
         INSERT INTO notes VALUES ('BEGIN; ROLLBACK; COMMIT;');\n\
         /* END; */\n\
         CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM notes /* COMMIT; */ $$;\n\
         DO $body$ BEGIN PERFORM 1; END $body$;\n\
         SAVEPOINT mine;\nINSERT INTO notes VALUES ('undone');\nROLLBACK TO SAVEPOINT mine;\nRELEASE SAVEPOINT mine;",
    )]);
    let db = TestDatabase::new();
    let mut client = db.connect();
    folder.migrations().run(&mut client).unwrap();
    assert_eq!(
        texts(&mut client, "SELECT body FROM notes"),
        ["BEGIN; ROLLBACK; COMMIT;"]
    );
    assert_eq!(count(&mut client, "SELECT note_count()"), 1);
}

// ---------------------------------------------------------------------------
// 8. The connection handed back.

/// After every action — successful, failed, refused — the connection's
/// `lock_timeout` is what the caller set, it holds no advisory lock and has
/// no transaction open; a connection inside a transaction is refused with
/// [`Error::TransactionOpen`], its transaction left as it was.
#[test]
fn the_connection_is_handed_back_as_given() {
    if !postgres::available() {
        return;
    }
    let folder = Folder::new(&[
        (
            "0001_users.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);",
        ),
        ("0001_users.down.sql", "DROP TABLE users;"),
        (
            "0002_email_index.up.sql",
            "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);",
        ),
        (
            "0002_email_index.down.sql",
            "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY users_email;",
        ),
        (
            "0003_posts.up.sql",
            "CREATE TABLE posts (id bigint PRIMARY KEY);",
        ),
        ("0003_posts.down.sql", "DROP TABLE posts;"),
    ]);
    let db = TestDatabase::new();
    for own in ["4321ms", "0", "2min"] {
        let mut client = db.connect();
        client
            .batch_execute(&format!("SET lock_timeout = '{own}'"))
            .unwrap();
        let shown: String = client.query_one("SHOW lock_timeout", &[]).unwrap().get(0);
        let migrations = folder.migrations();
        let check = |client: &mut Client, action: &str| {
            assert_handed_back(client, &shown, &format!("{action} (lock_timeout {own})"));
        };

        migrations.status(&mut client).unwrap();
        check(&mut client, "status");
        migrations.run(&mut client).unwrap();
        check(&mut client, "run");
        migrations.run(&mut client).unwrap();
        check(&mut client, "an up-to-date run");
        migrations.history(&mut client).unwrap();
        check(&mut client, "history");
        migrations.rollback(&mut client, 2).unwrap();
        check(&mut client, "rollback over a no-transaction down");
        migrations.runner().dry_run(&mut client).unwrap();
        check(&mut client, "dry run");
        migrations
            .run(&mut Postgres::new(&mut client).lock_scope(LockScope::Transaction))
            .unwrap();
        check(&mut client, "a transaction-scoped run");
        migrations.redo(&mut client).unwrap();
        check(&mut client, "redo");

        // A failure in a transaction, then one outside it (dirty), then the
        // refusal of the dirty mark, then the repair.
        folder.write("0004_fails.sql", "SELECT 1 / 0;");
        let failing = folder.migrations();
        assert!(matches!(
            failing.run(&mut client),
            Err(Error::MigrationFailed { dirty: false, .. })
        ));
        check(&mut client, "a failed migration");
        folder.write("0004_fails.sql", "-- migrate:no-transaction\nSELECT 1 / 0;");
        let failing = folder.migrations();
        assert!(matches!(
            failing.run(&mut client),
            Err(Error::MigrationFailed { dirty: true, .. })
        ));
        check(&mut client, "a failed no-transaction migration");
        assert!(matches!(failing.run(&mut client), Err(Error::Dirty { .. })));
        check(&mut client, "a dirty refusal");
        failing.runner().repair(&mut client).unwrap();
        check(&mut client, "repair");
        folder.remove("0004_fails.sql");
        // Back to three applied, for the next setting.
        let migrations = folder.migrations();
        migrations.runner().repair(&mut client).unwrap();
        assert!(migrations.status(&mut client).unwrap().is_up_to_date());
        migrations.rollback(&mut client, 3).unwrap();
        check(&mut client, "rollback of everything");
    }

    // Inside a transaction (idle, or failed): refused, and the caller's
    // transaction is still there to commit or roll back.
    let migrations = folder.migrations();
    let mut client = db.connect();
    for failed in [false, true] {
        client
            .batch_execute("BEGIN; CREATE TABLE mine (x int);")
            .unwrap();
        if failed {
            client.batch_execute("SELECT 1 / 0").unwrap_err();
        }
        let case = if failed {
            "a failed transaction"
        } else {
            "an open transaction"
        };
        let result = migrations.run(&mut client);
        assert!(
            matches!(result, Err(Error::TransactionOpen)),
            "{case}: run: {result:?}"
        );
        assert!(
            matches!(migrations.status(&mut client), Err(Error::TransactionOpen)),
            "{case}: status"
        );
        assert!(
            matches!(
                migrations.rollback(&mut client, 1),
                Err(Error::TransactionOpen)
            ),
            "{case}: rollback"
        );
        if !failed {
            assert_eq!(
                count(
                    &mut client,
                    "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'"
                ),
                1,
                "{case}: the caller's transaction is still open"
            );
        }
        client.batch_execute("ROLLBACK").unwrap();
        assert_handed_back(&mut client, "0", case);
        assert!(!exists(&mut client, "mine"), "{case}");
        assert!(!exists(&mut client, "users"), "{case}: nothing applied");
    }
}

// ---------------------------------------------------------------------------
// 9. The async API on tokio-postgres.

/// A tokio-postgres client to `url`, its connection driven by a task.
async fn connect_async(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            eprintln!("connection error: {error}");
        }
    });
    client
}

async fn exists_async(client: &tokio_postgres::Client, relation: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&relation])
        .await
        .unwrap()
        .get(0)
}

/// `run_async`, `status_async`, `rollback_async` and `history_async` on a
/// `tokio_postgres::Client`, directly and through [`Postgres`]; concurrent
/// runs, with both lock scopes, apply each migration once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_api_runs_on_tokio_postgres() {
    if !postgres::available() {
        return;
    }
    let folder = reversible_set();
    let migrations = Arc::new(folder.migrations());
    let db = TestDatabase::new();
    let mut client = connect_async(&db.url()).await;
    client
        .batch_execute("SET lock_timeout = '5s'")
        .await
        .unwrap();

    let status = migrations.status_async(&mut client).await.unwrap();
    assert_eq!(status.pending.len(), 2);
    let report = migrations.run_async(&mut client).await.unwrap();
    assert_eq!(
        report.applied.iter().map(|a| a.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let status = migrations.status_async(&mut client).await.unwrap();
    assert!(status.is_up_to_date(), "{status:?}");
    let rolled_back = migrations
        .runner()
        .rollback_async(&mut client, 1)
        .await
        .unwrap();
    assert_eq!(
        rolled_back
            .rolled_back
            .iter()
            .map(|r| r.version)
            .collect::<Vec<_>>(),
        [2]
    );
    assert!(!exists_async(&client, "posts").await);
    assert!(exists_async(&client, "users").await);
    let events: Vec<_> = migrations
        .runner()
        .history_async(&mut client)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.version))
        .collect();
    assert_eq!(
        events,
        [
            (EventKind::Applied, 1),
            (EventKind::Applied, 2),
            (EventKind::RolledBack, 2)
        ]
    );
    let row = client
        .query_one(
            "SELECT current_setting('lock_timeout'),
                    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, i64>(1)),
        ("5s".to_owned(), 0),
        "the async client is handed back"
    );

    // Runs racing to apply migration 2 again, concurrently on this task,
    // half of them with transaction-scoped locks (the two kinds exclude
    // each other too). Not spawned: the actions' futures are not `Send`
    // yet (the driver's `with_backend` takes a higher-ranked async closure,
    // which rustc cannot prove `Send` for every lifetime).
    let url = db.url();
    let race = async |scope: LockScope| {
        let mut client = connect_async(&url).await;
        let mut db = Postgres::new(&mut client).lock_scope(scope);
        migrations.run_async(&mut db).await
    };
    let (a, b, c, d) = tokio::join!(
        race(LockScope::Session),
        race(LockScope::Transaction),
        race(LockScope::Session),
        race(LockScope::Transaction),
    );
    let applied: Vec<u64> = [a, b, c, d]
        .into_iter()
        .flat_map(|report| report.expect("a racing run").applied)
        .map(|a| a.version)
        .collect();
    assert_eq!(applied, [2], "migration 2 applied once by the racing tasks");
    assert!(exists_async(&client, "posts").await);
    let logged: i64 = client
        .query_one(
            "SELECT count(*) FROM migrate_schema_history_events WHERE event = 'applied' AND version = 2",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        logged, 2,
        "applied twice in all: once before the rollback, once after"
    );

    // The settings wrapper on the async client.
    let report = migrations
        .run_async(&mut Postgres::new(&mut client).schema("app_meta"))
        .await;
    assert!(
        report.is_err(),
        "a second tracking table re-applies migration 1, which fails"
    );
    let status = migrations
        .status_async(&mut Postgres::new(&mut client).schema("app_meta"))
        .await
        .unwrap();
    assert_eq!(
        status.failed.iter().map(|f| f.version).collect::<Vec<_>>(),
        [1]
    );
}
