//! Several connections, each in a thread of its own, running the same set
//! on one database at once: every run succeeds and every migration is
//! applied exactly once — checked in the data, in the tracking state and in
//! the history.
//!
//! `MIGRATE_HEAVY=1` races many more rounds (see [`rounds`]).

use std::sync::Barrier;
use std::thread;

use migrate::{EventKind, Migrations};

use super::Harness;
use super::race::{racing_set, rounds};
use super::support::{states, versions};

/// Runs started together, each on its own connection.
const RUNNERS: usize = 4;

pub fn concurrent_runs_apply_each_migration_exactly_once<H: Harness>() -> migrate::Result<()> {
    for round in 0..rounds(3, 30) {
        let folder = racing_set(10_000);
        let migrations = folder.migrations();
        let db = H::new_database();
        let connections: Vec<H::Conn> = (0..RUNNERS).map(|_| db.connect()).collect();
        let start = Barrier::new(RUNNERS);

        let reports: Vec<_> = thread::scope(|scope| {
            let runs: Vec<_> = connections
                .into_iter()
                .map(|mut conn| {
                    let (migrations, start) = (&migrations, &start);
                    scope.spawn(move || {
                        start.wait();
                        migrations.run(&mut conn)
                    })
                })
                .collect();
            runs.into_iter()
                .map(|run| run.join().expect("runner thread"))
                .collect()
        });
        let mut applied = Vec::new();
        for report in reports {
            let report = report.unwrap_or_else(|e| panic!("round {round}: a run failed: {e}"));
            applied.extend(versions(&report.applied));
        }

        assert_each_applied_once(applied, &db, &migrations);
    }
    Ok(())
}

/// Checks that the racing set's four migrations were reported applied once
/// in all, and that the data, the tracking state and the history show that
/// each ran once.
fn assert_each_applied_once<H: Harness>(mut reported: Vec<u64>, db: &H, migrations: &Migrations) {
    reported.sort_unstable();
    assert_eq!(
        reported,
        [1, 2, 3, 4],
        "each migration reported applied once"
    );
    let mut conn = db.connect();
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM applied_log"),
        4,
        "no migration ran twice"
    );
    assert_eq!(
        H::count(&mut conn, "SELECT count(DISTINCT version) FROM applied_log"),
        4
    );
    assert_eq!(H::count(&mut conn, "SELECT count(*) FROM numbers"), 10_000);
    // Run once, 0004 turns 1..=10000 into 2..=10001: one row is at most 2.
    // Not run, two would be (1 and 2); run twice, none.
    assert_eq!(
        H::count(&mut conn, "SELECT count(*) FROM numbers WHERE n <= 2"),
        1,
        "0004 ran once"
    );
    assert_eq!(
        states::<H>(migrations, &mut conn),
        [1, 2, 3, 4].map(|v| (v, "applied")),
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
