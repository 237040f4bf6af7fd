//! The floor, refinery and rusqlite_migration on the generated folders: see
//! `../README.md`. Each library through its documented API, on its own
//! database; rusqlite_migration applies a set in one transaction only
//! (`to_latest`), so it has no "each" rows.

#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/harness.rs"]
mod harness;

use harness::{Args, Case, Journal, timed};
use rusqlite::Connection;

/// The set as refinery's runner takes it (`V<version>__<name>`).
fn refinery_set(generated: &[harness::Generated]) -> Vec<refinery::Migration> {
    generated
        .iter()
        .map(|m| {
            refinery::Migration::unapplied(&format!("V{}__{}", m.version, m.name), &m.sql)
                .expect("refinery migration")
        })
        .collect()
}

/// The set as rusqlite_migration takes it.
fn rusqlite_migration_set(generated: &[harness::Generated]) -> rusqlite_migration::Migrations<'_> {
    rusqlite_migration::Migrations::new(
        generated
            .iter()
            .map(|m| rusqlite_migration::M::up(&m.sql))
            .collect(),
    )
}

fn main() {
    let args = Args::parse();
    let sizes: Vec<u32> = harness::MEMORY_SIZES
        .iter()
        .chain([harness::FILE_SIZE].iter())
        .copied()
        .collect();
    let sets: Vec<(u32, Vec<harness::Generated>)> =
        sizes.iter().map(|&n| (n, harness::migrations(n))).collect();
    let set = |count: u32| &sets.iter().find(|s| s.0 == count).expect("generated set").1;

    // The up-to-date check: each library's own database, 1000 applied.
    let check = set(harness::CHECK_SIZE);
    let (_keep_floor, floor_db) = harness::fresh_file();
    floor!(&mut Connection::open(&floor_db).unwrap(), check, true);
    let (_keep_refinery, refinery_db) = harness::fresh_file();
    let refinery_check = refinery::Runner::new(&refinery_set(check));
    refinery_check
        .run(&mut Connection::open(&refinery_db).unwrap())
        .unwrap();
    let (_keep_rm, rm_db) = harness::fresh_file();
    let rm_check = rusqlite_migration_set(check);
    rm_check
        .to_latest(&mut Connection::open(&rm_db).unwrap())
        .unwrap();

    let mut cases: Vec<Case<'_>> = Vec::new();
    for &count in &harness::MEMORY_SIZES {
        let generated = set(count);
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
            let runner = refinery::Runner::new(&refinery_set(generated)).set_grouped(grouped);
            cases.push(Case {
                scenario: scenario.clone(),
                library: "refinery",
                run: Box::new(move || {
                    timed(
                        1,
                        || Connection::open_in_memory().unwrap(),
                        |conn| {
                            let report = runner.run(conn).unwrap();
                            assert_eq!(report.applied_migrations().len(), generated.len());
                        },
                    )
                }),
            });
            if grouped {
                let migrations = rusqlite_migration_set(generated);
                cases.push(Case {
                    scenario,
                    library: "rusqlite_migration",
                    run: Box::new(move || {
                        timed(
                            1,
                            || Connection::open_in_memory().unwrap(),
                            |conn| {
                                migrations.to_latest(conn).unwrap();
                            },
                        )
                    }),
                });
            }
        }
    }

    let file_set = set(harness::FILE_SIZE);
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
            run: Box::new(move || timed(1, open, |(_, conn)| floor!(conn, file_set, false))),
        });
        let runner = refinery::Runner::new(&refinery_set(file_set));
        cases.push(Case {
            scenario,
            library: "refinery",
            run: Box::new(move || {
                timed(1, open, |(_, conn)| {
                    runner.run(conn).unwrap();
                })
            }),
        });
    }

    let scenario = format!("check {} file", harness::CHECK_SIZE);
    if args.wants(&scenario) {
        let (floor_db, refinery_db, rm_db) = (&floor_db, &refinery_db, &rm_db);
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
        let refinery_check = &refinery_check;
        cases.push(Case {
            scenario: scenario.clone(),
            library: "refinery",
            run: Box::new(move || {
                timed(
                    harness::CHECK_REPEAT / 10,
                    || Connection::open(refinery_db).unwrap(),
                    |conn| {
                        assert!(
                            refinery_check
                                .run(conn)
                                .unwrap()
                                .applied_migrations()
                                .is_empty()
                        );
                    },
                )
            }),
        });
        let rm_check = &rm_check;
        cases.push(Case {
            scenario,
            library: "rusqlite_migration",
            run: Box::new(move || {
                timed(
                    harness::CHECK_REPEAT,
                    || Connection::open(rm_db).unwrap(),
                    |conn| {
                        rm_check.to_latest(conn).unwrap();
                    },
                )
            }),
        });
    }
    harness::run_rounds(cases, &args);
}
