//! The floor and `migrate` on the generated folders: see `../README.md`.

#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/harness.rs"]
mod harness;

use harness::{Args, Case, Journal, timed};
use migrate::Migrations;
use migrate::rusqlite::Connection;

fn main() {
    let args = Args::parse();
    let folders = tempfile::tempdir().expect("temporary folder");
    let sets: Vec<(u32, Migrations, Vec<harness::Generated>)> = harness::MEMORY_SIZES
        .iter()
        .chain([harness::FILE_SIZE].iter())
        .map(|&count| {
            let generated = harness::migrations(count);
            let dir = folders.path().join(count.to_string());
            harness::write_folder(&dir, &generated, false);
            (
                count,
                Migrations::from_folder(&dir).expect("valid folder"),
                generated,
            )
        })
        .collect();
    let set = |count: u32| sets.iter().find(|s| s.0 == count).expect("generated set");
    // The up-to-date check and status, on a file with 1000 applied.
    let (_, check_set, check_generated) = set(harness::CHECK_SIZE);
    let (_keep_floor, floor_db) = harness::fresh_file();
    {
        let mut conn = Connection::open(&floor_db).unwrap();
        floor!(&mut conn, check_generated, true);
    }
    let (_keep_migrate, migrate_db) = harness::fresh_file();
    check_set
        .run(&mut Connection::open(&migrate_db).unwrap())
        .unwrap();
    let mut cases: Vec<Case<'_>> = Vec::new();

    for &count in &harness::MEMORY_SIZES {
        let (_, migrations, generated) = set(count);
        for grouped in [false, true] {
            let scenario = format!(
                "apply {count} memory {}",
                if grouped { "grouped" } else { "each" }
            );
            if !args.wants(&scenario) {
                continue;
            }
            cases.push(Case {
                scenario: scenario.clone(),
                library: "floor",
                run: Box::new(move || {
                    timed(
                        1,
                        || Connection::open_in_memory().unwrap(),
                        |conn| floor!(conn, generated, grouped),
                    )
                }),
            });
            cases.push(Case {
                scenario,
                library: "migrate",
                run: Box::new(move || {
                    timed(
                        1,
                        || Connection::open_in_memory().unwrap(),
                        |conn| {
                            let report = migrations.runner().grouped(grouped).run(conn).unwrap();
                            assert_eq!(report.applied.len(), generated.len());
                        },
                    )
                }),
            });
        }
    }

    let (_, file_set, file_generated) = set(harness::FILE_SIZE);
    for journal in [Journal::Rollback, Journal::Wal] {
        let scenario = format!("apply {} file each {journal:?}", harness::FILE_SIZE);
        if !args.wants(&scenario) {
            continue;
        }
        let open = move || {
            let (dir, path) = harness::fresh_file();
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", journal.pragma())
                .unwrap();
            (dir, conn)
        };
        cases.push(Case {
            scenario: scenario.clone(),
            library: "floor",
            run: Box::new(move || timed(1, open, |(_, conn)| floor!(conn, file_generated, false))),
        });
        cases.push(Case {
            scenario,
            library: "migrate",
            run: Box::new(move || {
                timed(1, open, |(_, conn)| {
                    file_set.run(conn).unwrap();
                })
            }),
        });
    }

    let scenario = format!("check {} file", harness::CHECK_SIZE);
    if args.wants(&scenario) {
        let floor_db = &floor_db;
        let migrate_db = &migrate_db;
        cases.push(Case {
            scenario: scenario.clone(),
            library: "floor",
            run: Box::new(move || {
                timed(
                    harness::CHECK_REPEAT,
                    || Connection::open(floor_db).unwrap(),
                    |conn| {
                        let max: Option<i64> = conn
                            .prepare_cached("SELECT MAX(version) FROM floor_history")
                            .unwrap()
                            .query_row([], |row| row.get(0))
                            .unwrap();
                        assert_eq!(max, Some(i64::from(harness::CHECK_SIZE)));
                    },
                )
            }),
        });
        cases.push(Case {
            scenario,
            library: "migrate",
            run: Box::new(move || {
                timed(
                    harness::CHECK_REPEAT,
                    || Connection::open(migrate_db).unwrap(),
                    |conn| {
                        assert!(check_set.run(conn).unwrap().applied.is_empty());
                    },
                )
            }),
        });
    }
    let scenario = format!("status {} file", harness::CHECK_SIZE);
    if args.wants(&scenario) {
        let migrate_db = &migrate_db;
        cases.push(Case {
            scenario,
            library: "migrate",
            run: Box::new(move || {
                timed(
                    20,
                    || Connection::open(migrate_db).unwrap(),
                    |conn| {
                        let status = check_set.status(conn).unwrap();
                        assert_eq!(status.applied.len(), harness::CHECK_SIZE as usize);
                    },
                )
            }),
        });
    }
    harness::run_rounds(cases, &args);
}
