//! Several connections, in threads or in separate processes, running the same
//! set on one SQLite file at once, about SQLite itself: threads in WAL mode,
//! and processes in rollback-journal and WAL mode: every run succeeds and
//! every migration is applied exactly once — checked in the data, in the
//! tracking table and in the history. A run that cannot get the write lock
//! (`BEGIN IMMEDIATE`) gives up after its lock timeout with
//! [`Error::Locked`], having applied nothing; a run that starts during
//! another's no-transaction migration waits for its lock file. Threads
//! racing on any engine, in its default mode, are in the conformance suite
//! (`tests/conformance/concurrency.rs`).
//!
//! `MIGRATE_HEAVY=1` races many more rounds (see [`rounds`]).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Database, Folder, count, racing_set, rounds, rows};
use migrate::{DEFAULT_TABLE, Error, EventKind, Migrations};

#[test]
fn concurrent_runs_apply_each_migration_exactly_once_in_wal_mode() {
    const RUNNERS: usize = 8;
    for round in 0..rounds(5, 30) {
        let folder = racing_set(100_000);
        let migrations = Arc::new(folder.migrations());
        let db = Arc::new(Database::new());
        set_journal_mode(&db, "WAL");
        let start = Arc::new(Barrier::new(RUNNERS));

        let handles: Vec<_> = (0..RUNNERS)
            .map(|_| {
                let (migrations, db, start) = (migrations.clone(), db.clone(), start.clone());
                thread::spawn(move || {
                    let mut conn = db.open();
                    start.wait();
                    migrations.run(&mut conn)
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

        assert_each_applied_once(applied, &db, &migrations);
    }
}

fn set_journal_mode(db: &Database, journal_mode: &str) {
    let mode: String = db
        .open()
        .pragma_update_and_check(None, "journal_mode", journal_mode, |row| row.get(0))
        .expect("set the journal mode");
    assert!(mode.eq_ignore_ascii_case(journal_mode), "{mode}");
}

/// Checks that the racing set's four migrations were reported applied once
/// in all, and that the data, the tracking table and the history show that
/// each ran once.
fn assert_each_applied_once(mut reported: Vec<u64>, db: &Database, migrations: &Migrations) {
    reported.sort_unstable();
    assert_eq!(
        reported,
        [1, 2, 3, 4],
        "each migration reported applied once"
    );
    let mut conn = db.open();
    assert_eq!(
        count(&conn, "SELECT count(*) FROM applied_log"),
        4,
        "no migration ran twice"
    );
    assert_eq!(
        count(&conn, "SELECT count(DISTINCT version) FROM applied_log"),
        4
    );
    assert_eq!(count(&conn, "SELECT count(*) FROM numbers"), 100_000);
    assert_eq!(
        count(&conn, "SELECT min(n) FROM numbers"),
        2,
        "0004 ran once"
    );
    let states = common::tracking_states(&conn);
    assert_eq!(
        states,
        [1, 2, 3, 4].map(|v| (v, "applied".to_owned())),
        "one tracking row per version, all applied"
    );
    let history: Vec<(EventKind, u64)> = migrations
        .history(&mut conn)
        .expect("read the history")
        .into_iter()
        .map(|event| (event.kind, event.version))
        .collect();
    assert_eq!(
        history,
        [1, 2, 3, 4].map(|v| (EventKind::Applied, v)),
        "the history has one applied event per version and nothing else"
    );
}

/// Set by [`separate_processes_apply_each_migration_exactly_once`] for the
/// copies of this test binary it starts: the folder and database to race on.
const CHILD_FOLDER: &str = "MIGRATE_RACE_FOLDER";
const CHILD_DATABASE: &str = "MIGRATE_RACE_DATABASE";
/// A file the children wait for, so that they start their runs together;
/// each first creates `<start>.ready.<pid>` to say it is waiting.
const CHILD_START: &str = "MIGRATE_RACE_START";

#[test]
fn separate_processes_apply_each_migration_exactly_once() {
    const PROCESSES: usize = 8;
    for round in 0..rounds(3, 40) {
        // Rollback-journal and WAL mode take turns.
        let journal_mode = ["DELETE", "WAL"][round % 2];
        race_processes(PROCESSES, journal_mode, round);
    }
}

/// When one child's run started and finished (microseconds since the Unix
/// epoch), and what it applied.
struct ChildRun {
    started: u128,
    finished: u128,
    applied: Vec<u64>,
}

fn race_processes(processes: usize, journal_mode: &str, round: usize) {
    let folder = racing_set(100_000);
    let migrations = folder.migrations();
    let db = Database::new();
    set_journal_mode(&db, journal_mode);
    let start = db.path().with_extension("start");
    let exe = std::env::current_exe().expect("this test binary");

    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "race_in_a_child_process",
                    "--nocapture",
                ])
                .env(CHILD_FOLDER, folder.path())
                .env(CHILD_DATABASE, db.path())
                .env(CHILD_START, &start)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child process")
        })
        .collect();
    wait_until_ready(&start, processes);
    std::fs::write(&start, "go").expect("start signal");
    let mut runs = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "round {round} ({journal_mode}): a child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        runs.push(parse_child_run(&stdout));
    }

    // The race happened: at least two runs were inside `run` at once (else
    // this round tested nothing more than runs one after another).
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
    assert_each_applied_once(applied, &db, &migrations);
}

/// Waits until `count` children have said they are waiting for the start
/// signal, so that they start their runs together.
fn wait_until_ready(start: &Path, count: usize) {
    let dir = start.parent().expect("the database folder");
    let prefix = format!("{}.ready.", start.file_name().unwrap().to_string_lossy());
    let waiting = Instant::now();
    loop {
        let ready = std::fs::read_dir(dir)
            .expect("read the database folder")
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            })
            .count();
        if ready == count {
            return;
        }
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "only {ready} of {count} children started"
        );
        thread::sleep(Duration::from_millis(2));
    }
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

fn micros_since_epoch() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros()
}

/// Not a test of its own: the body of each process started by
/// [`separate_processes_apply_each_migration_exactly_once`] (ignored, so it
/// runs only when that test asks for it, with the environment it sets).
#[test]
#[ignore = "runs only as a child of separate_processes_apply_each_migration_exactly_once"]
fn race_in_a_child_process() {
    // Run directly (`--include-ignored`), not as a child: nothing to do.
    let Some(folder) = std::env::var_os(CHILD_FOLDER) else {
        return;
    };
    let database = std::env::var_os(CHILD_DATABASE).expect("MIGRATE_RACE_DATABASE");
    let start = PathBuf::from(std::env::var_os(CHILD_START).expect("MIGRATE_RACE_START"));
    let migrations = Migrations::from_folder(Path::new(&folder)).expect("valid folder");
    let mut conn = rusqlite::Connection::open(database).expect("open the database");
    let mut ready = start.clone().into_os_string();
    ready.push(format!(".ready.{}", std::process::id()));
    std::fs::write(ready, "").expect("say this child is ready");
    let waiting = Instant::now();
    while !start.exists() {
        assert!(waiting.elapsed().as_secs() < 60, "no start signal");
        thread::sleep(Duration::from_millis(1));
    }
    println!("started {}", micros_since_epoch());
    let report = migrations.run(&mut conn).expect("the run succeeds");
    println!("finished {}", micros_since_epoch());
    for applied in report.applied {
        println!("applied {}", applied.version);
    }
}

/// A run that cannot get the write lock, because another connection holds
/// it, waits for the lock timeout and then fails with [`Error::Locked`],
/// saying how long it waited; nothing is applied, the connection's own busy
/// timeout is restored, and once the lock is released a run applies
/// everything.
#[test]
fn a_held_write_lock_fails_the_run_with_locked_after_the_lock_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let folder = Folder::new(&[
        ("0001_notes.sql", "CREATE TABLE notes (body TEXT);"),
        ("0002_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ]);
    let migrations = folder.migrations();
    // A fresh file, and one with migration 1 applied (so the runner gets
    // past its tracking table and waits for the lock before migration 2).
    for (journal_mode, already_applied) in [("DELETE", 0), ("WAL", 1), ("DELETE", 1), ("WAL", 0)] {
        let case = format!("{journal_mode}, {already_applied} applied");
        let db = Database::new();
        set_journal_mode(&db, journal_mode);
        if already_applied > 0 {
            migrations.run_to(&mut db.open(), already_applied).unwrap();
        }
        let before = everything(&db.open());
        let holder = db.open();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut conn = db.open();
        // The connection's own busy timeout is much longer: the run must use
        // its lock timeout instead, and restore this one after.
        conn.busy_timeout(Duration::from_secs(10)).unwrap();

        let started = Instant::now();
        let result = migrations.runner().lock_timeout(TIMEOUT).run(&mut conn);
        let elapsed = started.elapsed();

        match &result {
            Err(error @ Error::Locked { waited, .. }) => {
                assert_eq!(*waited, TIMEOUT, "{case}");
                let message = error.to_string();
                assert!(
                    message.contains("locked") && message.contains("200 ms"),
                    "{case}: {message}"
                );
            }
            other => panic!("{case}: expected Error::Locked, got {other:?}"),
        }
        // Generous bounds: the point is that it waited for the lock timeout,
        // neither less nor the connection's 10 s.
        assert!(
            (TIMEOUT..Duration::from_secs(5)).contains(&elapsed),
            "{case}: gave up after {elapsed:?}, not after the lock timeout"
        );
        assert_eq!(
            count(&conn, "PRAGMA busy_timeout"),
            10_000,
            "{case}: the connection's busy timeout is restored"
        );
        holder.execute_batch("ROLLBACK").unwrap();
        assert_eq!(
            everything(&conn),
            before,
            "{case}: nothing applied or recorded"
        );

        let report = migrations.run(&mut conn).unwrap();
        assert_eq!(
            report.applied.len() as u64,
            2 - already_applied,
            "{case}: the next run applies the rest"
        );
    }
}

/// The schema and every row of the tracking table and the history, when
/// they exist: what a refused run must leave as it was.
fn everything(conn: &rusqlite::Connection) -> Vec<Vec<rusqlite::types::Value>> {
    let mut all = rows(
        conn,
        "SELECT type, name, sql FROM sqlite_schema ORDER BY name",
    );
    if count(
        conn,
        &format!("SELECT count(*) FROM sqlite_schema WHERE name = '{DEFAULT_TABLE}'"),
    ) > 0
    {
        all.extend(rows(
            conn,
            &format!("SELECT * FROM {DEFAULT_TABLE} ORDER BY version"),
        ));
        all.extend(rows(
            conn,
            &format!("SELECT * FROM {DEFAULT_TABLE}_events ORDER BY id"),
        ));
    }
    all
}

/// How another connection keeps the runner waiting in rollback-journal mode.
#[derive(Debug, Clone, Copy)]
enum Holder {
    /// `BEGIN EXCLUSIVE`: even reading the tracking table waits.
    Exclusive,
    /// A long read transaction: the runner gets its write lock but its
    /// commit waits for the reader to finish.
    Reader,
}

/// In rollback-journal mode, a run kept waiting past its lock timeout by an
/// exclusive lock (while it reads the tracking table) or by a reader (while
/// it commits) should fail as it does at `BEGIN IMMEDIATE`: with
/// [`Error::Locked`], saying how long it waited, and nothing applied.
#[test]
fn a_lock_held_past_the_timeout_is_locked_wherever_the_run_waits() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    let folder = Folder::new(&[
        ("0001_notes.sql", "CREATE TABLE notes (body TEXT);"),
        ("0002_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ]);
    let migrations = folder.migrations();
    let mut failures = Vec::new();
    for holder_kind in [Holder::Exclusive, Holder::Reader] {
        for already_applied in [0, 1] {
            let db = Database::new();
            set_journal_mode(&db, "DELETE");
            if already_applied > 0 {
                migrations.run_to(&mut db.open(), already_applied).unwrap();
            }
            let before = everything(&db.open());
            let holder = db.open();
            match holder_kind {
                Holder::Exclusive => holder.execute_batch("BEGIN EXCLUSIVE").unwrap(),
                Holder::Reader => {
                    holder.execute_batch("BEGIN").unwrap();
                    count(&holder, "SELECT count(*) FROM sqlite_schema");
                }
            }
            let mut conn = db.open();

            let result = migrations.runner().lock_timeout(TIMEOUT).run(&mut conn);

            holder.execute_batch("ROLLBACK").unwrap();
            assert_eq!(everything(&conn), before, "nothing applied");
            if !matches!(result, Err(Error::Locked { waited, .. }) if waited == TIMEOUT) {
                failures.push(format!(
                    "{holder_kind:?}, {already_applied} applied: {:?}",
                    result.map_err(|e| e.to_string())
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "expected Error::Locked:\n{}",
        failures.join("\n")
    );
}

/// A run that starts while another is applying a no-transaction migration
/// (marked dirty while it runs) should wait for it, as it waits for a
/// migration's transaction, and succeed — as when two instances of an
/// application start a few seconds apart during a deploy.
#[test]
fn a_run_started_during_another_runs_no_transaction_migration_succeeds() {
    let folder = Folder::new(&[
        (
            "0001_numbers.sql",
            "CREATE TABLE numbers (n INTEGER);
             WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
             INSERT INTO numbers SELECT n FROM seq;",
        ),
        (
            "0002_index.sql",
            "-- migrate:no-transaction
             CREATE INDEX IF NOT EXISTS numbers_by_n ON numbers (n);
             VACUUM;",
        ),
        ("0003_tags.sql", "CREATE TABLE tags (name TEXT);"),
    ]);
    let migrations = Arc::new(folder.migrations());
    let db = Arc::new(Database::new());
    migrations.run_to(&mut db.open(), 1).unwrap();
    let first = {
        let (migrations, db) = (migrations.clone(), db.clone());
        thread::spawn(move || migrations.run(&mut db.open()))
    };
    // Wait until the first run has marked migration 2 dirty and is running
    // it, then start a second run.
    let mut watcher = db.open();
    let waiting = Instant::now();
    while migrations.status(&mut watcher).unwrap().dirty.is_empty() {
        assert!(!first.is_finished(), "the first run finished unseen");
        assert!(waiting.elapsed() < Duration::from_secs(30));
        thread::sleep(Duration::from_millis(1));
    }

    let second = migrations.run(&mut db.open());

    first.join().unwrap().expect("the first run succeeds");
    let second = second.map_err(|e| e.to_string());
    assert!(second.is_ok(), "the second run: {second:?}");
}
