//! Several connections, in threads or in processes, running the same set on
//! one database file at once: every run succeeds and every migration is
//! applied exactly once (checked in the data, not only the tracking table).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;

use common::{Database, Folder, count};
use migrate::DEFAULT_TABLE;

/// Every migration appends a row to `applied_log`, which has no uniqueness
/// constraint: a migration applied twice leaves two rows. The second one is
/// a slow data migration (100k rows) that keeps the write lock for a while.
fn racing_set() -> Folder {
    Folder::new(&[
        (
            "0001_log.sql",
            "CREATE TABLE applied_log (version INTEGER);\nINSERT INTO applied_log VALUES (1);",
        ),
        (
            "0002_slow_backfill.sql",
            "CREATE TABLE numbers (n INTEGER);
             WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
             INSERT INTO numbers SELECT n FROM seq;
             INSERT INTO applied_log VALUES (2);",
        ),
        ("0003_more.sql", "INSERT INTO applied_log VALUES (3);"),
        (
            "0004_more.sql",
            "UPDATE numbers SET n = n + 1;\nINSERT INTO applied_log VALUES (4);",
        ),
    ])
}

#[test]
fn concurrent_runs_apply_each_migration_exactly_once_in_rollback_journal_mode() {
    race("DELETE");
}

#[test]
fn concurrent_runs_apply_each_migration_exactly_once_in_wal_mode() {
    race("WAL");
}

fn race(journal_mode: &str) {
    const RUNNERS: usize = 8;
    for _round in 0..5 {
        let folder = racing_set();
        let migrations = Arc::new(folder.migrations());
        let db = Arc::new(Database::new());
        db.open()
            .pragma_update(None, "journal_mode", journal_mode)
            .unwrap();
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
                .expect("every run succeeds");
            applied.extend(report.applied.iter().map(|a| a.version));
        }

        assert_each_applied_once(applied, &db);
    }
}

/// Checks that the racing set's four migrations were reported applied once
/// in all, and that the data shows each ran once.
fn assert_each_applied_once(mut reported: Vec<u64>, db: &Database) {
    reported.sort_unstable();
    assert_eq!(
        reported,
        [1, 2, 3, 4],
        "each migration reported applied once"
    );
    let conn = db.open();
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
    let tracked = format!("SELECT count(*) FROM {DEFAULT_TABLE} WHERE state = 'applied'");
    assert_eq!(count(&conn, &tracked), 4);
}

/// Set by [`separate_processes_apply_each_migration_exactly_once`] for the
/// copies of this test binary it starts: the folder and database to race on.
const CHILD_FOLDER: &str = "MIGRATE_RACE_FOLDER";
const CHILD_DATABASE: &str = "MIGRATE_RACE_DATABASE";
/// A file the children wait for, so that they start their runs together.
const CHILD_START: &str = "MIGRATE_RACE_START";

#[test]
fn separate_processes_apply_each_migration_exactly_once() {
    const PROCESSES: usize = 4;
    for _round in 0..3 {
        race_processes(PROCESSES);
    }
}

fn race_processes(processes: usize) {
    let folder = racing_set();
    let db = Database::new();
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
    std::fs::write(&start, "go").expect("start signal");
    let mut applied = Vec::new();
    for child in children {
        let output = child.wait_with_output().expect("child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "a child run failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        applied.extend(
            stdout
                .lines()
                .filter_map(|line| line.strip_prefix("applied "))
                .map(|v| v.parse::<u64>().expect("a version")),
        );
    }

    assert_each_applied_once(applied, &db);
}

/// Not a test of its own: the body of each process started by
/// [`separate_processes_apply_each_migration_exactly_once`] (ignored, so it
/// runs only when that test asks for it, with the environment it sets).
#[test]
#[ignore = "runs only as a child of separate_processes_apply_each_migration_exactly_once"]
fn race_in_a_child_process() {
    let folder = std::env::var_os(CHILD_FOLDER).expect("MIGRATE_RACE_FOLDER");
    let database = std::env::var_os(CHILD_DATABASE).expect("MIGRATE_RACE_DATABASE");
    let migrations = migrate::Migrations::from_folder(Path::new(&folder)).expect("valid folder");
    let start = std::env::var_os(CHILD_START).expect("MIGRATE_RACE_START");
    let mut conn = rusqlite::Connection::open(database).expect("open the database");
    let waiting = std::time::Instant::now();
    while !Path::new(&start).exists() {
        assert!(waiting.elapsed().as_secs() < 30, "no start signal");
        thread::sleep(std::time::Duration::from_millis(1));
    }
    let report = migrations.run(&mut conn).expect("the run succeeds");
    for applied in report.applied {
        println!("applied {}", applied.version);
    }
}
