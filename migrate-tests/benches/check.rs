//! What the build-time check (`migrate::sqlite::verify`, which
//! `embed_migrations!` runs) costs: 1000 and 10,000 migrations, half of them
//! plain (a table and two rows) and half reversible (a table with a foreign
//! key and an index, and a down), so every other migration's down is
//! checked and its up applied again; and 200 migrations of which 40 downs
//! do not restore the schema, where verification goes on after each problem
//! from a copy of the database instead of from the first migration.
//!
//! `cargo bench -p migrate-tests --bench check`
//!
//! The macro runs in a build of the proc macro, which cargo compiles, with
//! its dependencies (SQLite among them), with the profile's
//! `build-override` settings: opt-level 0 unless the application raises it.
//! To measure that, run the same bench with `--profile dev`. 10,000 takes a
//! while: `cargo bench -p migrate-tests --bench check -- check/good/1000`
//! runs one case.

use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use migrate::Migrations;

/// Writes `count` migrations into `folder`; `bad_in_five` of every five
/// reversible migrations have a down that leaves a table behind.
fn write_set(folder: &Path, count: u64, bad_in_five: u64) {
    std::fs::create_dir_all(folder).expect("migrations folder");
    for version in 1..=count {
        let write = |name: String, sql: String| {
            std::fs::write(folder.join(name), sql).expect("migration file");
        };
        if version % 2 == 0 {
            let parent = version - 1;
            write(
                format!("{version:05}_table_{version}.up.sql"),
                format!(
                    "CREATE TABLE t{version} (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    parent INTEGER REFERENCES t{parent} (id)\n);\nCREATE INDEX t{version}_name ON t{version} (name);\n"
                ),
            );
            let bad = (version / 2) % 5 < bad_in_five;
            let down = if bad {
                format!("DROP TABLE t{version};\nCREATE TABLE t{version}_left (x);\n")
            } else {
                format!("DROP INDEX t{version}_name;\nDROP TABLE t{version};\n")
            };
            write(format!("{version:05}_table_{version}.down.sql"), down);
        } else {
            write(
                format!("{version:05}_table_{version}.sql"),
                format!(
                    "CREATE TABLE t{version} (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO t{version} (name) VALUES ('a'), ('b');\n"
                ),
            );
        }
    }
}

fn check(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for count in [1000, 10_000] {
        let folder = dir.path().join(format!("good{count}"));
        write_set(&folder, count, 0);
        let migrations = Migrations::from_folder(&folder).expect("valid folder");
        group.bench_with_input(BenchmarkId::new("good", count), &count, |b, _| {
            b.iter(|| migrate::sqlite::verify(&migrations).expect("a valid set"))
        });
    }
    let folder = dir.path().join("bad200");
    // 100 reversible migrations, 40 of them with a bad down.
    write_set(&folder, 200, 2);
    let migrations = Migrations::from_folder(&folder).expect("valid folder");
    let problems = migrate::sqlite::verify(&migrations)
        .expect_err("bad downs")
        .problems()
        .len();
    assert_eq!(problems, 40);
    group.bench_function(BenchmarkId::new("bad_downs", 200), |b| {
        b.iter(|| migrate::sqlite::verify(&migrations).expect_err("bad downs"))
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
